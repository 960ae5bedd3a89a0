"""One line on stderr for each retry the library makes (``EM busy (423), retry 2/7 in 1.5 s``).

The library logs every retry on the ``dphi_em`` logger at INFO with the record fields
``retry_attempt`` (the attempt to come, 1-based), ``retry_reason`` (``423 LOCKED`` or the
exception's class) and ``retry_delay`` (seconds). `RetryNotices` reads those fields only, so
nothing else from the record (no URL query, no header, no secret) reaches the terminal.
``--quiet`` silences the lines; under ``--debug`` the debug handler prints the records instead.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ._common import State

LOGGER_NAME = "dphi_em"
#: Errors after the request left (the library retries them for GET only).
_BROKEN = frozenset({"ReadError", "WriteError", "RemoteProtocolError", "ReadTimeout"})
#: On a terminal: back to the start of the line and clear it (a progress bar may be drawn).
_CLEAR_LINE = "\r\x1b[2K"


def retry_line(attempt: int, reason: str, delay: float, max_retries: int) -> str:
    """The line for one retry.

    Args:
        attempt: The attempt about to be made, 1-based (the second attempt is retry 1).
        reason: ``423 LOCKED`` or the class of the connection error.
        delay: Seconds before it.
        max_retries: Retries allowed in all (0 when unknown).

    Returns:
        E.g. ``EM busy (423), retry 2/7 in 1.5 s`` or
        ``EM unreachable (ConnectError), retry 1/7 in 0.2 s``.
    """
    if reason.startswith("423"):
        head = "EM busy (423)"
    elif reason[:3].isdigit():
        head = f"EM answered {reason}"
    elif reason in _BROKEN:
        head = f"connection to the EM lost ({reason})"
    else:
        head = f"EM unreachable ({reason})"
    retry = max(attempt - 1, 1)
    of = f"/{max_retries}" if max_retries >= retry else ""
    return f"{head}, retry {retry}{of} in {delay:.1f} s"


class RetryNotices(logging.Handler):
    """Prints `retry_line` for each retry record, unless ``--quiet`` or ``--debug``.

    Args:
        state: The run's state (read when a record arrives: the options are parsed by then).
    """

    def __init__(self, state: State) -> None:
        super().__init__(logging.INFO)
        self.state = state

    def emit(self, record: logging.LogRecord) -> None:
        attempt = getattr(record, "retry_attempt", None)
        reason = getattr(record, "retry_reason", None)
        delay = getattr(record, "retry_delay", None)
        if not isinstance(attempt, int) or not isinstance(delay, (int, float)):
            return
        if self.state.quiet or self.state.debug:
            return
        line = retry_line(attempt, str(reason or "error"), float(delay), self.state.max_retries)
        with contextlib.suppress(OSError, ValueError):  # stderr closed: retry regardless
            stream = sys.stderr
            prefix = _CLEAR_LINE if stream is not None and stream.isatty() else ""
            click.echo(prefix + line, err=True)


@contextmanager
def retry_notices(state: State) -> Iterator[RetryNotices]:
    """Attach a `RetryNotices` to the ``dphi_em`` logger (at least INFO) for one run."""
    logger = logging.getLogger(LOGGER_NAME)
    handler = RetryNotices(state)
    saved_level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)
