"""Byte progress bars for uplink and downlink (tqdm on stderr: bytes, rate, ETA).

Bars are shown only when stderr is a terminal and ``--quiet`` was not given; otherwise the
facade gets no callback at all. tqdm is imported only when a bar is actually drawn.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._common import State

#: The facade's progress hook: called with (bytes done, bytes in all).
ProgressCallback = Callable[[int, int], None]


def bars_enabled(state: State) -> bool:
    """Whether to draw bars: not ``--quiet``, not ``--json``, and stderr is a terminal."""
    if state.quiet or state.json:
        return False
    stream = sys.stderr
    return stream is not None and stream.isatty()


class ByteBar:
    """A tqdm bar created on the first report, so that its total is known.

    Args:
        description: The bar's label (``uplink``, ``downlink``).
    """

    def __init__(self, description: str) -> None:
        self._description = description
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total or None,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=self._description,
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )
        bar = self._bar
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)  # negative when a retried request starts again

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@contextlib.contextmanager
def progress_for(state: State, description: str) -> Iterator[ProgressCallback | None]:
    """A progress callback for one transfer, or None when bars are off."""
    if not bars_enabled(state):
        yield None
        return
    bar = ByteBar(description)
    try:
        yield bar
    finally:
        bar.close()
