"""Transfer progress: one implementation for the library and the CLI.

A `Progress` counts the bytes of one transfer (uplink or downlink) and reports them to a
callback `(done, total)` and/or a bar. Bars come from `tqdm.auto`: a text bar on a terminal,
a widget in a notebook. They show bytes, rate and time left in IEC units (KiB, MiB, GiB:
powers of 1024, labelled as such; tqdm's own scaling would print `kB` for 1024 bytes and
rates in powers of 1000).

Nothing heavy is imported here: tqdm is imported when a bar is first drawn, so that
`dphi-em --help` (whose commands import this module) never loads it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, MutableMapping
from typing import IO, Any

__all__ = ["Progress", "ProgressCallback", "format_bytes"]

#: Called with (bytes done, bytes in all) as a transfer progresses; `total` is 0 when unknown.
ProgressCallback = Callable[[int, int], None]

_IEC_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_BAR_FORMAT = (
    "{desc}: {percentage:3.0f}%|{bar}| {n_iec}/{total_iec} [{elapsed}<{remaining}, {rate_iec}]"
)


def format_bytes(count: float) -> str:
    """A byte count in IEC units: `512 B`, `4.88 KiB`, `12.3 MiB`, `1.00 GiB`.

    Three significant digits, as tqdm shows them; `KiB` and up mean powers of 1024.
    """
    if count < 1024:
        return f"{count:.0f} B"
    value = float(count)
    for unit in _IEC_UNITS:
        value /= 1024
        if value < 999.5 or unit == _IEC_UNITS[-1]:
            break
    if value < 9.995:
        return f"{value:.2f} {unit}"
    if value < 99.95:
        return f"{value:.1f} {unit}"
    return f"{value:.0f} {unit}"


@functools.cache
def _bar_class() -> type[Any]:
    """The bar class: `tqdm.auto.tqdm` with IEC byte counts and rate (imported on first use)."""
    from tqdm.auto import tqdm

    class IECBar(tqdm):  # type: ignore[type-arg]
        """A `tqdm.auto` bar whose counts and rate read in KiB/MiB/GiB."""

        @property
        def format_dict(self) -> MutableMapping[str, Any]:
            # Both the text bar (`__str__`) and the notebook widget (`display`) render
            # `format_meter(**self.format_dict)`; extra keys reach the `bar_format`.
            values = super().format_dict
            total = values.get("total")
            rate = values.get("rate")
            elapsed = values.get("elapsed") or 0
            if rate is None and elapsed:  # as tqdm does: the average so far
                rate = ((values.get("n") or 0) - (values.get("initial") or 0)) / elapsed
            values["n_iec"] = format_bytes(values.get("n") or 0)
            values["total_iec"] = format_bytes(total) if total else "?"
            values["rate_iec"] = f"{format_bytes(rate)}/s" if rate else "? B/s"
            return values

    return IECBar


class Progress:
    """Counts one transfer's bytes for a callback and/or a bar.

    A `Progress` is itself a `ProgressCallback`: calling it with `(done, total)` sets both,
    so one can report another transfer's counts (the CLI hands its bar to the library so).

    Args:
        total: Bytes in all (0 while unknown; see `set_total`).
        callback: Called with (done, total) after each change.
        bar: Draw a `tqdm.auto` bar (on stderr, or a notebook widget). It appears at the
            first report, so a transfer that fails before its first byte draws nothing.
        description: The bar's label.
        leave: Keep the finished bar on screen (the CLI clears it and prints a summary).
        file: Where a text bar is drawn (default: `sys.stderr` when the bar appears).
    """

    def __init__(
        self,
        total: int,
        callback: ProgressCallback | None,
        *,
        bar: bool,
        description: str,
        leave: bool = True,
        file: IO[str] | None = None,
    ) -> None:
        self.total = total
        self.done = 0
        self._callback = callback
        self._want_bar = bar
        self._description = description
        self._leave = leave
        self._file = file
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        """Take another transfer's report: set the total if it changed, then the bytes done."""
        if total != self.total:
            self.set_total(total)
        self.set(done)

    def _draw(self) -> Any:
        if self._bar is None and self._want_bar:
            self._bar = _bar_class()(
                total=self.total or None,
                initial=self.done,
                desc=self._description,
                unit="B",
                bar_format=_BAR_FORMAT,
                leave=self._leave,
                file=self._file,
                dynamic_ncols=True,
            )
        return self._bar

    def set_total(self, total: int) -> None:
        """Set the bytes in all once known (a download learns it from its headers)."""
        self.total = total
        bar = self._draw()
        if bar is not None and bar.total != (total or None):
            bar.total = total or None
            bar.refresh()

    def set(self, done: int) -> None:
        """Set the bytes done (a retried request starts again from its first byte)."""
        self.advance(done - self.done)

    def advance(self, count: int) -> None:
        """Count `count` more bytes (negative to go back)."""
        bar = self._draw()  # drawn first: it starts from the bytes done so far
        self.done += count
        if bar is not None:
            bar.update(count)
        if self._callback is not None:
            self._callback(self.done, self.total)

    def close(self) -> None:
        """Close the bar, if one was drawn (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._want_bar = False
