"""The telemetry database: records at a fixed cadence from the history's start up to "now".

Nothing is stored: record `k` of a type is computed from its instant (`start + k * cadence`)
and the orbit, so a seed, a TLE and a start instant give the same records every time. The
clock is the emulator's: "now" runs `time_scale` times faster than the wall clock from the
moment the service started, as pods' times do.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from typing import Any

from ._orbit import Orbit, iso

#: The data types, in the order a tick's records are listed.
DATA_TYPES: tuple[str, ...] = ("complete", "position", "attitude", "power", "temperature")
_NAMESPACE = uuid.UUID("8d3b1f52-4d52-4b0e-9a55-5a1e1e7d0e18")


class History:
    """Records every `cadence` seconds from `span` before the start instant up to now.

    Args:
        orbit: The satellite's state along its orbit.
        seed: Part of every record's id.
        cadence: Seconds (simulated) between two ticks; each tick has one record per type.
        span: Seconds of history before the service started.
        time_scale: How much faster than the wall clock the history grows.
        started: The wall-clock instant the service started (default: now).
    """

    def __init__(
        self,
        orbit: Orbit,
        seed: int,
        cadence: float,
        span: float,
        time_scale: float = 1.0,
        started: float | None = None,
    ) -> None:
        self.orbit = orbit
        self.seed = seed
        self.cadence = cadence
        self.time_scale = time_scale
        self.started = time.time() if started is None else started
        self.start = math.floor((self.started - span) / cadence) * cadence

    def now(self) -> float:
        """The simulated instant now."""
        return self.started + (time.time() - self.started) * self.time_scale

    def last_tick(self) -> int:
        """The index of the latest tick (at or before now)."""
        return max(0, math.floor((self.now() - self.start) / self.cadence))

    def instant(self, tick: int) -> float:
        return self.start + tick * self.cadence

    def record(self, tick: int, data_type: str) -> dict[str, Any]:
        """Record `tick` of `data_type` as the contract's TelemetryRecord."""
        instant = self.instant(tick)
        state = self.orbit.state(instant)
        data: dict[str, Any]
        if data_type == "complete":
            data = state
        elif data_type == "position":
            data = {k: state[k] for k in ("timestamp", "position", "velocity")}
        elif data_type == "attitude":
            data = {"timestamp": instant, **state["attitude"]}
        else:
            data = {"timestamp": instant, **state[data_type]}
        return {
            "id": str(uuid.uuid5(_NAMESPACE, f"{self.seed}:{data_type}:{tick}")),
            "timestamp": iso(instant),
            "original_timestamp": instant,
            "data_type": data_type,
            "data": data,
            "created_at": iso(instant + 0.25),
        }

    def ticks(self, start: float | None, end: float | None) -> range:
        """The ticks whose instants lie in [start, end] (either bound may be open)."""
        last = self.last_tick()
        first = 0 if start is None else max(0, math.ceil((start - self.start) / self.cadence))
        if end is not None:
            last = min(last, math.floor((end - self.start) / self.cadence))
        return range(first, last + 1)

    def query(
        self, start: float | None, end: float | None, data_type: str | None, limit: int | None
    ) -> Iterator[dict[str, Any]]:
        """Matching records, oldest first; `limit` keeps the first ones."""
        types = [t for t in DATA_TYPES if data_type is None or t == data_type]
        if not types or limit == 0:
            return
        count = 0
        for tick in self.ticks(start, end):
            for data_type_ in types:
                yield self.record(tick, data_type_)
                count += 1
                if limit is not None and count >= limit:
                    return

    def latest(self, data_type: str | None) -> list[dict[str, Any]]:
        """The latest record of each type (or of `data_type` only)."""
        tick = self.last_tick()
        return [self.record(tick, t) for t in DATA_TYPES if data_type in (None, t)]

    def stats(self) -> dict[str, Any]:
        ticks = self.last_tick() + 1
        return {
            "total_records": ticks * len(DATA_TYPES),
            "data_types_count": len(DATA_TYPES),
            "data_type_breakdown": dict.fromkeys(DATA_TYPES, ticks),
            "earliest_timestamp": iso(self.instant(0)),
            "latest_timestamp": iso(self.instant(ticks - 1)),
        }
