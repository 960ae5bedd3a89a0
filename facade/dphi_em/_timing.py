"""Clocks and sleeping, in one place, so tests can turn real sleeping off.

Retry backoffs (`_async._transport`) and pod polling (`wait_for_pod`) sleep through `sleep` and
`asleep`. While testing mode is on (`dphi_em.testing.set_testing`), they return at once:
the waits are still decided and counted (attempts, log records), only not slept. They yield
the GIL (`time.sleep(0)`) or the event loop (`asyncio.sleep(0)`) so that a polling loop
still lets others run. `monotonic` is the real monotonic clock in both modes, so timeouts
keep meaning wall-clock seconds.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["asleep", "is_testing", "monotonic", "set_testing", "sleep"]

_testing = False


def set_testing(enabled: bool) -> None:
    """Turn testing mode (no real sleeping) on or off, process-wide."""
    global _testing  # one process-wide switch, like stamina's
    _testing = bool(enabled)


def is_testing() -> bool:
    """Whether testing mode is on."""
    return _testing


def monotonic() -> float:
    """The monotonic clock, in seconds."""
    return time.monotonic()


def sleep(seconds: float) -> None:
    """Block for `seconds` (not at all in testing mode)."""
    time.sleep(0.0 if _testing else max(0.0, seconds))


async def asleep(seconds: float) -> None:
    """Suspend the task for `seconds` (not at all in testing mode)."""
    await asyncio.sleep(0.0 if _testing else max(0.0, seconds))
