"""Volumes (January 2026 revision): `POST /em/pvc/list`, `POST /em/pvc/delete`, and which pod
uses which volume.

The vendor's client calls these endpoints, but their answers are unpublished; the emulator
answers with the EM's usual envelopes:

- `POST /em/pvc/list` -> `{"message": ..., "data": [{"name", "default", "size", "file_count"}]}`:
  the default volume first (`name` "", the `pvc_name` that addresses it; it always exists),
  then every named volume on disk, sorted. `size` is the bytes of its files, `file_count`
  how many files it holds (folders are not counted).
- `POST /em/pvc/delete` `{"pvc_name": NAME}` removes the volume and its files. Refused:
  400 `INVALID_PARAMETERS` without a name or with an invalid one, 404 `VOLUME_NOT_FOUND` for a
  volume that does not exist, 409 `VOLUME_IN_USE` while a pod that has not terminated mounts
  it (the answer names the pods).

The default volume can be emptied (delete its files with `POST /em/files/delete`) but not
deleted: it is where every request without a volume name goes, and what a pod run without
`pvc_name` mounts, so it always exists (the EM provisions it with the account, as
`/clients/<user>-pvc/`); "deleting" it could only mean emptying it, which one mistyped
command should not do to all of a user's unnamed files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._emulator import Emulator
from ._errors import EMError, bad_parameter
from ._forms import read_fields
from ._middleware import USER_KEY
from ._state import DEFAULT_VOLUME, JsonDocument
from ._storage import pod_name_or_none, remove_tree

VOLUME_NOT_FOUND = "VOLUME_NOT_FOUND"
VOLUME_IN_USE = "VOLUME_IN_USE"
#: The state file mapping each user's pods to the volumes they mount.
POD_VOLUMES_FILE = "pod_volumes.json"


class PodVolumes:
    """Which volume each pod mounts (`{user: {pod_name or "": volume or ""}}`), recorded when
    the pod is run. A pod without a record (run before this was kept) mounts its own name's
    volume, the November 2025 rule."""

    def __init__(self, document: JsonDocument) -> None:
        self._doc = document

    def record(self, user: str, pod_name: str | None, volume: str | None) -> None:
        pods: dict[str, str] = self._doc.get(user) or {}
        pods[pod_name or ""] = volume or ""
        self._doc.update(user, pods)

    def volume(self, user: str, pod_name: str | None) -> str | None:
        pods: dict[str, str] = self._doc.get(user) or {}
        return pods.get(pod_name or "", pod_name or "") or None

    def pods_on(self, user: str, volume: str | None) -> list[str | None]:
        """The pods that may mount `volume`: those recorded so, and the pod of the same name
        (which mounts it when it has no record; `volume()` tells)."""
        pods: dict[str, str] = self._doc.get(user) or {}
        names = {pod for pod, vol in pods.items() if vol == (volume or "")}
        names.add(volume or "")
        return [name or None for name in sorted(names)]


def pod_volumes(request: Request) -> PodVolumes:
    """The app's `PodVolumes` (made by `create_app`)."""
    store: PodVolumes = request.app.state.pod_volumes
    return store


def _emulator(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


def _pod_state(emulator: Emulator, user: str, pod_name: str | None) -> dict[str, Any] | None:
    """A pod's Kubernetes container state, or None for no such pod (asked of the pod engine
    when the emulator has one, else of the pod records)."""
    engine = getattr(emulator, "engine", None)
    if engine is not None:
        status = engine.status(user, pod_name)
        return None if status is None else dict(status["state"])
    from ._pods import container_state

    record = emulator.pods.get(user, pod_name)
    return None if record is None else container_state(record, user)


def _pods_using(
    emulator: Emulator, store: PodVolumes, user: str, volume: str
) -> list[tuple[str, str]]:
    """(pod name, state) of each pod that mounts `volume` and has not terminated."""
    using = []
    for pod_name in store.pods_on(user, volume):
        if store.volume(user, pod_name) != volume:
            continue
        state = _pod_state(emulator, user, pod_name)
        if state is not None and "terminated" not in state:
            using.append((pod_name or "the default pod", next(iter(state), "unknown")))
    return using


def _measure(folder: str) -> tuple[int, int]:
    """(bytes, files) of the regular files under `folder`; symlinks are not followed.

    Walked with an explicit stack (os.walk recurses once per level before Python 3.12, so a
    pod's thousand-level folders would make it fail).
    """
    size = count = 0
    stack = [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        size += entry.stat(follow_symlinks=False).st_size
                        count += 1
        except OSError:
            continue
    return size, count


def _list(user_dir: str) -> list[dict[str, Any]]:
    try:
        names = sorted(
            entry.name
            for entry in os.scandir(user_dir)
            if entry.is_dir(follow_symlinks=False) and entry.name != DEFAULT_VOLUME
        )
    except FileNotFoundError:
        names = []
    volumes = []
    for name, default in [(DEFAULT_VOLUME, True)] + [(name, False) for name in names]:
        size, count = _measure(os.path.join(user_dir, name))
        volumes.append(
            {"name": "" if default else name, "default": default, "size": size, "file_count": count}
        )
    return volumes


async def pvc_list(request: Request) -> Response:
    """`POST /em/pvc/list`: the user's volumes, with their size and file count."""
    user: str = request.scope[USER_KEY]
    user_dir = _emulator(request).data.volumes / user
    volumes = await run_in_threadpool(_list, str(user_dir))
    return JSONResponse({"message": "Successfully fetched volumes", "data": volumes})


async def pvc_delete(request: Request) -> Response:
    """`POST /em/pvc/delete`: `pvc_name`; the volume and its files are removed."""
    user: str = request.scope[USER_KEY]
    fields = await read_fields(request)
    raw = fields.get("pvc_name")
    if raw is None:
        raise bad_parameter(
            "pvc_name is required: name the volume to delete. The default volume can't be "
            "deleted; delete its files instead (POST /em/files/delete)."
        )
    name = pod_name_or_none(raw, "pvc_name")
    assert name is not None
    folder = _emulator(request).data.volume(user, name)
    if not folder.is_dir():
        raise EMError(404, VOLUME_NOT_FOUND, f"Volume {name!r} not found.")
    using = await run_in_threadpool(
        _pods_using, _emulator(request), pod_volumes(request), user, name
    )
    if using:
        pods = ", ".join(f"{pod!r} ({state})" for pod, state in using)
        raise EMError(
            409,
            VOLUME_IN_USE,
            f"Volume {name!r} is in use by pod {pods}: it can be deleted once the pod has "
            "terminated.",
        )
    await run_in_threadpool(remove_tree, Path(folder))
    return JSONResponse({"message": "Volume deleted successfully"})
