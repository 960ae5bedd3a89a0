"""The paired primitives of the sync and async code: what `scripts/unasync.py` swaps.

`dphi_em._async` is written once for asyncio; `dphi_em._sync` is generated from it by token
replacement. What cannot be a token replacement is a pair here, the async one named
`Async...` or `a...`/`async_...` (the script maps each name to its twin):

- `AsyncInFlightGate` / `InFlightGate`: the one-request gate, a lock its owner task or
  thread may re-enter and anyone may release.
- `AsyncLock` / `Lock`: the token renewal lock.
- `as_async_stream` / `as_sync_stream`: a response body as the stream kind its reader needs.
- `async_in_thread` / `sync_in_thread`: blocking work (walking, hashing, deleting a tree,
  parsing a big answer) off the event loop, in a worker thread; the sync side calls it in
  place.
- Sleeping is `_timing.asleep` / `_timing.sleep` (testing mode turns both off).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ParamSpec, Protocol, TypeVar

import httpx

from . import _timing

__all__ = [
    "AsyncInFlightGate",
    "AsyncLock",
    "InFlightGate",
    "Lock",
    "Releasable",
    "as_async_stream",
    "as_sync_stream",
    "async_in_thread",
    "sync_in_thread",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

logger = logging.getLogger("dphi_em")


@contextlib.contextmanager
def _logged_wait(label: str | None) -> Iterator[None]:
    """Log (DEBUG) that `label` waits at the gate, and, once through, for how long."""
    started = _timing.monotonic()
    logger.debug("%s waits for the request in flight", label or "a request")
    yield
    logger.debug(
        "%s waited %.3f s for the request in flight",
        label or "a request",
        _timing.monotonic() - started,
    )


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
                with _logged_wait(label):
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
            with _logged_wait(label):
                loop = asyncio.get_running_loop()
                while self._depth and self._owner is not me:
                    waiter: asyncio.Future[None] = loop.create_future()
                    self._waiters.append(waiter)
                    try:
                        await waiter
                    finally:
                        self._waiters.remove(waiter)
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


class Releasable(Protocol):
    """What `Lock.acquire` and `AsyncLock.acquire` return: the lock taken, to release."""

    def release(self) -> None:
        """Give the lock back."""


class Lock:
    """A `threading.Lock` whose `acquire` returns what to release (as `AsyncLock`'s)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self) -> Releasable:
        """Wait for the lock and take it."""
        self._lock.acquire()
        return self._lock

    def locked(self) -> bool:
        """Whether some thread holds the lock."""
        return self._lock.locked()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


class AsyncLock:
    """An `asyncio.Lock` made on first use (no loop is needed to build it) and remade on a
    new event loop; `acquire` returns the lock it took, to release."""

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def acquire(self) -> Releasable:
        """Wait for the lock (of the running loop) and take it."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock = asyncio.Lock()
            self._loop = loop
        lock = self._lock
        await lock.acquire()
        return lock


def as_sync_stream(stream: Any) -> httpx.SyncByteStream:
    """A response body for sync readers (one in memory is wrapped)."""
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


def as_async_stream(stream: Any) -> httpx.AsyncByteStream:
    """A response body for async readers (a sync one, e.g. from a test handler, is wrapped)."""
    if isinstance(stream, httpx.AsyncByteStream):
        return stream
    return _SyncAsAsync(as_sync_stream(stream))


async def async_in_thread(func: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """`func(*args, **kwargs)` in a worker thread, so that the event loop keeps running."""
    return await asyncio.to_thread(func, *args, **kwargs)


def sync_in_thread(func: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """`func(*args, **kwargs)`, here: the sync twin of `async_in_thread`."""
    return func(*args, **kwargs)
