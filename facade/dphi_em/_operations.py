"""The operation table: each EM operation defined once.

An operation is a function here, decorated with `@operation`. Its signature is the public
signature (that of `EMClient.<name>` without `self`), its docstring is the public doc, and
its body checks the arguments and prepares the call without any I/O:

- a plain call (`kind="call"`) returns a `Prepared`: the request's keyword arguments (built
  through the generated client, via `_generated`) and the parser of the answer;
- a transfer or a loop (`uplink`, `downlink`, `wait_for_pod`, `get_token`) returns the
  checked arguments its sync and async drivers need.

Every surface is derived from this table or calls through it: `EMClient` and `AsyncEMClient`
make each method from its operation (`surface_method`: the operation's parameters, typed
through a `ParamSpec`), and every method of theirs, of `Pod`, `AsyncPod` and the module-level
helpers is marked `@implements(op)`, which checks, at import, that the method has exactly the
operation's parameters and defaults (minus `pod_name` on a pod handle) and gives it the
operation's doc. The CLI names the command of each operation (`cli=`), and
`tests/unit/test_facade_table.py` fails when a surface lacks an operation, a parameter or a
default.

Adding an endpoint: one function here (plus `_generated` for its request and answer), the
overlay, and the emulator; then one line in the async client (`name = _driven(ops.name,
_call)`; the sync client is generated from it), a method on the pod handle when the operation
is addressed by `pod_name`, and a module helper, each checked against this table.
"""

from __future__ import annotations

import inspect
import linecache
import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import attrs
import httpx

from . import _generated as gen
from ._errors import ValidationError
from ._models import FileNode, NodeStatus, PodState, Volume
from ._progress import ProgressCallback
from ._revision import Feature
from ._settings import NodeName, dockerfile_folder
from ._treesync import SyncJob, normalize_remote_dir, plan_sync_job
from ._validate import (
    check_args,
    check_command,
    check_envs,
    check_image_name,
    check_image_ref,
    check_max_duration,
    check_node,
    check_ports,
    check_scheduled_time,
    require_str,
    validate_pod_name,
)
from ._waiting import PodWait

__all__ = [
    "OPERATIONS",
    "DownlinkCall",
    "FolderCall",
    "Operation",
    "Prepared",
    "ProgressArg",
    "SyncCall",
    "UplinkCall",
    "implements",
    "operation",
    "surface_method",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: `progress=`: True for a bar, a callback `(done, total)`, False for none, None: the default.
ProgressArg = bool | ProgressCallback | None

Kind = Literal["call", "uplink", "downlink", "folder", "sync", "wait", "login"]


@attrs.frozen
class Prepared(Generic[T]):
    """A plain call, ready to send: `httpx` request arguments and the answer's parser.

    Attributes:
        request: The request (a read-only call's `GET` form).
        parse: Turns a successful answer into the result.
        post: A read-only call's `POST` form (the January 2026 revision), else None.
        requires: What only one revision has that this call needs (see `_revision`).
        what: How error messages name the call.
    """

    request: dict[str, Any]
    parse: Callable[[httpx.Response], T]
    post: dict[str, Any] | None = None
    requires: tuple[Feature, ...] = ()
    what: str = ""


@attrs.frozen
class UplinkCall:
    """The checked arguments of an uplink (the drivers plan and stream it)."""

    filepaths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
    dest_path: str
    pod_name: str | None
    progress: ProgressArg


@attrs.frozen
class DownlinkCall:
    """The checked arguments of a downlink and its request."""

    request: dict[str, Any]
    filepath: str
    folder: str | os.PathLike[str]
    overwrite: bool
    progress: ProgressArg
    pod_name: str | None = None


@attrs.frozen
class FolderCall:
    """The checked arguments of a folder downlink."""

    folder: str
    local_dir: Path
    pod_name: str | None
    overwrite: bool
    progress: ProgressArg


@attrs.frozen
class SyncCall:
    """The checked arguments of `sync_up` or `sync_down`."""

    direction: Literal["up", "down"]
    local_dir: Path
    remote_dir: str
    pod_name: str | None
    delete: bool
    dry_run: bool
    progress: ProgressArg
    checksum: bool = False

    def plan(self, tree: Sequence[FileNode], server: str, max_bytes: int) -> SyncJob:
        """The job, from the volume's listing (blocking: walks and hashes local files)."""
        return plan_sync_job(
            self.direction,
            self.local_dir,
            self.remote_dir,
            tree,
            delete=self.delete,
            dry_run=self.dry_run,
            max_bytes=max_bytes,
            server=server,
            volume=self.pod_name,
            checksum=self.checksum,
        )


def _local_dir(value: Any, what: str) -> Path:
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ValidationError(f"{what} must be a local folder path, got {value!r}.")
    return Path(value)


def downlink_request(filepath: str, pod_name: str | None) -> dict[str, Any]:
    """The request of one file's downlink (identity encoding: the bytes as stored)."""
    request = gen.downlink_request(filepath, pod_name)
    request["headers"] = {"Accept-Encoding": "identity"}
    return request


@attrs.frozen
class Operation:
    """One row of the table.

    Attributes:
        name: The method name on every surface.
        kind: How the clients drive it (`call`, `uplink`, `downlink`, `wait`, `login`).
        volume: Addressed by `pod_name` (so a `Pod` handle has it, bound to its name).
        cli: The CLI command that runs it (`"image build"`), None if there is none.
        pod_method: The method's name on a pod handle, when not `name`.
        func: The defining function (signature, doc, checks).
    """

    name: str
    kind: Kind
    volume: bool
    cli: str | None
    pod_method: str | None
    func: Callable[..., Any]

    @property
    def signature(self) -> inspect.Signature:
        """The public signature (without `self`)."""
        return inspect.signature(self.func)

    @property
    def doc(self) -> str:
        """The public docstring."""
        return inspect.getdoc(self.func) or ""


#: Every operation, by name, in definition order.
OPERATIONS: dict[str, Operation] = {}


def operation(
    *, kind: Kind = "call", volume: bool = False, cli: str | None, pod_method: str | None = None
) -> Callable[[F], F]:
    """Register the decorated function as an operation (see the module docstring)."""

    def register(func: F) -> F:
        name = func.__name__
        if name in OPERATIONS:
            raise RuntimeError(f"operation {name!r} defined twice")
        if volume and "pod_name" not in inspect.signature(func).parameters:
            raise RuntimeError(f"volume operation {name!r} has no pod_name parameter")
        OPERATIONS[name] = Operation(name, kind, volume, cli, pod_method, func)
        func.__operation__ = OPERATIONS[name]  # type: ignore[attr-defined]
        return func

    return register


def _op_of(func: Callable[..., Any]) -> Operation:
    op = getattr(func, "__operation__", None)
    if not isinstance(op, Operation):
        raise TypeError(f"{func!r} is not an operation of the table")
    return op


def _params(signature: inspect.Signature, drop: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [
        (p.name, p.kind, p.default, str(p.annotation))
        for p in signature.parameters.values()
        if p.name not in drop
    ]


def signature_mismatch(
    op: Operation, method: Callable[..., Any], *, bound: bool = False
) -> str | None:
    """How `method` differs from `op` (None when it has exactly its parameters).

    Args:
        op: The operation.
        method: A function or method (a first parameter `self` is ignored).
        bound: The method is on a pod handle: `pod_name` is filled in by the handle.
    """
    expected = _params(op.signature, ("pod_name",) if bound else ())
    actual = _params(inspect.signature(method), ("self",))
    if expected == actual:
        return None
    return f"expected parameters {expected}, found {actual}"


def implements(func: Callable[..., Any], *, bound: bool = False) -> Callable[[F], F]:
    """Mark a surface's method as the operation `func`: check it and give it the doc.

    Raises:
        TypeError: At import, when the method's parameters or defaults differ.
    """
    op = _op_of(func)

    def mark(method: F) -> F:
        problem = signature_mismatch(op, method, bound=bound)
        if problem is not None:
            raise TypeError(f"{method.__qualname__} does not match operation {op.name}: {problem}")
        doc = op.doc
        if bound:
            doc = f"On this pod (`pod_name` is the handle's name): {doc}"
        method.__doc__ = doc
        method.__operation__ = op  # type: ignore[attr-defined]
        return method

    return mark


def surface_method(func: Callable[..., Any], drive: Callable[..., Any]) -> Any:
    """The client method of the operation `func` that `drive` makes: `func` checks the
    arguments and prepares the call, `drive(self, prepared)` makes it (a coroutine function
    for the async client: the method is one too).

    The method is written out from the operation's parameters (as `dataclasses` writes an
    `__init__`), so Python binds a call's arguments when the method is called: a bad one
    fails right there (in the async client, before any coroutine exists) with a `TypeError`
    naming `EMClient.uplink`. It gets the operation's name and doc, and the signature `self`,
    the operation's parameters, and the result of `drive` (a plain call's: what its
    `Prepared` parses into), which `implements` then checks.
    """
    op = _op_of(func)
    owner = drive.__qualname__.rpartition(".")[0]  # the class's
    namespace: dict[str, Any] = {"_func": func, "_drive": drive}
    params, args, keyword_only = ["self"], [], False
    for p in op.signature.parameters.values():
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            raise TypeError(f"operation {op.name}: parameter {p} of kind {p.kind.description}")
        if p.kind is p.KEYWORD_ONLY and not keyword_only:
            params.append("*")
            keyword_only = True
        text = p.name
        if p.default is not p.empty:
            namespace[f"_default_{p.name}"] = p.default
            text += f"=_default_{p.name}"
        params.append(text)
        args.append(f"{p.name}={p.name}" if keyword_only else p.name)
    is_async = inspect.iscoroutinefunction(drive)
    source = (
        f"{'async ' if is_async else ''}def {op.name}({', '.join(params)}):\n"
        f"    return {'await ' if is_async else ''}_drive(self, _func({', '.join(args)}))\n"
    )
    filename = f"<{owner}.{op.name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    method = namespace[op.name]
    method.__qualname__ = f"{owner}.{op.name}"
    method.__module__ = drive.__module__
    returns = op.signature.return_annotation
    plain = re.fullmatch(r"Prepared\[(.+)\]", str(returns))
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    method.__signature__ = op.signature.replace(
        parameters=[self, *op.signature.parameters.values()],
        return_annotation=plain.group(1) if plain else inspect.signature(drive).return_annotation,
    )
    return implements(func)(method)


# -- the operations ---------------------------------------------------------------------------


@operation(kind="login", cli="login")
def get_token() -> None:
    """Log in now (otherwise the first call logs in).

    Raises:
        ConfigurationError: No credentials.
        AuthenticationError: The server refused them.
    """


@operation(kind="uplink", volume=True, cli="uplink")
def uplink(
    filepaths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    dest_path: str = "",
    pod_name: str | None = None,
    *,
    progress: ProgressArg = None,
) -> UplinkCall:
    """Uplink files and folders into a volume, streaming them from disk.

    Folders are sent with their own name and tree under `dest_path`. Sets over the
    per-call limit are split into several calls; when a later call fails, the files of
    the earlier ones are already on the volume.

    Only the bytes and names travel: file modes do not, so an uplinked script is not
    executable on the volume (the EM's own uplink does not keep the executable bit
    either). Run it through a shell (`command="/bin/sh /data/run.sh"`), or copy it into
    the image with `RUN chmod +x` in the Dockerfile.

    Args:
        filepaths: One path or a list: files or folders.
        dest_path: The volume folder to put them in ("" or "/" is the root; a leading "/"
            means the volume root, as in the vendor's examples).
        pod_name: The pod whose volume receives them (None: the default volume).
        progress: True for a bar, a callback `(done, total)`, False for none; None uses
            the client's setting.

    Returns:
        The count of files and bytes sent and the number of calls (`UplinkResult`).

    Raises:
        ValidationError: An invalid pod name, or a path missing, unreadable or not a file
            or folder (nothing is sent).
        FileTooLargeError: One file is over the per-call limit (nothing is sent).
        APIError: The server refused a call (e.g. `UplinkTooLargeError`).
    """
    if not isinstance(dest_path, str):
        raise ValidationError(f"dest_path must be a string, got {dest_path!r}.")
    return UplinkCall(filepaths, dest_path.lstrip("/"), validate_pod_name(pod_name), progress)


@operation(kind="downlink", volume=True, cli="downlink")
def downlink(
    filepath: str,
    downlink_folder: str | os.PathLike[str] = "downlink/",
    pod_name: str | None = None,
    overwrite: bool = False,
    *,
    progress: ProgressArg = None,
) -> DownlinkCall:
    """Download a file of a volume into a local folder (created if needed).

    The body goes to a temporary file that is renamed into place once complete; a
    failed or cut transfer leaves nothing behind. The file is named after the server's
    `Content-Disposition` (made safe), else after `filepath`.

    Args:
        filepath: The file's path in the volume.
        downlink_folder: The local folder.
        pod_name: The pod whose volume holds it (None: the default volume).
        overwrite: Replace an existing local file.
        progress: As for `uplink`.

    Returns:
        The local file's path.

    Raises:
        ValidationError: An invalid pod name or path.
        LocalFileExistsError: The local file exists and `overwrite` is False.
        NotFoundError: No such file. ForbiddenPathError: a path outside the volume.
        IncompleteDownloadError: The body ended early.
    """
    require_str("filepath", filepath)
    pod = validate_pod_name(pod_name)
    request = downlink_request(filepath, pod)
    return DownlinkCall(request, filepath, downlink_folder, bool(overwrite), progress, pod)


@operation(kind="folder", volume=True, cli="downlink")
def downlink_folder(
    folder: str,
    downlink_folder: str | os.PathLike[str] = "downlink/",
    pod_name: str | None = None,
    overwrite: bool = False,
    *,
    progress: ProgressArg = None,
) -> FolderCall:
    """Download a folder of a volume, recursively, into a local folder.

    The volume folder `a/b` becomes `<downlink_folder>/b` with its tree kept (the volume
    root, "" or "/", becomes `downlink_folder` itself), so files of the same name in
    different folders do not collide. One listing, then one downlink per file, each as
    `downlink` does it (written aside, renamed into place whole, resumed when cut).

    Args:
        folder: The folder's path in the volume.
        downlink_folder: The local folder (created if needed).
        pod_name: The pod whose volume holds it (None: the default volume).
        overwrite: Replace local files that exist; without it, nothing is fetched when one
            exists.
        progress: As for `uplink` (one bar for all the files).

    Returns:
        The local folder, the files written, their bytes and the calls (`DownlinkResult`).

    Raises:
        ValidationError: An invalid pod name or path, or a name in the volume that is not
            a safe local file name.
        NotFoundError: No such folder in the volume.
        LocalFileExistsError: A local file exists and `overwrite` is False.
        IncompleteDownloadError: A body ended early (the files before it are in place).
    """
    return FolderCall(
        normalize_remote_dir(require_str("folder", folder, empty=True), "folder"),
        _local_dir(downlink_folder, "downlink_folder"),
        validate_pod_name(pod_name),
        bool(overwrite),
        progress,
    )


@operation(kind="sync", volume=True, cli="sync")
def sync_up(
    local_dir: str | os.PathLike[str],
    remote_dir: str = "",
    pod_name: str | None = None,
    *,
    delete: bool = False,
    dry_run: bool = False,
    progress: ProgressArg = None,
    checksum: bool = False,
) -> SyncCall:
    """Send what differs from a local folder's contents to a volume folder.

    A file is sent when the volume lacks it, its size differs, or either copy changed
    since the last sync of this folder pair (any change, whatever its size: a local sync
    record keeps what each side held; a file it does not hold is sent). Symbolic links are
    not followed: they are not sent, and are listed in `skipped` with the reason `link`.
    Sent files go in as few calls as the API allows (one per volume folder).

    Args:
        local_dir: The local folder whose contents are synced.
        remote_dir: The volume folder that mirrors it ("" or "/" is the root).
        pod_name: The pod whose volume it is (None: the default volume).
        delete: Also delete volume files and folders that `local_dir` lacks.
        dry_run: Change nothing; the result says what would be done.
        progress: As for `uplink`.
        checksum: Re-hash every local file (SHA-256) instead of taking one whose size and
            modification time (to the nanosecond) are unchanged as unchanged.

    Returns:
        What was sent, deleted and skipped (`SyncResult`).

    Raises:
        ValidationError: An invalid argument, `local_dir` is not a folder, or a path is a
            file on one side and a folder on the other (nothing is sent).
        FileTooLargeError: A file to send is over the per-call limit (nothing is sent).
    """
    return SyncCall(
        "up",
        _local_dir(local_dir, "local_dir"),
        normalize_remote_dir(remote_dir),
        validate_pod_name(pod_name),
        bool(delete),
        bool(dry_run),
        progress,
        bool(checksum),
    )


@operation(kind="sync", volume=True, cli="sync")
def sync_down(
    remote_dir: str,
    local_dir: str | os.PathLike[str],
    pod_name: str | None = None,
    *,
    delete: bool = False,
    dry_run: bool = False,
    progress: ProgressArg = None,
    checksum: bool = False,
) -> SyncCall:
    """Fetch what differs from a volume folder's contents into a local folder.

    A file is fetched when the local folder lacks it, its size differs, or either copy
    changed since the last sync of this folder pair (as for `sync_up`). Nothing is written
    through a local symbolic link: a volume path that is, or goes through, one is skipped
    (reason `link`). Each file is written aside and renamed into place whole, as
    `downlink` does.

    Args:
        remote_dir: The volume folder whose contents are synced ("" or "/" is the root).
        local_dir: The local folder that mirrors it (created if needed).
        pod_name: The pod whose volume it is (None: the default volume).
        delete: Also delete local files and folders that the volume folder lacks.
        dry_run: Change nothing; the result says what would be done.
        progress: As for `uplink`.
        checksum: As for `sync_up`.

    Returns:
        What was fetched, deleted and skipped (`SyncResult`).

    Raises:
        ValidationError: An invalid argument, a name in the volume that is not a safe
            local file name, or a path that is a file on one side and a folder on the other.
        NotFoundError: No such folder in the volume.
    """
    return SyncCall(
        "down",
        _local_dir(local_dir, "local_dir"),
        normalize_remote_dir(require_str("remote_dir", remote_dir, empty=True)),
        validate_pod_name(pod_name),
        bool(delete),
        bool(dry_run),
        progress,
        bool(checksum),
    )


@operation(volume=True, cli="ls")
def files_list(pod_name: str | None = None) -> Prepared[list[FileNode]]:
    """The file tree of a volume: files, and directories with their `contents`.

    Args:
        pod_name: The pod whose volume to list (None: the default volume).

    Returns:
        A list of `FileNode` (sizes as integers, times as datetimes).
    """
    pod = validate_pod_name(pod_name)
    return Prepared(gen.files_list_request(pod), gen.parse_file_tree, post=gen.files_list_post(pod))


@operation(volume=True, cli="rm")
def delete(filepath: str, pod_name: str | None = None) -> Prepared[str]:
    """Delete a file or folder of a volume; returns the server's message.

    Args:
        filepath: The file or folder in the volume.
        pod_name: The pod whose volume holds it (None: the default volume).

    Raises:
        BadRequestError: The deletion failed (e.g. no such file in that volume).
    """
    request = gen.delete_request(require_str("filepath", filepath), validate_pod_name(pod_name))
    return Prepared(request, gen.parse_message)


@operation(volume=True, cli="image build")
def image_build(
    dockerfile: str, image: str, context: str | None = None, pod_name: str | None = None
) -> Prepared[str]:
    """Build an image from a Dockerfile and context in a volume; returns the message.

    The server stores it as `<username>-<image>`.

    Args:
        dockerfile: The Dockerfile's path in the volume.
        image: The image name (Docker's rule: lowercase, checked before sending).
        context: The build context folder in the volume (None: the Dockerfile's folder,
            as `dphi-em image build` does).
        pod_name: The pod whose volume holds them (None: the default volume).

    Raises:
        ValidationError: An invalid image name or path (nothing is sent).
        BuildFailedError: The build failed; see its `log_tail`.
    """
    dockerfile = require_str("dockerfile", dockerfile)
    if context is None:
        context = dockerfile_folder(dockerfile)
    request = gen.image_build_request(
        dockerfile,
        check_image_name(image),
        require_str("context", context),
        validate_pod_name(pod_name),
    )
    return Prepared(request, gen.parse_message)


@operation(volume=True, cli="image load")
def image_load(tarfile: str, image: str, pod_name: str | None = None) -> Prepared[str]:
    """Load a `docker save` tar of a volume as `image`; returns the message.

    Args:
        tarfile: The tar's path in the volume.
        image: The image name.
        pod_name: The pod whose volume holds it (None: the default volume).

    Raises:
        ImageLoadFailedError: The load failed; see its `log_tail`.
    """
    request = gen.image_load_request(
        require_str("tarfile", tarfile), check_image_name(image), validate_pod_name(pod_name)
    )
    return Prepared(request, gen.parse_message)


@operation(cli="image ls")
def image_list() -> Prepared[list[str]]:
    """The user's own built and loaded images (public images are not listed)."""
    return Prepared(gen.image_list_request(), gen.parse_image_list, post=gen.image_list_post())


@operation(cli="namespace create")
def namespace_create() -> Prepared[str]:
    """Create the user's private namespace (for pods that talk to each other).

    Only the November 2025 revision has namespaces (in January 2026 a pod reaches the
    user's other pods by their pod name, without one).

    Raises:
        RevisionError: The server speaks the January 2026 revision (nothing is sent).
    """
    return Prepared(
        gen.namespace_create_request(),
        gen.parse_message,
        requires=("namespaces",),
        what="namespace_create()",
    )


@operation(volume=True, cli="run")
def run(
    image: str,
    node: NodeName | str = "FPGA",
    max_duration: int = 1,
    command: str | None = None,
    scheduled_time: datetime | str | None = None,
    pod_name: str | None = None,
    ports: Sequence[int] | None = None,
    namespace: bool = False,
    args: Sequence[str] | None = None,
    envs: Mapping[str, Any] | None = None,
    pvc_name: str | None = None,
) -> Prepared[str]:
    """Schedule a pod; returns the server's message.

    Scheduling succeeds even when the pod can never start: use `pod_status` or
    `wait_for_pod` to know.

    Args:
        image: An image of the user's (as named when built or loaded) or a public one.
        node: `FPGA`, `GPU` or `MPU`, in any case.
        max_duration: Minutes after its start when the pod is stopped.
        command: Overrides the image's command (None or "": the image's own).
        scheduled_time: An aware `datetime` or an ISO 8601 string with a zone.
        pod_name: The pod (and volume) name (None: the default pod).
        ports: Ports exposed to the user's other pods (1..65535).
        namespace: Run inside the user's private namespace (November 2025 revision only).
        args: Arguments of the command.
        envs: Environment variables; values are sent as strings.
        pvc_name: The volume mounted at `/data` when it is not the pod's own (January 2026
            revision only; None: the pod's own, on either revision).

    Raises:
        ValidationError: An invalid argument (nothing is sent).
        RevisionError: `namespace=True` on a January 2026 EM, or another pod's volume on a
            November 2025 EM (nothing is sent).
    """
    pod = validate_pod_name(pod_name)
    volume = validate_pod_name(pvc_name) if pvc_name is not None else pod
    requires: tuple[Feature, ...] = ()
    if namespace:
        requires += ("namespaces",)
    if volume != pod:
        requires += ("volumes",)
    request = gen.run_request(
        image=check_image_ref(image),
        node=check_node(node),
        max_duration=check_max_duration(max_duration),
        command=check_command(command),
        scheduled_time=check_scheduled_time(scheduled_time),
        pod_name=pod,
        pvc_name=volume,
        ports=check_ports(ports),
        namespace=bool(namespace),
        args=check_args(args),
        envs=check_envs(envs),
    )
    what = "run(namespace=True)" if namespace else f"run(pvc_name={pvc_name!r})"
    return Prepared(request, gen.parse_message, requires=requires, what=what)


@operation(volume=True, cli="status", pod_method="status")
def pod_status(pod_name: str | None = None) -> Prepared[PodState]:
    """A pod's current state: waiting (with its reason), running or terminated.

    Args:
        pod_name: The pod (None: the default pod).
    """
    pod = validate_pod_name(pod_name)
    return Prepared(gen.pod_status_request(pod), gen.parse_pod_state, post=gen.pod_status_post(pod))


#: The emulator's console-log endpoint (the EM has none: it keeps no console output).
POD_LOG_PATH = "em/emulator/pod/log"


def _parse_text(response: httpx.Response) -> str:
    return response.text


@operation(volume=True, cli="logs", pod_method="logs")
def pod_logs(pod_name: str | None = None) -> Prepared[str]:
    """A pod's console output (stdout and stderr), where the server keeps it.

    The local emulator keeps each pod's console output (its last part, outside the
    volume); the EM keeps none: there, `LogsUnavailableError` says so. On the EM, have
    the pod write its log under `/data` (`exec >/data/run.log 2>&1` first in a shell
    entry point) and `downlink` it.

    Args:
        pod_name: The pod (None: the default pod).

    Returns:
        The text (undecodable bytes replaced).

    Raises:
        LogsUnavailableError: The server keeps no console output (the EM).
        NotFoundError: No such pod, or it has not written anything yet.
    """
    pod = validate_pod_name(pod_name)
    params = {"pod_name": pod} if pod else {}
    return Prepared({"method": "GET", "url": POD_LOG_PATH, "params": params}, _parse_text)


@operation(kind="wait", volume=True, cli="status --watch", pod_method="wait")
def wait_for_pod(
    pod_name: str | None = None,
    until: str = "running",
    timeout: float | None = None,
    poll_interval: float | None = None,
    check: bool = True,
) -> PodWait:
    """Poll a pod until it runs (`until="running"`) or has finished (`"terminated"`).

    A pod that already finished also satisfies `"running"`. A pod not found yet (e.g.
    scheduled for later) is polled again.

    The failure rule (`check`, True by default): any failure raises `PodFailedError`, with
    the last state in `.state`: a pod that cannot start (a waiting reason it does not
    recover from, e.g. `ErrImagePull`) and a pod that terminated without succeeding (a
    non-zero exit code; or no exit code and a reason other than `Completed`), whatever
    `until` is. With `check=False`, `PodFailedError` is never raised: the state the pod
    ended or got stuck in is returned (`terminated`, or `waiting` with its fatal reason).

    Args:
        pod_name: The pod (None: the default pod).
        until: `running` or `terminated`.
        timeout: Seconds to wait in all (default 300).
        poll_interval: Seconds between polls (default 2).
        check: Raise `PodFailedError` for any failure (see above).

    Returns:
        The state reached.

    Raises:
        PodFailedError: With `check=True`, the pod cannot start or did not succeed; the
            message names the reason or the exit code.
        WaitTimeoutError: The time ran out; the message names the last state.
    """
    return PodWait(validate_pod_name(pod_name), until, timeout, poll_interval, check=bool(check))


@operation(cli="nodes")
def nodes_status() -> Prepared[list[NodeStatus]]:
    """The CG2 nodes and whether each can take a pod."""
    return Prepared(gen.nodes_status_request(), gen.parse_nodes, post=gen.nodes_status_post())


@operation(cli="volumes")
def volumes() -> Prepared[list[Volume]]:
    """The user's volumes (`Volume`: name, and size and file count when the server says).

    Only the January 2026 revision lists volumes.

    Raises:
        RevisionError: The server speaks the November 2025 revision.
    """
    return Prepared(
        gen.volumes_request(), gen.parse_volumes, requires=("volumes",), what="volumes()"
    )


@operation(cli="volume rm")
def delete_volume(name: str) -> Prepared[str]:
    """Delete one of the user's volumes with all its files; returns the server's message.

    Only the January 2026 revision deletes volumes. The server refuses the default volume
    and a volume a pod is using.

    Args:
        name: The volume's name (a pod name).

    Raises:
        ValidationError: An invalid or empty name (nothing is sent).
        RevisionError: The server speaks the November 2025 revision (nothing is sent).
        BadRequestError: The server refused (e.g. the volume is in use).
    """
    checked = validate_pod_name(name)
    if checked is None:
        raise ValidationError(f"Invalid volume name {name!r}: give the name of a volume.")
    return Prepared(
        gen.delete_volume_request(checked),
        gen.parse_message,
        requires=("volumes",),
        what="delete_volume()",
    )
