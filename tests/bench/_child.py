"""What every measured child process shares: memory readings, the timed region, the report.

A child runs exactly one client, once. Its imports happen before the timed region; right
before it, the child resets its peak RSS (`/proc/self/clear_refs`, where allowed) and reads
`VmRSS`; right after it, `VmHWM`. It prints one JSON line on stdout (see `measure`).
Standard library only: importing this costs the child nothing measurable.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import json
import pstats
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["ameasure", "emit", "measure", "status_kib"]

#: Lines of the cProfile summary kept (sorted by cumulative time).
PROFILE_LINES = 15
#: Lines of the second summary (sorted by time spent in the function itself).
TOTTIME_LINES = 8


def status_kib(field: str) -> int:
    """A `kB` field of `/proc/self/status` (e.g. `VmRSS`, `VmHWM`), in KiB; -1 if absent."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def _reset_peak() -> bool:
    """Reset `VmHWM` to the current RSS (Linux >= 4.0); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def _profile_summary(profile: cProfile.Profile) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(PROFILE_LINES)
    cumulative = _table(out.getvalue())
    out.seek(0)
    out.truncate()
    stats.sort_stats("tottime").print_stats(TOTTIME_LINES)
    own = _table(out.getvalue())
    return "\n".join(
        [
            *cumulative,
            f"-- the same, top {TOTTIME_LINES} by own time (tottime):",
            *own[1:],
        ]
    )


def _table(text: str) -> list[str]:
    """`N function calls ... in S seconds`, then the table from its column header on."""
    lines = [line for line in text.splitlines() if line.strip()]
    total = [line.strip() for line in lines if "function calls" in line]
    header = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return total + lines[header:]


class _Region:
    """The timed region's bookkeeping, shared by `measure` and `ameasure`."""

    def __init__(self, profile: bool) -> None:
        self.reset = _reset_peak()
        self.rss_before = status_kib("VmRSS")
        self.profiler = cProfile.Profile() if profile else None
        if self.profiler is not None:
            self.profiler.enable()
        self.cpu = time.process_time()
        self.started = time.perf_counter()

    def report(self, result: Any) -> dict[str, Any]:
        seconds = time.perf_counter() - self.started
        cpu = time.process_time() - self.cpu
        if self.profiler is not None:
            self.profiler.disable()
        report: dict[str, Any] = {
            "seconds": seconds,
            "cpu_s": cpu,
            "rss_before_kib": self.rss_before,
            "hwm_kib": status_kib("VmHWM"),
            "hwm_reset": self.reset,
            "result": result,
        }
        if self.profiler is not None:
            report["profile"] = _profile_summary(self.profiler)
        return report


def measure(work: Callable[[], Any], *, profile: bool = False) -> dict[str, Any]:
    """Run `work` once as the timed region; return the child's report.

    Returns:
        `seconds` (perf_counter around `work`), `cpu_s` (CPU seconds of this process in
        it), `rss_before_kib`, `hwm_kib` (peak RSS during the region when the reset
        worked, else since start), `hwm_reset` (whether it worked), `result` (what `work`
        returned) and, with `profile`, `profile` (the top of a cProfile).
    """
    region = _Region(profile)
    return region.report(work())


async def ameasure(work: Callable[[], Awaitable[Any]], *, profile: bool = False) -> dict[str, Any]:
    """`measure` for a coroutine, awaited inside the caller's running event loop.

    The loop (started by the child's one `asyncio.run`) and the client's set-up exist
    before the region; the profile covers the loop's own work between the awaits too.
    """
    region = _Region(profile)
    return region.report(await work())


def emit(report: dict[str, Any]) -> None:
    """Print the report as the child's one line of JSON."""
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()
