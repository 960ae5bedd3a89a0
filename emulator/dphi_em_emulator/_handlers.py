"""The request handlers: one function per endpoint of the wire contract."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from stat import S_ISREG
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send

from . import _images
from ._auth import TokenError
from ._config import NODE_NAMES
from ._dockerfile import ConfinedPathError, open_fd_confined
from ._emulator import Emulator
from ._engine import BuildRequest, LoadRequest, PodRun
from ._errors import (
    BUILD_FAILED,
    DELETE_FAILED,
    FILE_NOT_FOUND,
    ILLEGAL_PATH,
    IMAGE_LOAD_FAILED,
    INVALID_PATH,
    NAMESPACE_CREATION_FAILED,
    NAMESPACE_NOT_FOUND,
    POD_NOT_FOUND,
    EMError,
    bad_parameter,
    detail_response,
)
from ._forms import Fields, NotAnObjectError, read_fields
from ._middleware import USER_KEY
from ._pods import parse_run
from ._revisions import run_fields, run_volume, volume_of
from ._storage import pod_name_or_none, remove_tree, resolve, tree
from ._uplink import commit, receive_uplink
from ._volumes_api import pod_volumes


def _emulator(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


def _user(request: Request) -> str:
    user: str = request.scope[USER_KEY]
    return user


def _ok(message: str, data: Any = None, *, with_data: bool = False) -> JSONResponse:
    body: dict[str, Any] = {"message": message}
    if data is not None or with_data:
        body["data"] = data
    return JSONResponse(body)


def _volume(request: Request, pod_name: object, pvc_name: object) -> Path:
    """The volume a file or image request names (`pod_name`, `pvc_name`: see _revisions)."""
    emulator = _emulator(request)
    name = volume_of(emulator.config.api, pod_name, pvc_name)
    return emulator.data.volume(_user(request), name)


def _text(fields: Fields, name: str) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_parameter(f"{name} must be a string, not {value!r}.")
    return value


# ------------------------------------------------------------------------------------ auth


async def _auth_fields(request: Request) -> Fields | Response:
    try:
        return await read_fields(request)
    except NotAnObjectError as exc:  # a serializer's error, as DRF words it
        return JSONResponse({"non_field_errors": [exc.message]}, status_code=400)
    except EMError as exc:
        return detail_response(exc.status_code, exc.message)


def _required_strings(fields: Fields, *names: str) -> dict[str, str] | Response:
    values: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    for name in names:
        value = fields.get(name)
        if value is None:
            problems[name] = ["This field is required."]
        elif isinstance(value, (dict, list)):
            problems[name] = ["Not a valid string."]
        else:
            values[name] = str(value)
    if problems:
        return JSONResponse(problems, status_code=400)
    return values


async def login(request: Request) -> Response:
    """`POST /auth/`: user name and password (form or JSON) -> access and refresh tokens."""
    fields = await _auth_fields(request)
    if isinstance(fields, Response):
        return fields
    values = _required_strings(fields, "username", "password")
    if isinstance(values, Response):
        return values
    auth = _emulator(request).auth
    if not auth.check_password(values["username"], values["password"]):
        return detail_response(401, "No active account found with the given credentials")
    user = values["username"]
    return JSONResponse(
        {"refresh": auth.issue(user, "refresh"), "access": auth.issue(user, "access")}
    )


async def refresh(request: Request) -> Response:
    """`POST /auth/refresh`: a refresh token -> a new access token."""
    fields = await _auth_fields(request)
    if isinstance(fields, Response):
        return fields
    values = _required_strings(fields, "refresh")
    if isinstance(values, Response):
        return values
    auth = _emulator(request).auth
    try:
        user = auth.verify(values["refresh"], "refresh")
    except TokenError:
        return detail_response(401, "Token is invalid or expired", code="token_not_valid")
    return JSONResponse({"access": auth.issue(user, "access")})


# ----------------------------------------------------------------------------------- files


async def uplink(request: Request) -> Response:
    """`POST /em/files/uplink`: multipart `files`, `dest_path`, `pod_name`."""
    emulator = _emulator(request)
    staging = emulator.data.new_staging_dir()
    try:
        body = await receive_uplink(
            request.headers.get("content-type", ""),
            request.stream(),
            staging,
            emulator.config.max_uplink_bytes,
        )
        volume = _volume(request, body.fields.get("pod_name"), body.fields.get("pvc_name"))
        await run_in_threadpool(commit, volume, body.fields.get("dest_path") or "", body.files)
    finally:
        await run_in_threadpool(shutil.rmtree, staging, True)
    return _ok(
        "Successfully uplinked files",
        {"file_count": len(body.files), "total_size_kb": round(body.total / 1024, 2)},
    )


async def files_list(request: Request) -> Response:
    """`GET /em/files/list` (query `pod_name`) or `POST` (form `pvc_name`): the file tree."""
    if request.method == "POST":
        fields = await read_fields(request)
        volume = _volume(request, fields.get("pod_name"), fields.get("pvc_name"))
    else:
        query = request.query_params
        volume = _volume(request, query.get("pod_name"), query.get("pvc_name"))
    nodes, _ = await run_in_threadpool(tree, volume)
    return _ok("Successfully fetched files", nodes, with_data=True)


def _content_disposition(name: str) -> str:
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in name)
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=utf-8''{quote(name, safe='')}"


#: Bytes of a downlink body read (and sent) at a time. 512 KiB cost no less CPU per GiB in
#: alternating runs; smaller reads cost more (Python's work per chunk).
_READ_SIZE = 1024 * 1024


class _OpenFile:
    """What Starlette's `FileResponse` reads a body from: `pread` of the open file at the
    current offset, on the event loop (a page-cached file answers in well under a
    millisecond a chunk)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._offset = 0

    async def seek(self, offset: int) -> None:
        self._offset = offset

    async def read(self, size: int) -> bytes:
        data = os.pread(self._fd, size, self._offset)
        self._offset += len(data)
        return data


async def downlink(request: Request) -> Response:
    """`GET /em/files/downlink`: the bytes of `filepath`, streamed, with `Range` support."""
    query = request.query_params
    volume = _volume(request, query.get("pod_name"), query.get("pvc_name"))
    filepath = query.get("filepath") or ""
    if not filepath:
        raise EMError(400, INVALID_PATH, "filepath is required.")
    path = resolve(volume, filepath)
    if path == volume or path.is_dir():
        raise EMError(400, INVALID_PATH, f"{filepath!r} is a folder, not a file.")
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise EMError(404, FILE_NOT_FOUND, f"File {filepath!r} not found.") from None
    if not S_ISREG(stat.st_mode):  # e.g. a FIFO a pod made: opening it would block for ever
        raise EMError(400, INVALID_PATH, f"{filepath!r} is not a regular file.")
    # Pods change volumes while requests run: the file is opened first, then checked to be
    # inside the volume (a folder swapped for a symlink meanwhile can't lead out), and what
    # is streamed is that open file.
    try:
        fd = await run_in_threadpool(open_fd_confined, path, volume, True)
    except ConfinedPathError:
        raise EMError(
            403, ILLEGAL_PATH, f"Illegal path {filepath!r}: outside the volume."
        ) from None
    except OSError:
        raise EMError(404, FILE_NOT_FOUND, f"File {filepath!r} not found.") from None
    return _OpenFileResponse(
        fd,
        stat_result=os.fstat(fd),
        media_type="application/octet-stream",
        headers={"content-disposition": _content_disposition(path.name)},
    )


class _OpenFileResponse(FileResponse):
    """A `FileResponse` of a file already open (read through `/dev/fd/N`), closed after.

    Starlette answers `Range` and `If-Range` and writes the head; the body is read from the
    open file on the event loop (`_OpenFile`), as the uplink writes its parts on the loop.
    Starlette's own reader hops to a worker thread for every chunk: that hop cost more CPU
    than the read itself (0.2-0.35 CPU s per GiB served, against 0.15 for the reads), and
    the emulator's CPU is half of what a downlink through it costs on a small machine. With
    a Starlette that reads otherwise (no `_open_file`), its own reader serves the same
    bytes.
    """

    chunk_size = _READ_SIZE

    def __init__(self, fd: int, **kwargs: Any) -> None:
        super().__init__(f"/dev/fd/{fd}", **kwargs)
        self._fd = fd

    @contextlib.asynccontextmanager
    async def _open_file(self) -> AsyncIterator[_OpenFile]:  # type: ignore[override]
        yield _OpenFile(self._fd)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            os.close(self._fd)


def _delete(volume: Path, filepath: str) -> None:
    path = resolve(volume, filepath)
    if path == volume:
        raise EMError(400, DELETE_FAILED, "The volume's root folder can't be deleted.")
    if not os.path.lexists(path):
        raise EMError(400, DELETE_FAILED, f"File {filepath!r} not found.")
    try:
        if path.is_dir() and not path.is_symlink():
            remove_tree(path)  # not shutil.rmtree: it recurses once per level
        else:
            path.unlink()
    except OSError as exc:
        raise EMError(400, DELETE_FAILED, f"Could not delete {filepath!r}: {exc}") from exc


async def delete(request: Request) -> Response:
    """`POST /em/files/delete`: `filepath` (file or folder), `pod_name`."""
    fields = await read_fields(request)
    volume = _volume(request, fields.get("pod_name"), fields.get("pvc_name"))
    filepath = _text(fields, "filepath")
    if filepath is None:
        raise EMError(400, DELETE_FAILED, "filepath is required.")
    await run_in_threadpool(_delete, volume, filepath)
    return _ok("File deleted successfully")


# ---------------------------------------------------------------------------------- images


def _required(fields: Fields, name: str, code: str) -> str:
    value = _text(fields, name)
    if value is None:
        raise EMError(400, code, f"{name} is required.", [f"ERROR: {name} is required\n"])
    return value


async def image_build(request: Request) -> Response:
    """`POST /em/pod/image/build`: `dockerfile`, `context`, `image`, `pod_name`."""
    fields = await read_fields(request)
    volume = _volume(request, fields.get("pod_name"), fields.get("pvc_name"))
    user = _user(request)
    image = _required(fields, "image", BUILD_FAILED)
    dockerfile = _required(fields, "dockerfile", BUILD_FAILED)
    context = _text(fields, "context") or "."
    name = f"{user}-{image}"
    _images.check_image_name(image, name)
    dockerfile_path, context_path = resolve(volume, dockerfile), resolve(volume, context)
    build = BuildRequest(user, name, volume, dockerfile_path, dockerfile, context_path, context)
    work = asyncio.ensure_future(run_in_threadpool(_emulator(request).engine.build, build))
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not work.done():
            build.cancel.set()  # the client gave up: the build stops, its slot is freed
        gone.cancel()
    await work
    return _ok("Docker Image built successfully")


async def _disconnected(request: Request) -> None:
    """Return when the client goes away (its body is read: only a disconnect can come)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def image_load(request: Request) -> Response:
    """`POST /em/pod/image/load`: `tarfile`, `image`, `pod_name`."""
    fields = await read_fields(request)
    volume = _volume(request, fields.get("pod_name"), fields.get("pvc_name"))
    user = _user(request)
    tarfile = _required(fields, "tarfile", IMAGE_LOAD_FAILED)
    image = _required(fields, "image", IMAGE_LOAD_FAILED)
    load = LoadRequest(user, image, f"{user}-{image}", volume, resolve(volume, tarfile), tarfile)
    await run_in_threadpool(_emulator(request).engine.load, load)
    return _ok("Tar file loaded successfully")


async def image_list(request: Request) -> Response:
    """`GET` (or January 2026 `POST`) `/em/pod/image/list`: the user's own image names."""
    names = await run_in_threadpool(_emulator(request).engine.image_names, _user(request))
    return _ok("Successfully fetched images", names, with_data=True)


# ------------------------------------------------------------------------------------ pods


async def namespace_create(request: Request) -> Response:
    """`POST /em/pod/namespace/create`: the user's private namespace (once)."""
    emulator, user = _emulator(request), _user(request)
    if emulator.namespaces.get(user) is not None:
        raise EMError(400, NAMESPACE_CREATION_FAILED, f'namespaces "{user}" already exists')
    emulator.namespaces.update(user, {"name": user, "created": time.time()})
    return _ok("Namespace created successfully")


async def run(request: Request) -> Response:
    """`POST /em/pod/run`: validate, record the pod, answer "scheduled"."""
    emulator, user = _emulator(request), _user(request)
    fields = run_fields(emulator.config.api, await read_fields(request))
    pod_name = pod_name_or_none(fields.get("pod_name"))
    volume_name = run_volume(emulator.config.api, pod_name, fields.get("pvc_name"))
    spec = parse_run(fields)
    if spec.namespace and emulator.namespaces.get(user) is None:
        raise EMError(
            400,
            NAMESPACE_NOT_FOUND,
            f'namespace=true, but namespaces "{user}" not found: '
            "create it first (POST /em/pod/namespace/create).",
        )
    volume = emulator.data.volume(user, volume_name)
    # On a full disk the pod is still scheduled (it waits, CreateContainerError, until space
    # is freed): neither the folder nor the record may fail the call.
    with contextlib.suppress(OSError):
        volume.mkdir(parents=True, exist_ok=True)
    await run_in_threadpool(emulator.engine.run, PodRun(user, pod_name, volume, spec))
    with contextlib.suppress(OSError):  # kept in memory, written with the next change
        pod_volumes(request).record(user, pod_name, volume_name)
    return _ok("Docker run scheduled successfully")


async def pod_status(request: Request) -> Response:
    """`GET` (or January 2026 `POST`) `/em/pod/status`: the container state of a pod."""
    user = _user(request)
    pod_name = pod_name_or_none(request.query_params.get("pod_name"))
    data = await run_in_threadpool(_emulator(request).engine.status, user, pod_name)
    if data is None:
        shown = repr(pod_name) if pod_name else "the default pod"
        raise EMError(404, POD_NOT_FOUND, f"No pod found for {shown}.")
    return _ok("Successfully fetched DPhi Pod status", data)


async def pod_log(request: Request) -> Response:
    """`GET /em/emulator/pod/log` (emulator only): a pod's console output, as text.

    The EM keeps no console output; the emulator keeps it in its data dir for local
    debugging (never in the volume).
    """
    user = _user(request)
    pod_name = pod_name_or_none(request.query_params.get("pod_name"))
    log = await run_in_threadpool(_emulator(request).engine.console_log, user, pod_name)
    if log is None:
        shown = repr(pod_name) if pod_name else "the default pod"
        raise EMError(404, POD_NOT_FOUND, f"No console log for {shown}.")
    return Response(log, media_type="text/plain; charset=utf-8")


async def nodes_status(request: Request) -> Response:
    """`GET` (or January 2026 `POST`) `/em/nodes/status`: which nodes can take a pod."""
    not_ready = _emulator(request).config.not_ready_nodes
    nodes = [
        {"name": name, "status": "False" if name in not_ready else "True"}
        for name in NODE_NAMES.values()
    ]
    return _ok("Successfully fetched nodes status", nodes)
