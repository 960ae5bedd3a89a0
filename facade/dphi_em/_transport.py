"""The transport under every request: one request in flight, retries on 423 and on
connections that never carried the request.

`RetryTransport` wraps the real transport (`httpx.HTTPTransport`), so facade calls, token
calls and raw generated calls all get the same behaviour:

- **One in flight**: the EM serves one request at a time, so a client sends one at a time.
  The gate is taken before sending and released when the response body is closed (a
  streamed download holds it until the end). The same thread may re-enter.
- **423 LOCKED**: nothing was done, so the request is sent again after a capped exponential
  backoff with full jitter, or after the server's `Retry-After`, within a bounded number of
  attempts and a bounded total time. When they run out, the 423 is returned (and raised as
  `BusyError` by the facade).
- **Connection failures**: a request is sent again only when it certainly never left
  (`ConnectError`, `ConnectTimeout`, `PoolTimeout`). A read timeout or a broken connection
  after a `POST` is raised: the server may have started it (a `run` must not be scheduled
  twice). Idempotent methods (GET, HEAD) are also retried after a broken connection.

Request bodies are re-iterated on each attempt: file streams reopen their files.

`network_transport()` builds the real transport: httpx's, whose connections read the socket
`READ_SIZE` bytes at a time instead of httpcore's 64 KiB (a 1 GiB download then takes 1,024
trips through httpcore and httpx instead of 16,384; see `make bench`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import httpcore
import httpx

from ._errors import parse_retry_after

__all__ = [
    "READ_SIZE",
    "InFlightGate",
    "RetryPolicy",
    "RetryTransport",
    "WideReadBackend",
    "network_transport",
]

#: Most bytes taken from the socket in one read (httpcore asks for 64 KiB).
READ_SIZE = 1024 * 1024

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_IDEMPOTENT_BROKEN = (httpx.ReadError, httpx.RemoteProtocolError)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how long to retry a request that certainly did nothing.

    Attributes:
        max_attempts: Attempts in all, the first included (1 disables retries).
        initial_delay: Seconds before the first retry (before jitter).
        max_delay: Cap of one backoff delay, seconds.
        max_total: Give up when the next wait would end more than this many seconds after
            the first attempt.
        retry_locked: Retry `423 LOCKED`.
        retry_connect: Retry connection failures that happened before sending.
    """

    max_attempts: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    initial_delay: float = attrs.field(default=0.25, validator=attrs.validators.ge(0))
    max_delay: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))
    max_total: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))
    retry_locked: bool = True
    retry_connect: bool = True

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds before retry number `retry` (0-based): full jitter over a capped doubling."""
        return rand() * min(self.max_delay, self.initial_delay * 2.0**retry)


class InFlightGate:
    """A lock that its owner thread may re-enter and any thread may release."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        """Wait until no other thread has a request in flight, then take the gate."""
        me = threading.get_ident()
        with self._cond:
            while self._depth and self._owner != me:
                self._cond.wait()
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


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport with the gate and the retries described in the module docstring.

    Args:
        inner: The transport that talks to the network (closed with this one).
        policy: The retry policy; None never retries.
        sleep: Waits (tests replace it).
        clock: A monotonic clock (tests replace it).
        rand: A float in [0, 1) for the jitter (tests replace it).
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.inner = inner
        self.policy = policy if policy is not None else RetryPolicy.disabled()
        self.gate = InFlightGate()
        self._sleep = sleep
        self._clock = clock
        self._rand = rand

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, retrying as the policy allows; hold the gate until it is closed."""
        self.gate.acquire()
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
            last = retry + 1 >= policy.max_attempts
            try:
                response = self.inner.handle_request(request)
            except _NOT_SENT:
                delay = policy.backoff(retry, self._rand)
                if last or not policy.retry_connect or self._too_late(started, delay):
                    raise
            except _IDEMPOTENT_BROKEN:
                delay = policy.backoff(retry, self._rand)
                if (
                    last
                    or not policy.retry_connect
                    or request.method not in _IDEMPOTENT
                    or self._too_late(started, delay)
                ):
                    raise
            else:
                if response.status_code != 423 or last or not policy.retry_locked:
                    return response
                hint = parse_retry_after(response.headers.get("Retry-After"))
                delay = hint if hint is not None else policy.backoff(retry, self._rand)
                if self._too_late(started, delay):
                    return response
                response.read()
                response.close()
            self._sleep(delay)
            retry += 1

    def _too_late(self, started: float, delay: float) -> bool:
        return self._clock() + delay - started > self.policy.max_total

    def close(self) -> None:
        """Close the inner transport (its connection pool)."""
        self.inner.close()


def _as_sync(stream: Any) -> httpx.SyncByteStream:
    if isinstance(stream, httpx.SyncByteStream):
        return stream
    return httpx.ByteStream(b"".join(stream))


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


def network_transport(*, verify: Any = True) -> httpx.HTTPTransport:
    """httpx's transport, its connection pool on a `WideReadBackend`.

    httpx takes no network backend argument, so the pool's is swapped after construction;
    should a future httpx keep its pool elsewhere, this returns the plain transport.
    """
    transport = httpx.HTTPTransport(verify=verify)
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.ConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = WideReadBackend()
    return transport
