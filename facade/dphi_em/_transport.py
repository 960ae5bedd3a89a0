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

Request bodies are re-iterated on each attempt: file streams reopen their files.

`network_transport()` and `async_network_transport()` build the real transports: httpx's,
whose connections read the socket `READ_SIZE` bytes at a time instead of httpcore's 64 KiB
(a 1 GiB download then takes 1,024 trips through httpcore and httpx instead of 16,384; see
`make bench`). httpx takes no network-backend argument, so the pool's backend attribute
(`_network_backend`, httpcore 1.0) is wrapped after construction; tests fail if it moves.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpcore
import httpx

from . import _timing
from ._retry import RetryPolicy, log_retry, retry_delay

__all__ = [
    "READ_SIZE",
    "AsyncInFlightGate",
    "AsyncRetryTransport",
    "AsyncWideReadBackend",
    "InFlightGate",
    "RetryPolicy",
    "RetryTransport",
    "WideReadBackend",
    "async_network_transport",
    "network_transport",
]

logger = logging.getLogger("dphi_em")

#: Most bytes taken from the socket in one read (httpcore asks for 64 KiB).
READ_SIZE = 1024 * 1024


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


class _GatedStream(httpx.SyncByteStream):
    """A response body that releases the gate when closed."""

    def __init__(self, stream: httpx.SyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class _AsyncGatedStream(httpx.AsyncByteStream):
    """An async response body that releases the gate when closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


# -- the retrying transports --------------------------------------------------------------------


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport with the gate and the retries described in the module docstring.

    Args:
        inner: The transport that talks to the network (closed with this one).
        policy: The retry policy; None never retries.
        sleep: Waits between attempts (default: `_timing.sleep`, off in testing mode).
        clock: A monotonic clock (default: `_timing.monotonic`).
        rand: A float in [0, 1) for the jitter.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy | None,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.inner = inner
        self.policy = policy if policy is not None else RetryPolicy.disabled()
        self.gate = InFlightGate()
        self._sleep = sleep if sleep is not None else _timing.sleep
        self._clock = clock if clock is not None else _timing.monotonic
        self._rand = rand

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, retrying as the policy allows; hold the gate until it is closed."""
        self.gate.acquire(_label(request))
        try:
            response = self._send_with_retries(request)
        except BaseException:
            self.gate.release()
            raise
        if response.is_closed:  # a body read already (e.g. built in memory): nothing in flight
            self.gate.release()
        else:
            response.stream = _GatedStream(_as_sync(response.stream), self.gate.release)
        return response

    def _send_with_retries(self, request: httpx.Request) -> httpx.Response:
        policy = self.policy
        started = self._clock()
        retry = 0
        while True:
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = self.inner.handle_request(request)
            except httpx.TransportError as exc:
                outcome = exc
            elapsed = self._clock() - started
            delay = retry_delay(
                policy, request, outcome, retry=retry, elapsed=elapsed, rand=self._rand
            )
            if delay is None:
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
            if isinstance(outcome, httpx.Response):
                outcome.read()
                outcome.close()
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
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy | None,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.inner = inner
        self.policy = policy if policy is not None else RetryPolicy.disabled()
        self.gate = AsyncInFlightGate()
        self._sleep = sleep if sleep is not None else _timing.asleep
        self._clock = clock if clock is not None else _timing.monotonic
        self._rand = rand

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, retrying as the policy allows; hold the gate until it is closed."""
        await self.gate.acquire(_label(request))
        try:
            response = await self._send_with_retries(request)
        except BaseException:
            self.gate.release()
            raise
        if response.is_closed:
            self.gate.release()
        else:
            response.stream = _AsyncGatedStream(_as_async(response.stream), self.gate.release)
        return response

    async def _send_with_retries(self, request: httpx.Request) -> httpx.Response:
        policy = self.policy
        started = self._clock()
        retry = 0
        while True:
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = await self.inner.handle_async_request(request)
            except httpx.TransportError as exc:
                outcome = exc
            elapsed = self._clock() - started
            delay = retry_delay(
                policy, request, outcome, retry=retry, elapsed=elapsed, rand=self._rand
            )
            if delay is None:
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
            if isinstance(outcome, httpx.Response):
                await outcome.aread()
                await outcome.aclose()
            log_retry(request, outcome, retry=retry, policy=policy, delay=delay)
            await self._sleep(delay)
            retry += 1

    async def aclose(self) -> None:
        """Close the inner transport (its connection pool)."""
        await self.inner.aclose()


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


class _WideReadStream(httpcore.NetworkStream):
    """A network stream whose reads ask for at least `READ_SIZE` bytes."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max(max_bytes, READ_SIZE), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

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
    """An async network stream whose reads ask for at least `READ_SIZE` bytes."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max(max_bytes, READ_SIZE), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

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


def network_transport(*, verify: Any = True) -> httpx.HTTPTransport:
    """httpx's transport, its connection pool on a `WideReadBackend`.

    httpx takes no network backend argument, so the pool's is wrapped after construction;
    should a future httpx or httpcore keep it elsewhere, this returns the plain transport
    (and `tests/unit/test_facade_transport.py` fails).
    """
    transport = httpx.HTTPTransport(verify=verify)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.ConnectionPool) and isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = WideReadBackend(backend)
    return transport


def async_network_transport(*, verify: Any = True) -> httpx.AsyncHTTPTransport:
    """httpx's async transport, its connection pool on an `AsyncWideReadBackend`.

    Same patch as `network_transport`, same fallback, same tests.
    """
    transport = httpx.AsyncHTTPTransport(verify=verify)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and isinstance(
        backend, httpcore.AsyncNetworkBackend
    ):
        pool._network_backend = AsyncWideReadBackend(backend)
    return transport
