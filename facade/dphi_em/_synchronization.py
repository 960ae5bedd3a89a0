"""The paired primitives of the sync and async code: what `scripts/unasync.py` swaps.

`dphi_em._async` is written once for asyncio; `dphi_em._sync` is generated from it by token
replacement. What cannot be a token replacement is a pair here, the async one named
`Async...` or `a...`/`async_...` (the script maps each name to its twin):

- `AsyncInFlightGate` / `InFlightGate`: the one-request gate, a lock its owner task or
  thread may re-enter and anyone may release.
- `AsyncLock` / `Lock`: the token renewal lock.
- `as_async_stream` / `as_sync_stream`: a response body as the stream kind its reader needs.
- Sleeping is `_timing.asleep` / `_timing.sleep` (testing mode turns both off).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from . import _timing

__all__ = ["AsyncInFlightGate", "InFlightGate"]

logger = logging.getLogger("dphi_em")


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
