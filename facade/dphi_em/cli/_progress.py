"""Byte progress bars for uplink and downlink: the library's `Progress`, drawn on stderr.

Bars are shown only when stderr is a terminal and neither ``--quiet`` nor ``--json`` was
given; otherwise the facade gets no callback at all. The bar is a `dphi_em._progress.Progress`
(itself a progress callback), so the CLI and the library draw the same bar; tqdm is imported
only when it is first drawn.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .._progress import Progress, ProgressCallback

if TYPE_CHECKING:
    from ._common import State


def bars_enabled(state: State) -> bool:
    """Whether to draw bars: not ``--quiet``, not ``--json``, and stderr is a terminal."""
    if state.quiet or state.json:
        return False
    stream = sys.stderr
    return stream is not None and stream.isatty()


@contextlib.contextmanager
def progress_for(state: State, description: str) -> Iterator[ProgressCallback | None]:
    """A progress callback for one transfer (a bar cleared when done), or None when bars are off."""
    if not bars_enabled(state):
        yield None
        return
    bar = Progress(0, None, bar=True, description=description, leave=False, file=sys.stderr)
    try:
        yield bar
    finally:
        bar.close()
