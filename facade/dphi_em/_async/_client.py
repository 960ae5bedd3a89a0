"""`AsyncEMClient`: the client of the EM API (asyncio).

The client owns one `httpx.AsyncClient` (keep-alive connections) wired with the token flow
(`_auth.TokenAuth`) and the gated, retrying transport (`_transport.AsyncRetryTransport`).
The generated client (`raw`) uses the same `httpx.AsyncClient`, so raw calls share auth,
timeouts, retries and the one-request-in-flight gate. Each method is one operation of the
table (`_operations`), made by `_driven` from the operation (its parameters, checks and doc)
and a driver (`_call` for a plain call); the token flow, retry decisions, upload stream,
download target and pod-wait decisions are shared (`_base`, `_auth`, `_retry`, `_uplink`,
`_download`, `_waiting`): this module adds only the loops.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from .. import (
    _aio_imports,  # noqa: F401 (loaded now, not by the first call in the loop)
    _timing,
)
from .. import _operations as ops
from .._base import USER_AGENT, ClientBase, RetryArg
from .._config import DEFAULT_TIMEOUT, MAX_UPLINK_BYTES, PARSE_IN_THREAD_BYTES
from .._download import DownloadTarget, afeed_download, resume_key
from .._errors import NotFoundError, map_transport_errors, raise_for_response
from .._generated import Client, async_raw_client, parse_uplink_count
from .._models import PodState, UplinkResult
from .._operations import ProgressArg
from .._progress import Progress, ProgressCallback
from .._retry import RetryPolicy
from .._revision import ApiRevision
from .._synchronization import async_in_thread
from .._transports._bounds import DEFAULT_CALL_TIMEOUT
from .._transports._calls import RequestUrls, cut_cookie_cost
from .._transports._network import async_network_transport
from .._treesync import (
    DownlinkResult,
    FetchItem,
    SyncResult,
    plan_folder_downlink,
)
from .._uplink import UplinkFile
from .._waiting import PodWait
from ._closing import AsyncClosing
from ._pod import AsyncPod
from ._transport import AsyncRetryTransport

__all__ = ["AsyncEMClient"]

_T = TypeVar("_T")
_C = TypeVar("_C")
_P = ParamSpec("_P")


def _driven(
    func: Callable[_P, _C], drive: Callable[[AsyncEMClient, _C], Coroutine[Any, Any, _T]]
) -> Callable[Concatenate[AsyncEMClient, _P], Coroutine[Any, Any, _T]]:
    """The client method of the operation `func`: `func` checks the arguments and prepares the
    call, `drive` makes it (`_call` for a plain call). The method has the operation's name,
    parameters and doc (`ops.surface_method`), so it is typed, checked and documented once."""
    method: Callable[Concatenate[AsyncEMClient, _P], Coroutine[Any, Any, _T]]
    method = ops.surface_method(func, drive)
    return method


class AsyncEMClient(ClientBase, AsyncClosing):
    """A client of the CG2 EM API (asyncio).

    Configuration is resolved from the arguments, else the environment (`DPHI_EM_URL`,
    `DPHI_EM_USERNAME`, `DPHI_EM_PASSWORD`), else what `dphi-em login --save` saved, else
    the default address `http://localhost:8000/`. Missing credentials fail at the first
    call that needs them. Use it as a context manager, or call `aclose()`; a closed client
    cannot be reused. Concurrent tasks may share one client: token renewals are made once
    for all, and requests go one at a time (the EM serves one).

    Args:
        base_url: The server address.
        username: The user name.
        password: The password.
        timeout: Seconds, or an `httpx.Timeout`, for each request.
        retry: A `RetryPolicy`; True (the default policy); False or None: no retries.
        progress: Show a progress bar for transfers (True) or call `callback(done, total)`.
        max_uplink_bytes: Most file bytes in one uplink call; larger sets are split.
        transport: The transport to the network (tests use `httpx.MockTransport`).
        verify: TLS verification, as for `httpx.AsyncClient`.
        api: Pin the EM API revision, `"2025-11"` or `"2026-01"`; None (the default) finds
            out from the server, once, and works with either (see the README).
        call_timeout: Seconds a call other than a transfer may take in all, retries and
            the answer's body included (default 600); None: no total deadline. Uplinks and
            downlinks are bounded by progress (`timeout` between two reads) instead.
    """

    _kind = "AsyncEMClient"

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
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | str = True,
        api: ApiRevision | None = None,
        call_timeout: float | None = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        super().__init__(
            base_url,
            username,
            password,
            timeout=timeout,
            retry=retry,
            progress=progress,
            max_uplink_bytes=max_uplink_bytes,
            api=api,
        )
        inner = (
            transport
            if transport is not None
            else async_network_transport(verify=verify, url=self._base_url)
        )
        self._transport = AsyncRetryTransport(inner, self._policy, call_timeout=call_timeout)
        self._auth.use_gate(self._transport.gate)
        self._http = httpx.AsyncClient(
            base_url=self._base_url,
            auth=self._auth,
            timeout=self._timeout,
            transport=self._transport,
            headers={"User-Agent": USER_AGENT},
        )
        cut_cookie_cost(self._http)
        self._urls = RequestUrls()
        self._raw: Client | None = None

    # -- life cycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections. The client cannot be used afterwards (closing twice is fine)."""
        if self._mark_closed():
            await self._http.aclose()

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in use."""
        return self._transport.policy

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The `httpx.AsyncClient` the facade and `raw` share (auth, timeouts, retries)."""
        self._check_open()
        return self._http

    @property
    def raw(self) -> Client:
        """The generated client (`em_api_client.Client`) on the shared `httpx.AsyncClient`.

        Its `asyncio` and `asyncio_detailed` calls share the facade's tokens, timeouts,
        retries and one-request-at-a-time gate; the other calls raise `ConfigurationError`.

        Example:
            `await em_pod_status_list.asyncio_detailed(client=em.raw, pod_name="pod-a")`
        """
        self._check_open()
        if self._raw is None:
            self._raw = async_raw_client(self._base_url, self._http)
        return self._raw

    def pod(self, name: str) -> AsyncPod:
        """A handle bound to one pod name (and its volume).

        Raises:
            ValidationError: An invalid pod name.
        """
        return AsyncPod(self, name)

    # -- the loops --------------------------------------------------------------------------

    async def _send(self, request: dict[str, Any]) -> httpx.Response:
        with map_transport_errors():
            return await self._http.send(self._urls.build(self._http, request))

    async def _call(self, prepared: ops.Prepared[_T]) -> _T:
        self._check_open()
        revision = self._revision
        for feature in prepared.requires:  # what only one revision has: learn, then check
            probe = revision.probe(feature)
            if probe is not None:
                answer = await self._send(probe)
                revision.learn(feature, answer)
                if answer.status_code not in (404, 405):
                    raise_for_response(answer)
            revision.require(feature, prepared.what)
        if prepared.post is None:
            response = await self._send(prepared.request)
        else:  # read-only: the form the server takes; a 405 to GET teaches POST
            response = await self._send(revision.read_form(prepared.request, prepared.post))
            if revision.retry_as_post(response):
                response = await self._send(prepared.post)
        raise_for_response(response)
        if len(response.content) > PARSE_IN_THREAD_BYTES:  # not in the loop: a big listing
            return await async_in_thread(prepared.parse, response)
        return prepared.parse(response)

    async def _login(self, _: None) -> None:
        self._check_open()
        template = self._http.build_request("POST", "auth/")

        async def send(request: httpx.Request) -> httpx.Response:
            return await self._http.send(request, auth=None)

        with map_transport_errors():
            await self._auth.alogin(send, template)

    get_token = _driven(ops.get_token, _login)

    async def _uplink(self, call: ops.UplinkCall) -> UplinkResult:
        return await self._send_batches(self._plan_uplink(call), call.pod_name, call.progress)

    uplink = _driven(ops.uplink, _uplink)

    async def _send_batches(
        self, batches: list[list[UplinkFile]], pod_name: str | None, progress: ProgressArg
    ) -> UplinkResult:
        self._check_open()
        total = sum(item.size for batch in batches for item in batch)
        reporter = self._progress_for(progress, total, "uplink")
        file_count = 0
        try:
            for batch in self._uplink_batches(batches, pod_name, reporter):
                request = self._http.build_request(**self._urls.resolve(self._http, batch.request))
                request = batch.stream.attach(request)
                with map_transport_errors():
                    response = await self._http.send(request)
                raise_for_response(response)
                file_count += parse_uplink_count(response)
        finally:
            if reporter is not None:
                reporter.close()
        return self._uplink_result(batches, file_count)

    async def _downlink(self, call: ops.DownlinkCall) -> Path:
        self._check_open()
        reporter = self._progress_for(call.progress, 0, "downlink")
        try:
            return await self._fetch(
                call.request,
                call.filepath,
                Path(call.folder),
                call.pod_name,
                overwrite=call.overwrite,
                reporter=reporter,
            )
        finally:
            if reporter is not None:
                reporter.close()

    downlink = _driven(ops.downlink, _downlink)

    async def _fetch(
        self,
        request: dict[str, Any],
        filepath: str,
        folder: Path,
        pod_name: str | None,
        *,
        overwrite: bool,
        reporter: Progress | None,
        name: str | None = None,
    ) -> Path:
        """One file's downlink, resumed from a kept partial file when it can be."""
        key = resume_key(str(self._base_url), pod_name, filepath)
        with DownloadTarget(
            folder,
            filepath,
            overwrite=overwrite,
            progress=reporter,
            resume_key=key,
            name=name,
            own_total=name is None,
        ) as target:
            headers = target.resume_headers()
            while True:
                sent = {**request, "headers": {**request.get("headers", {}), **headers}}
                with map_transport_errors():
                    built = self._http.build_request(**sent)
                    response = await self._http.send(built, stream=True)
                    try:
                        if headers and target.restart(response):  # the partial is no use
                            target.discard_partial()
                            headers = {}
                            continue
                        if response.is_error:
                            await response.aread()
                        raise_for_response(response)
                        folder.mkdir(parents=True, exist_ok=True)
                        return await afeed_download(target, response)
                    finally:
                        await response.aclose()

    async def _fetch_all(
        self,
        items: Sequence[FetchItem],
        pod_name: str | None,
        overwrite: bool,
        progress: ProgressArg,
    ) -> list[Path]:
        reporter = self._progress_for(progress, sum(item.size for item in items), "downlink")
        try:
            return [
                await self._fetch(
                    ops.downlink_request(item.filepath, pod_name),
                    item.filepath,
                    item.folder,
                    pod_name,
                    overwrite=overwrite,
                    reporter=reporter,
                    name=item.name,
                )
                for item in items
            ]
        finally:
            if reporter is not None:
                reporter.close()

    async def _downlink_folder(self, call: ops.FolderCall) -> DownlinkResult:
        tree = await self.files_list(call.pod_name)
        base, items = await async_in_thread(
            plan_folder_downlink, call.folder, call.local_dir, tree, overwrite=call.overwrite
        )
        await async_in_thread(base.mkdir, parents=True, exist_ok=True)
        paths = await self._fetch_all(items, call.pod_name, call.overwrite, call.progress)
        return DownlinkResult(
            local_dir=base,
            files=tuple(paths),
            total_bytes=sum(item.size for item in items),
            calls=len(items),
        )

    downlink_folder = _driven(ops.downlink_folder, _downlink_folder)

    async def _sync_up(self, call: ops.SyncCall) -> SyncResult:
        tree = await self.files_list(call.pod_name)
        job = await async_in_thread(call.plan, tree, str(self._base_url), self._max_uplink_bytes)
        calls = 0
        if not call.dry_run:
            if job.batches:
                sent = await self._send_batches(job.batches, call.pod_name, call.progress)
                calls += sent.calls
            for path in job.remote_deletes:
                await self.delete(path, call.pod_name)
                calls += 1
            after = await self.files_list(call.pod_name) if job.batches else None
            await async_in_thread(job.finish, after)
        return job.result(calls)

    sync_up = _driven(ops.sync_up, _sync_up)

    async def _sync_down(self, call: ops.SyncCall) -> SyncResult:
        tree = await self.files_list(call.pod_name)
        job = await async_in_thread(call.plan, tree, str(self._base_url), self._max_uplink_bytes)
        if call.dry_run:
            return job.result(0)
        await async_in_thread(call.local_dir.mkdir, parents=True, exist_ok=True)
        await self._fetch_all(job.fetches, call.pod_name, True, call.progress)
        await async_in_thread(job.delete_local)
        await async_in_thread(job.finish)
        return job.result(len(job.fetches))

    sync_down = _driven(ops.sync_down, _sync_down)

    # the plain calls: what the table prepares, sent by `_call`
    files_list = _driven(ops.files_list, _call)
    delete = _driven(ops.delete, _call)
    image_build = _driven(ops.image_build, _call)
    image_load = _driven(ops.image_load, _call)
    image_list = _driven(ops.image_list, _call)
    namespace_create = _driven(ops.namespace_create, _call)
    run = _driven(ops.run, _call)
    pod_status = _driven(ops.pod_status, _call)
    pod_logs = _driven(ops.pod_logs, _call)

    async def _wait(self, wait: PodWait) -> PodState:
        wait.start()
        while True:
            try:
                state: PodState | None = await self.pod_status(wait.pod_name)
            except NotFoundError:
                state = None
            done = wait.observe(state)
            if done is not None:
                return done
            await _timing.asleep(wait.next_delay())

    wait_for_pod = _driven(ops.wait_for_pod, _wait)

    volumes = _driven(ops.volumes, _call)
    delete_volume = _driven(ops.delete_volume, _call)
    nodes_status = _driven(ops.nodes_status, _call)
