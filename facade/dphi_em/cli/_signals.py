"""SIGTERM and SIGHUP handled as Ctrl-C.

A CI runner cancelling a job sends SIGTERM (a closed terminal, SIGHUP). Python's default
for both is to die at once, leaving a transfer's hidden temporary file behind. While a
command runs, `termination_as_interrupt` turns them into `Terminated`, a `KeyboardInterrupt`,
so every cleanup that Ctrl-C runs (a downlink's temporary file removed, or kept when resume
can use it) runs for them too; the command then exits `128 + signal` (143, 129), as a shell
reports a process killed by that signal.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

__all__ = ["SIGNALS", "Terminated", "termination_as_interrupt", "termination_code"]

#: The signals handled like Ctrl-C (those this platform has).
SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Terminated(KeyboardInterrupt):
    """A SIGTERM or SIGHUP received while a command ran.

    Attributes:
        signum: The signal's number.
        exit_code: `128 + signum`.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def termination_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Terminated`; the previous handlers are
    restored after. Does nothing outside the main thread (where signals cannot be caught)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}
    try:
        for signum in SIGNALS:
            previous[signum] = signal.signal(signum, _raise_terminated)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def termination_code(exc: BaseException, code: int) -> int:
    """`code`, or `128 + signal` when `exc` is (or was raised while handling) `Terminated`
    (click turns a `KeyboardInterrupt` into `click.Abort`)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, Terminated):
            return current.exit_code
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return code
