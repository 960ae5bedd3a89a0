"""The transports under every request: one request in flight, retries on 423 and on
connections that never carried the request; a sync and an async twin.

`RetryTransport` wraps the real transport (`httpx.HTTPTransport`) and `AsyncRetryTransport`
the async one (`httpx.AsyncHTTPTransport`), so facade calls, token calls and raw generated
calls all get the same behaviour:

- **One in flight**: the EM serves one request at a time, so a client sends one at a time.
  The gate is taken before sending and released when the response body is closed (a
  streamed download holds it until the end). The same thread (`InFlightGate`) or the same
  asyncio task (`AsyncInFlightGate`) may re-enter. A wait at the gate is logged (DEBUG).
- **Retries**: which failures are retried, after how long, and when to give up is decided
  by one pure function, `_retry.retry_delay` (423 with or without `Retry-After`, connection
  failures that certainly never sent, idempotent requests after a broken connection; bounded
  attempts and total time). When they run out, the 423 is returned (and raised as
  `BusyError` by the facade) or the exception raised. Each retry is logged (INFO).
- **Waiting** goes through `_timing` (`dphi_em.testing.set_testing` turns it off).
- **The bearer at send time**: before each attempt, the gate held, a request authorized by
  `TokenAuth` gets the access token current then (`TokenAuth.sync_bearer`, renewed first
  when it expired during a backoff), so a retry never re-sends a stale token.
- **A deadline per call**: a request that is not a transfer (the uplink and downlink paths,
  `TRANSFER_PATHS`) must be answered, body included, within `call_timeout` seconds
  (`DEFAULT_CALL_TIMEOUT`, retries and their waits included); every socket read and write
  waits at most what is left. Transfers are bounded by progress only: the read timeout
  between two reads, not a total.
- **Bounded answers**: a body is read into memory up to `MAX_ANSWER_BYTES` (16 MiB) plus
  one read at most, except a successful transfer's (a downlink's file is streamed to disk);
  a `gzip` or `deflate` answer is inflated here, to that limit, instead of by httpx.
  An answer cut there is longer than the limit, which the parsers refuse (`APIError`), and
  its connection is closed.
- **No leftovers**: a connection holding bytes after its response's end (a body longer than
  its `Content-Length`) is closed when the response is, never reused; those bytes would be
  taken for the next request's answer.
- **A connection dead before a byte was written** (the server closed a kept-alive
  connection, so the socket is readable before a new request starts) is dropped and the
  request sent on a new connection, whatever its method: nothing of it reached the server.
  This is decided just before the first byte of a request is written on a reused
  connection; a connection that breaks after that (while or after the request is written)
  is a `ReadError`/`RemoteProtocolError`, retried for idempotent methods only (`_retry`).

Request bodies are re-iterated on each attempt: file streams reopen their files.

`network_transport()` and `async_network_transport()` build the real transports: httpx's,
whose connections read the socket `READ_SIZE` bytes at a time instead of httpcore's 64 KiB
(a 1 GiB download then takes 1,024 trips through httpcore and httpx instead of 16,384; see
`make bench`). httpx takes no network-backend argument, so the pool's backend attribute
(`_network_backend`, httpcore 1.0) is wrapped after construction; tests fail if it moves.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import ssl
import threading
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpcore
import httpx

from . import _timing
from ._errors import MAX_ANSWER_BYTES, ValidationError
from ._retry import RetryPolicy, log_retry, retry_delay

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "READ_SIZE",
    "TRANSFER_PATHS",
    "AsyncInFlightGate",
    "AsyncRetryTransport",
    "AsyncWideReadBackend",
    "InFlightGate",
    "RetryPolicy",
    "RetryTransport",
    "WideReadBackend",
    "async_network_transport",
    "check_call_timeout",
    "environment_proxy",
    "is_transfer",
    "network_transport",
]

logger = logging.getLogger("dphi_em")

#: Most bytes taken from the socket in one read (httpcore asks for 64 KiB).
READ_SIZE = 1024 * 1024
#: Seconds a call that is not a transfer may take in all, answer included (10 minutes: an
#: image build answers when it is done).
DEFAULT_CALL_TIMEOUT = 600.0
#: Paths (under the base URL) whose calls are transfers: no total deadline, bodies streamed.
TRANSFER_PATHS = ("/em/files/uplink", "/em/files/downlink")

#: When the call being read or written must be done (monotonic seconds), or None.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "dphi_em_deadline", default=None
)


def is_transfer(request: httpx.Request) -> bool:
    """Whether `request` is an uplink or a downlink (`TRANSFER_PATHS`)."""
    return request.url.path.rstrip("/").endswith(TRANSFER_PATHS)


def check_call_timeout(value: float | None) -> float | None:
    """`call_timeout=` checked: positive seconds, or None for no total deadline.

    Raises:
        ValidationError: Not a positive number or None.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValidationError(
            f"call_timeout must be a positive number of seconds or None, got {value!r}."
        )
    return float(value)


def _label(request: httpx.Request) -> str:
    """`METHOD /path` for a log line (no query, no credentials)."""
    return f"{request.method} {request.url.path}"


# -- the one-request gate ---------------------------------------------------------------------


class InFlightGate:
    """A lock that its owner thread may re-enter and any thread may release."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0

    def acquire(self, label: str | None = None) -> None:
        """Wait until no other thread has a request in flight, then take the gate.

        Args:
            label: What waits (e.g. `GET /em/files/list`), for the DEBUG log line.
        """
        me = threading.get_ident()
        with self._cond:
            if self._depth and self._owner != me:
                started = _timing.monotonic()
                logger.debug("%s waits for the request in flight", label or "a request")
                while self._depth and self._owner != me:
                    self._cond.wait()
                logger.debug(
                    "%s waited %.3f s for the request in flight",
                    label or "a request",
                    _timing.monotonic() - started,
                )
            self._owner = me
            self._depth += 1

    def release(self) -> None:
        """Give the gate back (once per `acquire`)."""
        with self._cond:
            if self._depth:
                self._depth -= 1
                if not self._depth:
                    self._owner = None
                    self._cond.notify()


class AsyncInFlightGate:
    """The asyncio twin of `InFlightGate`: its owner task may re-enter, anyone may release.

    Waiters are woken in the order they came. Nothing is bound to an event loop until a task
    has to wait, so the gate can be made outside a running loop.
    """

    def __init__(self) -> None:
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0
        self._waiters: list[asyncio.Future[None]] = []

    async def acquire(self, label: str | None = None) -> None:
        """Wait until no other task has a request in flight, then take the gate.

        Args:
            label: What waits (e.g. `GET /em/files/list`), for the DEBUG log line.
        """
        me = asyncio.current_task()
        if self._depth and self._owner is not me:
            started = _timing.monotonic()
            logger.debug("%s waits for the request in flight", label or "a request")
            loop = asyncio.get_running_loop()
            while self._depth and self._owner is not me:
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                finally:
                    self._waiters.remove(waiter)
            logger.debug(
                "%s waited %.3f s for the request in flight",
                label or "a request",
                _timing.monotonic() - started,
            )
        self._owner = me
        self._depth += 1

    def release(self) -> None:
        """Give the gate back (once per `acquire`); wakes the waiting tasks."""
        if not self._depth:
            return
        self._depth -= 1
        if not self._depth:
            self._owner = None
            # Wake all: the first in line takes the gate, the others wait again (a
            # cancelled waiter then cannot swallow the wake-up).
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)


class _Inflater:
    """A gzip or deflate decoder that never makes more than it is asked for."""

    def __init__(self, encoding: str) -> None:
        gzip = encoding in ("gzip", "x-gzip")
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
        self._raw_deflate_next = not gzip  # `deflate` is zlib-wrapped, or raw as some send it
        self.failed = False

    def feed(self, data: bytes, room: int) -> bytes:
        """At most `room` bytes decoded from `data` (b"" and `failed` when it is not)."""
        try:
            out = self._inflater.decompress(data, max(1, room))
        except zlib.error:
            if self._raw_deflate_next:
                self._raw_deflate_next = False
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(data, room)
            self.failed = True
            return b""
        self._raw_deflate_next = False
        return out


def _inflater_for(response: httpx.Response, limit: int | None) -> _Inflater | None:
    """For a bounded answer sent gzip or deflate: a bounded decoder, taking over from httpx's
    (which would inflate a small bomb into gigabytes before any limit is checked)."""
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if limit is None or encoding not in ("gzip", "x-gzip", "deflate"):
        return None
    del response.headers["Content-Encoding"]
    return _Inflater(encoding)


def _answer_limit(request: httpx.Request, response: httpx.Response) -> int | None:
    """Most body bytes read into memory: none for a successful transfer, else the limit."""
    if is_transfer(request) and response.is_success:
        return None
    return MAX_ANSWER_BYTES


class _GatedStream(httpx.SyncByteStream):
    """A response body read under its call's deadline, cut after `limit` bytes; when closed
    it drops a connection with leftovers and releases the gate (`on_close`)."""

    def __init__(
        self,
        stream: httpx.SyncByteStream,
        on_close: Callable[[], None] | None,
        *,
        deadline: float | None,
        limit: int | None,
        inflater: _Inflater | None = None,
    ) -> None:
        self._stream = stream
        self._on_close = on_close
        self._deadline = deadline
        self._limit = limit
        self._inflater = inflater

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._stream)
        size = 0
        while True:
            token = _deadline.set(self._deadline)
            try:
                chunk = next(chunks, None)
            finally:
                _deadline.reset(token)
            if chunk is None:
                return
            if self._inflater is not None and self._limit is not None:
                chunk = self._inflater.feed(chunk, self._limit - size + 1)
                if self._inflater.failed:
                    return  # not what it said it is: the answer ends here, unreadable
            yield chunk
            size += len(chunk)
            if self._limit is not None and size > self._limit:
                return  # the rest stays unread: closing drops the connection

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()


class _AsyncGatedStream(httpx.AsyncByteStream):
    """The async twin of `_GatedStream`."""

    def __init__(
        self,
        stream: httpx.AsyncByteStream,
        on_close: Callable[[], Awaitable[None]] | None,
        *,
        deadline: float | None,
        limit: int | None,
        inflater: _Inflater | None = None,
    ) -> None:
        self._stream = stream
        self._on_close = on_close
        self._deadline = deadline
        self._limit = limit
        self._inflater = inflater

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._stream.__aiter__()
        size = 0
        while True:
            token = _deadline.set(self._deadline)
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            finally:
                _deadline.reset(token)
            if self._inflater is not None and self._limit is not None:
                chunk = self._inflater.feed(chunk, self._limit - size + 1)
                if self._inflater.failed:
                    return
            yield chunk
            size += len(chunk)
            if self._limit is not None and size > self._limit:
                return

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                await on_close()


def _h11_state(connection: Any) -> Any:
    """The `h11.Connection` under an httpcore pool connection (None: not HTTP/1.1)."""
    for _ in range(4):  # HTTPConnection -> HTTP11Connection (-> more behind a proxy)
        state = getattr(connection, "_h11_state", None)
        if state is not None:
            return state
        connection = getattr(connection, "_connection", None)
        if connection is None:
            return None
    return None


def _connections_with_leftovers(transport: Any) -> list[Any]:
    """The idle pooled connections of `transport` holding bytes past their last response.

    Reads httpcore 1.0's pool (`_pool.connections`) and h11's `trailing_data`;
    `tests/faults/test_client_holes.py` fails if they move.
    """
    pool = getattr(transport, "_pool", None)
    found = []
    for connection in list(getattr(pool, "connections", None) or ()):
        state = _h11_state(connection)
        leftover = getattr(state, "trailing_data", (b"", False))[0] if state else b""
        if leftover and connection.is_idle():
            found.append(connection)
    return found


# -- the retrying transports --------------------------------------------------------------------


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport with the gate and the retries described in the module docstring.

    Args:
        inner: The transport that talks to the network (closed with this one).
        policy: The retry policy; None never retries.
        sleep: Waits between attempts (default: `_timing.sleep`, off in testing mode).
        clock: A monotonic clock (default: `_timing.monotonic`).
        rand: A float in [0, 1) for the jitter.
        call_timeout: Seconds a call that is not a transfer may take in all (None: no
            total deadline).
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy | None,
        *,
        call_timeout: float | None = DEFAULT_CALL_TIMEOUT,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.inner = inner
        self.policy = policy if policy is not None else RetryPolicy.disabled()
        self.gate = InFlightGate()
        self.call_timeout = check_call_timeout(call_timeout)
        self._sleep = sleep if sleep is not None else _timing.sleep
        self._clock = clock if clock is not None else _timing.monotonic
        self._rand = rand

    def _deadline_of(self, request: httpx.Request) -> float | None:
        if self.call_timeout is None or is_transfer(request):
            return None
        return time.monotonic() + self.call_timeout

    def _outlasts(self, deadline: float | None, total: float) -> bool:
        """Whether a retry ending `total` seconds after the first attempt (on this
        transport's clock) would end after the call's deadline."""
        if deadline is None or self.call_timeout is None:
            return False
        return total > self.call_timeout or time.monotonic() >= deadline

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, retrying as the policy allows; hold the gate until it is closed."""
        self.gate.acquire(_label(request))
        try:
            response = self._send(request, self._deadline_of(request), self._closed)
        except BaseException:
            self.gate.release()
            raise
        return response

    def _closed(self) -> None:
        """A response was closed: drop a connection with leftovers, give the gate back."""
        try:
            self._drop_leftovers()
        finally:
            self.gate.release()

    def _drop_leftovers(self) -> None:
        for connection in _connections_with_leftovers(self.inner):
            logger.debug("closing a connection with bytes after its answer's end")
            connection.close()

    def _send(
        self,
        request: httpx.Request,
        deadline: float | None,
        on_close: Callable[[], None] | None,
    ) -> httpx.Response:
        """Send with retries, under `deadline`; the body bounded, `on_close` run at its end."""
        token = _deadline.set(deadline)
        try:
            response = self._send_with_retries(request, deadline)
        finally:
            _deadline.reset(token)
        if response.is_closed:  # a body read already (e.g. built in memory): nothing in flight
            if on_close is not None:
                on_close()
            return response
        limit = _answer_limit(request, response)
        response.stream = _GatedStream(
            _as_sync(response.stream),
            on_close if on_close is not None else self._drop_leftovers,
            deadline=deadline,
            limit=limit,
            inflater=_inflater_for(response, limit),
        )
        return response

    def _send_unauthorized(self, request: httpx.Request) -> httpx.Response:
        """Send a token call (refresh, login) while the gate is held by this caller."""
        response = self._send(request, self._deadline_of(request), None)
        response.request = request  # as httpx.Client sets it: errors name the call
        return response

    def _send_with_retries(self, request: httpx.Request, deadline: float | None) -> httpx.Response:
        policy = self.policy
        started = self._clock()
        retry = 0
        while True:
            outcome: httpx.Response | httpx.TransportError
            bearer: Any = request.extensions.get(_BEARER)
            if bearer is not None:
                bearer.sync_bearer(request, self._send_unauthorized)
            try:
                outcome = self.inner.handle_request(request)
            except httpx.TransportError as exc:
                outcome = exc
            elapsed = self._clock() - started
            delay = retry_delay(
                policy, request, outcome, retry=retry, elapsed=elapsed, rand=self._rand
            )
            if delay is not None and self._outlasts(deadline, elapsed + delay):
                delay = None  # the wait would outlast the call's deadline
            if delay is None:
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
            if isinstance(outcome, httpx.Response):
                _discard(outcome)
                self._drop_leftovers()
            log_retry(request, outcome, retry=retry, policy=policy, delay=delay)
            self._sleep(delay)
            retry += 1

    def close(self) -> None:
        """Close the inner transport (its connection pool)."""
        self.inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of `RetryTransport`: same gate, same decisions, awaited.

    Args:
        inner: The async transport that talks to the network (closed with this one).
        policy: The retry policy; None never retries.
        sleep: Awaited between attempts (default: `_timing.asleep`, off in testing mode).
        clock: A monotonic clock (default: `_timing.monotonic`).
        rand: A float in [0, 1) for the jitter.
        call_timeout: Seconds a call that is not a transfer may take in all (None: no
            total deadline).
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy | None,
        *,
        call_timeout: float | None = DEFAULT_CALL_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.inner = inner
        self.policy = policy if policy is not None else RetryPolicy.disabled()
        self.gate = AsyncInFlightGate()
        self.call_timeout = check_call_timeout(call_timeout)
        self._sleep = sleep if sleep is not None else _timing.asleep
        self._clock = clock if clock is not None else _timing.monotonic
        self._rand = rand

    def _deadline_of(self, request: httpx.Request) -> float | None:
        if self.call_timeout is None or is_transfer(request):
            return None
        return time.monotonic() + self.call_timeout

    def _outlasts(self, deadline: float | None, total: float) -> bool:
        """Whether a retry ending `total` seconds after the first attempt (on this
        transport's clock) would end after the call's deadline."""
        if deadline is None or self.call_timeout is None:
            return False
        return total > self.call_timeout or time.monotonic() >= deadline

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, retrying as the policy allows; hold the gate until it is closed."""
        await self.gate.acquire(_label(request))
        try:
            response = await self._send(request, self._deadline_of(request), self._closed)
        except BaseException:
            self.gate.release()
            raise
        return response

    async def _closed(self) -> None:
        try:
            await self._drop_leftovers()
        finally:
            self.gate.release()

    async def _drop_leftovers(self) -> None:
        for connection in _connections_with_leftovers(self.inner):
            logger.debug("closing a connection with bytes after its answer's end")
            await connection.aclose()

    async def _send(
        self,
        request: httpx.Request,
        deadline: float | None,
        on_close: Callable[[], Awaitable[None]] | None,
    ) -> httpx.Response:
        token = _deadline.set(deadline)
        try:
            response = await self._send_with_retries(request, deadline)
        finally:
            _deadline.reset(token)
        if response.is_closed:
            if on_close is not None:
                await on_close()
            return response
        limit = _answer_limit(request, response)
        response.stream = _AsyncGatedStream(
            _as_async(response.stream),
            on_close if on_close is not None else self._drop_leftovers,
            deadline=deadline,
            limit=limit,
            inflater=_inflater_for(response, limit),
        )
        return response

    async def _send_unauthorized(self, request: httpx.Request) -> httpx.Response:
        response = await self._send(request, self._deadline_of(request), None)
        response.request = request
        return response

    async def _send_with_retries(
        self, request: httpx.Request, deadline: float | None
    ) -> httpx.Response:
        policy = self.policy
        started = self._clock()
        retry = 0
        while True:
            outcome: httpx.Response | httpx.TransportError
            bearer: Any = request.extensions.get(_BEARER)
            if bearer is not None:
                await bearer.async_bearer(request, self._send_unauthorized)
            try:
                outcome = await self.inner.handle_async_request(request)
            except httpx.TransportError as exc:
                outcome = exc
            elapsed = self._clock() - started
            delay = retry_delay(
                policy, request, outcome, retry=retry, elapsed=elapsed, rand=self._rand
            )
            if delay is not None and self._outlasts(deadline, elapsed + delay):
                delay = None
            if delay is None:
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
            if isinstance(outcome, httpx.Response):
                await _adiscard(outcome)
                await self._drop_leftovers()
            log_retry(request, outcome, retry=retry, policy=policy, delay=delay)
            await self._sleep(delay)
            retry += 1

    async def aclose(self) -> None:
        """Close the inner transport (its connection pool)."""
        await self.inner.aclose()


#: `_auth.BEARER_EXTENSION` (not imported: `_auth` imports this module's gates).
_BEARER = "dphi_em.bearer"


def _discard(response: httpx.Response) -> None:
    """Read a response not returned (a 423 retried) up to the limit, then close it."""
    if response.is_closed:
        return
    try:
        size = 0
        for chunk in _as_sync(response.stream):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                break
    finally:
        response.close()


async def _adiscard(response: httpx.Response) -> None:
    """The async twin of `_discard`."""
    if response.is_closed:
        return
    try:
        size = 0
        async for chunk in _as_async(response.stream):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                break
    finally:
        await response.aclose()


def _as_sync(stream: Any) -> httpx.SyncByteStream:
    if isinstance(stream, httpx.SyncByteStream):
        return stream
    return httpx.ByteStream(b"".join(stream))


class _SyncAsAsync(httpx.AsyncByteStream):
    """A sync body (e.g. from a test handler) offered to async readers."""

    def __init__(self, stream: httpx.SyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        self._stream.close()


def _as_async(stream: Any) -> httpx.AsyncByteStream:
    if isinstance(stream, httpx.AsyncByteStream):
        return stream
    return _SyncAsAsync(_as_sync(stream))


# -- wide socket reads ------------------------------------------------------------------------


def _time_left(timeout: float | None, error: type[Exception]) -> tuple[float | None, bool]:
    """The timeout of one socket operation under the call's deadline, and whether the
    deadline is what limits it.

    Raises:
        error: The deadline passed already.
    """
    deadline = _deadline.get()
    if deadline is None:
        return timeout, False
    left = deadline - time.monotonic()
    if left <= 0:
        raise error(_DEADLINE_MESSAGE)
    if timeout is None or left < timeout:
        return left, True
    return timeout, False


_DEADLINE_MESSAGE = "the call took longer than its call_timeout"


class _RequestStart:
    """What a stream knows to tell a new request from the rest of one (`_WideReadStream`)."""

    __slots__ = ("reads", "writing")

    def __init__(self) -> None:
        self.reads = 0
        self.writing = False

    def starts(self) -> bool:
        """Whether a write now begins a request on a connection used before."""
        begins = not self.writing and self.reads > 0
        self.writing = True
        return begins

    def read(self) -> None:
        self.writing = False
        self.reads += 1


class _WideReadStream(httpcore.NetworkStream):
    """A network stream whose reads ask for at least `READ_SIZE` bytes, which waits no longer
    than the call's deadline, and which refuses to start a request on a dead connection."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self._start = _RequestStart()

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._start.read()
        timeout, limited = _time_left(timeout, httpcore.ReadTimeout)
        try:
            return self._inner.read(max(max_bytes, READ_SIZE), timeout)
        except httpcore.ReadTimeout:
            if limited:
                raise httpcore.ReadTimeout(_DEADLINE_MESSAGE) from None
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._start.starts() and self._inner.get_extra_info("is_readable"):
            # An idle connection is readable only when the server closed it (or sent what
            # nobody asked for): nothing of this request was written; httpcore's pool takes
            # another connection.
            logger.debug("a kept-alive connection was closed by the server; reconnecting")
            raise httpcore.ConnectionNotAvailable()
        timeout, limited = _time_left(timeout, httpcore.WriteTimeout)
        try:
            self._inner.write(buffer, timeout)
        except httpcore.WriteTimeout:
            if limited:
                raise httpcore.WriteTimeout(_DEADLINE_MESSAGE) from None
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _WideReadStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class WideReadBackend(httpcore.NetworkBackend):
    """httpcore's network backend, with streams that read `READ_SIZE` bytes at a time.

    A read returns what the socket holds, up to that size: small answers cost nothing more,
    large bodies arrive in up to 1 MiB pieces.

    Args:
        inner: The backend wrapped (default: `httpcore.SyncBackend()`).
    """

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        return _WideReadStream(
            self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _WideReadStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncWideReadStream(httpcore.AsyncNetworkStream):
    """The async twin of `_WideReadStream`."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._start = _RequestStart()

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._start.read()
        timeout, limited = _time_left(timeout, httpcore.ReadTimeout)
        try:
            return await self._inner.read(max(max_bytes, READ_SIZE), timeout)
        except httpcore.ReadTimeout:
            if limited:
                raise httpcore.ReadTimeout(_DEADLINE_MESSAGE) from None
            raise

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._start.starts() and self._inner.get_extra_info("is_readable"):
            logger.debug("a kept-alive connection was closed by the server; reconnecting")
            raise httpcore.ConnectionNotAvailable()
        timeout, limited = _time_left(timeout, httpcore.WriteTimeout)
        try:
            await self._inner.write(buffer, timeout)
        except httpcore.WriteTimeout:
            if limited:
                raise httpcore.WriteTimeout(_DEADLINE_MESSAGE) from None
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _AsyncWideReadStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class AsyncWideReadBackend(httpcore.AsyncNetworkBackend):
    """The async twin of `WideReadBackend`.

    Args:
        inner: The backend wrapped: the pool's own (httpcore's `AutoBackend`, which picks
            asyncio or trio at the first connection).
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _AsyncWideReadStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(path, timeout, socket_options)
        return _AsyncWideReadStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def environment_proxy(url: httpx.URL | str | None) -> str | None:
    """The proxy that `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` choose for
    `url`, as `httpx.Client` chooses it when it builds its own transports (None: direct).

    Uses httpx's own reading of the environment (`httpx._utils`), so the rules are httpx's
    exactly; should it move, no proxy is used (and `tests/faults/test_client_holes.py`
    fails).
    """
    if url is None:
        return None
    try:
        from httpx._utils import URLPattern, get_environment_proxies
    except ImportError:  # pragma: no cover - an httpx without them
        return None
    target = httpx.URL(str(url))
    patterns = sorted(
        ((URLPattern(key), proxy) for key, proxy in get_environment_proxies().items()),
        key=lambda item: item[0],
    )
    for pattern, proxy in patterns:
        if pattern.matches(target):
            return proxy
    return None


def _tls_verify(verify: Any, url: httpx.URL | str | None, proxy: Any) -> Any:
    """`verify` as given, except for a client that will never speak TLS.

    httpx builds a verifying SSL context, loading the whole CA bundle (about 50 ms, most of
    an `EMClient()`'s construction), even for an `http://` server. When neither the server
    nor its proxy is `https://`, the transport gets an SSL context without any CA instead:
    nothing is loaded, and a TLS connection through it (an absolute `https://` URL sent on
    `http_client`) fails verification rather than passing unverified.
    """
    if verify is not True or url is None:
        return verify
    proxy_url = getattr(proxy, "url", None)
    if httpx.URL(str(url)).scheme == "https" or (
        proxy_url is not None and httpx.URL(str(proxy_url)).scheme == "https"
    ):
        return verify
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, and trusts no CA


def network_transport(
    *, verify: Any = True, url: httpx.URL | str | None = None
) -> httpx.HTTPTransport:
    """httpx's transport, its connection pool on a `WideReadBackend`.

    httpx takes no network backend argument, so the pool's is wrapped after construction;
    should a future httpx or httpcore keep it elsewhere, this returns the plain transport
    (and `tests/unit/test_facade_transport.py` fails).

    Args:
        verify: TLS verification, as for httpx.
        url: The server address; the environment's proxy for it is used
            (`environment_proxy`), as httpx does for the transports it builds itself.
    """
    proxy = environment_proxy(url)
    transport = httpx.HTTPTransport(verify=_tls_verify(verify, url, proxy), proxy=proxy)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.ConnectionPool) and isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = WideReadBackend(backend)
    return transport


def async_network_transport(
    *, verify: Any = True, url: httpx.URL | str | None = None
) -> httpx.AsyncHTTPTransport:
    """httpx's async transport, its connection pool on an `AsyncWideReadBackend` over an
    `AsyncioSocketBackend` (`_aio_backend`: plain TCP on asyncio read straight from the
    socket, 1 MiB at a time; TLS, Unix sockets and trio on the pool's own backend).

    Same patch as `network_transport`, same fallback, same proxy choice, same tests.
    """
    proxy = environment_proxy(url)
    transport = httpx.AsyncHTTPTransport(verify=_tls_verify(verify, url, proxy), proxy=proxy)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and isinstance(
        backend, httpcore.AsyncNetworkBackend
    ):
        from ._aio_backend import AsyncioSocketBackend

        pool._network_backend = AsyncWideReadBackend(AsyncioSocketBackend(backend))
    return transport
