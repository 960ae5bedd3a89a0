"""`EMClient`: the facade over the EM API.

The client owns one `httpx.Client` (keep-alive connections) wired with the token flow
(`_auth.TokenAuth`) and the gated, retrying transport (`_transport.RetryTransport`). The
generated client (`raw`) uses the same `httpx.Client`, so raw calls share auth, timeouts,
retries and the one-request-in-flight gate. JSON operations are built with the generated
operation modules and parsed with the generated models; uplink and downlink stream by hand.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from em_api_client import Client
from em_api_client.api.em import (
    em_files_delete_create,
    em_files_downlink_list,
    em_files_list_list,
    em_nodes_status_list,
    em_pod_image_build_create,
    em_pod_image_list_list,
    em_pod_image_load_create,
    em_pod_namespace_create_create,
    em_pod_run_create,
    em_pod_status_list,
)
from em_api_client.models import (
    EmDeleteRequest,
    EmFileNode,
    EmFilesListResponse,
    EmImageBuildRequest,
    EmImageListResponse,
    EmImageLoadRequest,
    EmMessage,
    EmNodesStatusResponse,
    EmNodeType,
    EmPodStatusResponse,
    EmRunRequest,
    EmUplinkResponse,
)
from em_api_client.types import UNSET, Unset

from ._auth import FRESH_TOKEN_EXTENSION, TokenAuth
from ._config import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    DEFAULT_WAIT_TIMEOUT,
    LARGE_UPLOAD_BYTES,
    MAX_UPLINK_BYTES,
    resolve_base_url,
    resolve_credentials,
)
from ._errors import (
    APIError,
    ClientClosedError,
    ConfigurationError,
    NotFoundError,
    PodFailedError,
    ValidationError,
    WaitTimeoutError,
    map_transport_errors,
    raise_for_response,
)
from ._models import NodeStatus, PodState, UplinkResult
from ._transfer import (
    MultipartFileStream,
    Progress,
    ProgressCallback,
    plan_uplink,
    receive_download,
)
from ._transport import RetryPolicy, RetryTransport, network_transport
from ._validate import (
    check_args,
    check_envs,
    check_max_duration,
    check_node,
    check_ports,
    check_scheduled_time,
    require_str,
)
from ._volumes import Pod, validate_pod_name

__all__ = ["FATAL_WAITING_REASONS", "EMClient", "ProgressArg", "RetryArg"]

#: `progress=`: True for a bar, a callback `(done, total)`, False for none, None: the default.
ProgressArg = bool | ProgressCallback | None
#: `retry=`: a policy, True for the default one, False or None to never retry.
RetryArg = RetryPolicy | bool | None

#: Waiting reasons after which a pod will not start without a new run.
FATAL_WAITING_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "CrashLoopBackOff",
    }
)
_UNTIL = ("running", "terminated")
_USER_AGENT = "dphi-em"
_M = TypeVar("_M")

_UNOPENED, _OPENED, _CLOSED = "unopened", "opened", "closed"


def _pod_arg(pod_name: str | None) -> str | Unset:
    checked = validate_pod_name(pod_name)
    return UNSET if checked is None else checked


def _parse(response: httpx.Response, model: Callable[[Any], _M]) -> _M:
    try:
        return model(response.json())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise APIError(
            f"Unexpected answer from {response.request.method} {response.request.url.path}: "
            f"{type(exc).__name__}: {exc}",
            status_code=response.status_code,
            response=response,
        ) from exc


class _SyncOnlyTransport(httpx.AsyncBaseTransport):
    """The async side of `EMClient.raw`: refuses, naming what to use instead."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise ConfigurationError(
            "EMClient.raw serves the generated sync calls (sync, sync_detailed) only: "
            "asyncio calls would bypass the client's tokens, retries and request gate."
        )


class EMClient:
    """A client of the CG2 EM API.

    Configuration is resolved from the arguments, else the environment (`DPHI_EM_URL`,
    `DPHI_EM_USERNAME`, `DPHI_EM_PASSWORD`), else defaults (`http://localhost:8000/`).
    Missing credentials fail at the first call that needs them. Use it as a context
    manager, or call `close()`; a closed client cannot be reused.

    Args:
        base_url: The server address.
        username: The user name.
        password: The password.
        timeout: Seconds, or an `httpx.Timeout`, for each request.
        retry: A `RetryPolicy`; True (the default policy); False or None: no retries.
        progress: Show a progress bar for transfers (True) or call `callback(done, total)`.
        max_uplink_bytes: Most file bytes in one uplink call; larger sets are split.
        transport: The transport to the network (tests use `httpx.MockTransport`).
        verify: TLS verification, as for `httpx.Client`.
    """

    def __init__(
        self,
        base_url: str | httpx.URL | None = None,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        retry: RetryArg = True,
        progress: bool | ProgressCallback = False,
        max_uplink_bytes: int = MAX_UPLINK_BYTES,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str = True,
    ) -> None:
        self._base_url = resolve_base_url(base_url)
        credentials = resolve_credentials(username, password)
        if retry is True:
            policy: RetryPolicy | None = RetryPolicy()
        elif retry is False or retry is None:
            policy = None
        elif isinstance(retry, RetryPolicy):
            policy = retry
        else:
            raise ValidationError(f"retry must be a RetryPolicy, True, False or None: {retry!r}")
        if isinstance(max_uplink_bytes, bool) or not isinstance(max_uplink_bytes, int):
            raise ValidationError(f"max_uplink_bytes must be an int, got {max_uplink_bytes!r}.")
        if max_uplink_bytes < 1:
            raise ValidationError(f"max_uplink_bytes must be positive, got {max_uplink_bytes}.")
        self._max_uplink_bytes = max_uplink_bytes
        self._progress = progress
        inner = transport if transport is not None else network_transport(verify=verify)
        self._transport = RetryTransport(inner, policy)
        self._auth = TokenAuth(credentials, self._base_url)
        self._http = httpx.Client(
            base_url=self._base_url,
            auth=self._auth,
            timeout=timeout,
            transport=self._transport,
            headers={"User-Agent": _USER_AGENT},
        )
        self._raw: Client | None = None
        self._state = _UNOPENED
        self._state_lock = threading.Lock()
        self._sleep: Callable[[float], None] = time.sleep
        self._clock: Callable[[], float] = time.monotonic

    # -- life cycle -------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"EMClient(base_url={str(self._base_url)!r}, "
            f"username={self._auth._credentials.username!r}, state={self._state!r})"
        )

    def __enter__(self) -> EMClient:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections. The client cannot be used afterwards (closing twice is fine)."""
        with self._state_lock:
            if self._state == _CLOSED:
                return
            self._state = _CLOSED
        self._http.close()

    @property
    def is_closed(self) -> bool:
        """Whether `close()` was called."""
        return self._state == _CLOSED

    def _check_open(self) -> None:
        state = self._state
        if state == _OPENED:
            return
        with self._state_lock:
            if self._state == _CLOSED:
                raise ClientClosedError("This EMClient is closed; create a new one.")
            self._state = _OPENED

    @property
    def base_url(self) -> httpx.URL:
        """The server address (its path ends with `/`)."""
        return self._base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in use."""
        return self._transport.policy

    @property
    def http_client(self) -> httpx.Client:
        """The `httpx.Client` the facade and `raw` share (auth, timeouts, retries)."""
        self._check_open()
        return self._http

    @property
    def raw(self) -> Client:
        """The generated client (`em_api_client.Client`) on the shared `httpx.Client`.

        Its `sync` and `sync_detailed` calls share the facade's tokens, timeouts, retries and
        one-request-at-a-time gate. Its `asyncio*` calls raise `ConfigurationError`: they
        would go out on a separate client without any of these.

        Example:
            `em_pod_status_list.sync_detailed(client=em.raw, pod_name="pod-a")`
        """
        self._check_open()
        if self._raw is None:
            raw = Client(base_url=str(self._base_url)).set_httpx_client(self._http)
            raw.set_async_httpx_client(httpx.AsyncClient(transport=_SyncOnlyTransport()))
            self._raw = raw
        return self._raw

    def pod(self, name: str) -> Pod:
        """A handle bound to one pod name (and its volume).

        Raises:
            ValidationError: An invalid pod name.
        """
        return Pod(self, name)

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, kwargs: dict[str, Any]) -> httpx.Response:
        self._check_open()
        with map_transport_errors():
            response = self._http.request(**kwargs)
        raise_for_response(response)
        return response

    def _progress_for(self, progress: ProgressArg, total: int, label: str) -> Progress | None:
        choice = self._progress if progress is None else progress
        if choice is False or choice is None:
            return None
        if choice is True:
            return Progress(total, None, bar=True, description=label)
        if callable(choice):
            return Progress(total, choice, bar=False, description=label)
        raise ValidationError(f"progress must be a bool or a callable, got {choice!r}.")

    # -- tokens -----------------------------------------------------------------------------

    def get_token(self) -> None:
        """Log in now (otherwise the first call logs in).

        Raises:
            ConfigurationError: No credentials.
            AuthenticationError: The server refused them.
        """
        self._check_open()
        template = self._http.build_request("POST", "auth/")
        with map_transport_errors():
            self._auth.login(lambda request: self._http.send(request, auth=None), template)

    # -- files ------------------------------------------------------------------------------

    def uplink(
        self,
        filepaths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        dest_path: str = "",
        pod_name: str | None = None,
        *,
        progress: ProgressArg = None,
    ) -> UplinkResult:
        """Uplink files and folders into a volume, streaming them from disk.

        Folders are sent with their own name and tree under `dest_path`. Sets over the
        per-call limit are split into several calls; when a later call fails, the files of
        the earlier ones are already on the volume.

        Args:
            filepaths: One path or a list: files or folders.
            dest_path: The volume folder to put them in ("" is the root).
            pod_name: The pod whose volume receives them (None: the default volume).
            progress: True for a bar, a callback `(done, total)`, False for none; None uses
                the client's setting.

        Returns:
            The count of files and bytes sent and the number of calls.

        Raises:
            ValidationError: An invalid pod name, or a path missing, unreadable or not a file
                or folder (nothing is sent).
            FileTooLargeError: One file is over the per-call limit (nothing is sent).
            APIError: The server refused a call (e.g. `UplinkTooLargeError`).
        """
        pod = validate_pod_name(pod_name)
        batches = plan_uplink(filepaths, dest_path or "", max_bytes=self._max_uplink_bytes)
        self._check_open()
        total = sum(item.size for batch in batches for item in batch)
        reporter = self._progress_for(progress, total, "uplink")
        file_count = 0
        sent = 0
        try:
            for batch in batches:
                fields = []
                if batch[0].dest_dir:
                    fields.append(("dest_path", batch[0].dest_dir))
                if pod is not None:
                    fields.append(("pod_name", pod))
                start = sent
                stream = MultipartFileStream(
                    fields,
                    batch,
                    on_start=None if reporter is None else functools.partial(reporter.set, start),
                    on_chunk=None if reporter is None else reporter.advance,
                )
                size = sum(item.size for item in batch)
                extensions = {FRESH_TOKEN_EXTENSION: True} if size >= LARGE_UPLOAD_BYTES else {}
                request = self._http.build_request(
                    "POST",
                    "em/files/uplink",
                    content=stream,
                    headers=stream.headers,
                    extensions=extensions,
                )
                with map_transport_errors():
                    response = self._http.send(request)
                raise_for_response(response)
                result = _parse(response, EmUplinkResponse.from_dict)
                file_count += result.data.file_count
                sent += size
        finally:
            if reporter is not None:
                reporter.close()
        return UplinkResult(
            file_count=file_count,
            total_bytes=sent,
            calls=len(batches),
            paths=tuple(item.dest for batch in batches for item in batch),
        )

    def downlink(
        self,
        filepath: str,
        downlink_folder: str | os.PathLike[str] = "downlink/",
        pod_name: str | None = None,
        overwrite: bool = False,
        *,
        progress: ProgressArg = None,
    ) -> Path:
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
        kwargs = em_files_downlink_list._get_kwargs(filepath=filepath, pod_name=_pod_arg(pod_name))
        kwargs["headers"] = {"Accept-Encoding": "identity"}
        folder = Path(downlink_folder)
        self._check_open()
        reporter = self._progress_for(progress, 0, "downlink")
        try:
            with map_transport_errors(), self._http.stream(**kwargs) as response:
                raise_for_response(response)
                folder.mkdir(parents=True, exist_ok=True)
                return receive_download(
                    response, folder, filepath, overwrite=overwrite, progress=reporter
                )
        finally:
            if reporter is not None:
                reporter.close()

    def files_list(self, pod_name: str | None = None) -> list[EmFileNode]:
        """The file tree of a volume: files, and directories with their `contents`.

        Args:
            pod_name: The pod whose volume to list (None: the default volume).
        """
        response = self._call(em_files_list_list._get_kwargs(pod_name=_pod_arg(pod_name)))
        return _parse(response, EmFilesListResponse.from_dict).data

    def delete(self, filepath: str, pod_name: str | None = None) -> str:
        """Delete a file or folder of a volume; returns the server's message.

        Raises:
            BadRequestError: The deletion failed (e.g. no such file in that volume).
        """
        body = EmDeleteRequest(
            filepath=require_str("filepath", filepath), pod_name=_pod_arg(pod_name)
        )
        response = self._call(em_files_delete_create._get_kwargs(body=body))
        return _parse(response, EmMessage.from_dict).message

    # -- images -----------------------------------------------------------------------------

    def image_build(
        self, dockerfile: str, image: str, context: str = ".", pod_name: str | None = None
    ) -> str:
        """Build an image from a Dockerfile and context in a volume; returns the message.

        The server stores it as `<username>-<image>`.

        Raises:
            BuildFailedError: The build failed; see its `log_tail`.
        """
        body = EmImageBuildRequest(
            dockerfile=require_str("dockerfile", dockerfile),
            image=require_str("image", image),
            context=require_str("context", context),
            pod_name=_pod_arg(pod_name),
        )
        response = self._call(em_pod_image_build_create._get_kwargs(body=body))
        return _parse(response, EmMessage.from_dict).message

    def image_load(self, tarfile: str, image: str, pod_name: str | None = None) -> str:
        """Load a `docker save` tar of a volume as `image`; returns the message.

        Raises:
            ImageLoadFailedError: The load failed; see its `log_tail`.
        """
        body = EmImageLoadRequest(
            tarfile=require_str("tarfile", tarfile),
            image=require_str("image", image),
            pod_name=_pod_arg(pod_name),
        )
        response = self._call(em_pod_image_load_create._get_kwargs(body=body))
        return _parse(response, EmMessage.from_dict).message

    def image_list(self) -> list[str]:
        """The user's own built and loaded images (public images are not listed)."""
        response = self._call(em_pod_image_list_list._get_kwargs())
        return _parse(response, EmImageListResponse.from_dict).data

    # -- pods -------------------------------------------------------------------------------

    def namespace_create(self) -> str:
        """Create the user's private namespace (for pods that talk to each other)."""
        response = self._call(em_pod_namespace_create_create._get_kwargs())
        return _parse(response, EmMessage.from_dict).message

    def run(
        self,
        image: str,
        node: str | EmNodeType = "FPGA",
        max_duration: int = 1,
        command: str | None = None,
        scheduled_time: datetime | str | None = None,
        pod_name: str | None = None,
        ports: Sequence[int] | None = None,
        namespace: bool = False,
        args: Sequence[str] | None = None,
        envs: Mapping[str, Any] | None = None,
    ) -> str:
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
            namespace: Run inside the user's private namespace.
            args: Arguments of the command.
            envs: Environment variables; values are sent as strings.

        Raises:
            ValidationError: An invalid argument (nothing is sent).
        """
        body = EmRunRequest(
            image=require_str("image", image),
            max_duration=check_max_duration(max_duration),
            node=check_node(node),
            scheduled_time=check_scheduled_time(scheduled_time),
            command=UNSET if command is None or command == "" else require_str("command", command),
            args=check_args(args),
            envs=check_envs(envs),
            ports=check_ports(ports),
            namespace=bool(namespace),
            pod_name=_pod_arg(pod_name),
        )
        response = self._call(em_pod_run_create._get_kwargs(body=body))
        return _parse(response, EmMessage.from_dict).message

    def pod_status(self, pod_name: str | None = None) -> PodState:
        """A pod's current state: waiting (with its reason), running or terminated."""
        response = self._call(em_pod_status_list._get_kwargs(pod_name=_pod_arg(pod_name)))
        parsed = _parse(response, EmPodStatusResponse.from_dict)
        return PodState.from_state(parsed.data.state.to_dict())

    def wait_for_pod(
        self,
        pod_name: str | None = None,
        until: str = "running",
        timeout: float | None = None,
        poll_interval: float | None = None,
    ) -> PodState:
        """Poll a pod until it runs (`until="running"`) or has finished (`"terminated"`).

        A pod that already finished also satisfies `"running"`. A pod not found yet (e.g.
        scheduled for later) is polled again.

        Args:
            pod_name: The pod (None: the default pod).
            until: `running` or `terminated`.
            timeout: Seconds to wait in all (default 300).
            poll_interval: Seconds between polls (default 2).

        Returns:
            The state reached.

        Raises:
            PodFailedError: The pod is waiting for a reason it will not recover from
                (e.g. `ImagePullBackOff`); the message names the reason.
            WaitTimeoutError: The time ran out; the message names the last state.
        """
        checked = validate_pod_name(pod_name)
        if until not in _UNTIL:
            raise ValidationError(f"Invalid until {until!r}: use 'running' or 'terminated'.")
        timeout = DEFAULT_WAIT_TIMEOUT if timeout is None else timeout
        interval = DEFAULT_POLL_INTERVAL if poll_interval is None else poll_interval
        deadline = self._clock() + timeout
        label = f"Pod {checked!r}" if checked else "The default pod"
        state: PodState | None = None
        while True:
            try:
                state = self.pod_status(checked)
            except NotFoundError:
                state = None
            if state is not None:
                if state.kind == "terminated" or (state.kind == until):
                    return state
                if state.kind == "waiting" and state.reason in FATAL_WAITING_REASONS:
                    detail = f": {state.message}" if state.message else ""
                    raise PodFailedError(
                        f"{label} cannot start: {state.reason}{detail}",
                        pod_name=checked,
                        state=state,
                    )
            remaining = deadline - self._clock()
            if remaining <= 0:
                seen: str = "not found" if state is None else state.kind
                if state is not None and state.reason:
                    seen += f" ({state.reason})"
                raise WaitTimeoutError(
                    f"{label} is not {until} after {timeout:g} s; last seen: {seen}.",
                    pod_name=checked,
                    state=state,
                )
            self._sleep(min(interval, remaining))

    def nodes_status(self) -> list[NodeStatus]:
        """The CG2 nodes and whether each can take a pod."""
        response = self._call(em_nodes_status_list._get_kwargs())
        parsed = _parse(response, EmNodesStatusResponse.from_dict)
        return [
            NodeStatus(name=n.name, ready=n.status.strip().lower() == "true", status=n.status)
            for n in parsed.data
        ]
