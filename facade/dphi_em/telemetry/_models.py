"""The telemetry service's answers as our own attrs classes (no generated `Unset`).

A record's `data` is free JSON on the wire; `TelemetryRecord` keeps it (`data`) and reads
what it recognises into typed fields: a `complete` record has them all, a `position` record
its position and velocity, an `attitude`, `power` or `temperature` record its own part.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from .._models import _time

__all__ = [
    "TLE",
    "Attitude",
    "Health",
    "Power",
    "Quaternion",
    "Stats",
    "TelemetryRecord",
    "Temperature",
    "Vector3",
]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


_V = TypeVar("_V", bound="_Components")


class _Components:
    """Base of `Vector3` and `Quaternion`: a JSON object of named numbers (the attrs fields)."""

    __slots__ = ()

    if TYPE_CHECKING:  # what attrs gives the subclasses
        __attrs_attrs__: ClassVar[tuple[attrs.Attribute[float], ...]]

    @property
    def norm(self) -> float:
        """The vector's length."""
        return math.sqrt(sum(part**2 for part in attrs.astuple(self)))

    @classmethod
    def parse(cls: type[_V], value: Any) -> _V | None:
        """The value of a JSON object with a number at each field's name; else None."""
        if not isinstance(value, Mapping):
            return None
        parts = [_number(value.get(field.name)) for field in attrs.fields(cls)]
        make: Callable[..., _V] = cls  # the subclass's attrs __init__: one float per field
        return None if any(part is None for part in parts) else make(*(p or 0.0 for p in parts))


@attrs.frozen
class Vector3(_Components):
    """A vector: km for a position, km/s for a velocity, rad/s for an angular rate."""

    x: float
    y: float
    z: float


@attrs.frozen
class Quaternion(_Components):
    """An attitude quaternion (unit length: `norm` is 1)."""

    w: float
    x: float
    y: float
    z: float


@attrs.frozen
class Attitude:
    """The spacecraft's orientation and its rate of turn."""

    quaternion: Quaternion | None
    angular_velocity: Vector3 | None

    @classmethod
    def parse(cls, value: Any) -> Attitude | None:
        if not isinstance(value, Mapping):
            return None
        return cls(
            Quaternion.parse(value.get("quaternion")), Vector3.parse(value.get("angular_velocity"))
        )


@attrs.frozen
class Power:
    """The power system's readings. The contract leaves their names free: `values` has them
    all; the properties read the emulator's (and return None when a service lacks them)."""

    values: Mapping[str, Any]

    @property
    def in_sunlight(self) -> bool | None:
        value = self.values.get("in_sunlight")
        return value if isinstance(value, bool) else None

    @property
    def solar_power_w(self) -> float | None:
        return _number(self.values.get("solar_power_w"))

    @property
    def battery_charge_percent(self) -> float | None:
        return _number(self.values.get("battery_charge_percent"))

    @classmethod
    def parse(cls, value: Any) -> Power | None:
        if isinstance(value, Mapping):
            return cls({k: v for k, v in value.items() if k != "timestamp"})
        if _number(value) is not None:
            return cls({"value": value})
        return None


@attrs.frozen
class Temperature:
    """Up to 8 sensors, `sensor0`..`sensor7` (°C as the service reports them)."""

    sensors: Mapping[str, float]

    def __getitem__(self, index: int) -> float:
        """Sensor `index`'s reading (`KeyError` when the service did not report it)."""
        return self.sensors[f"sensor{index}"]

    @classmethod
    def parse(cls, value: Any) -> Temperature | None:
        if not isinstance(value, Mapping):
            return None
        sensors = {
            k: float(v)
            for k, v in value.items()
            if k.startswith("sensor") and _number(v) is not None
        }
        return cls(sensors) if sensors else None


@attrs.frozen
class TLE:
    """A two-line element set, with the fields a reader most often wants.

    Attributes:
        line1: The first line (69 characters).
        line2: The second line.
        name: The satellite's name, when the service gave one.
        epoch: The elements' epoch (UTC).
    """

    line1: str
    line2: str
    name: str | None = None
    epoch: datetime | None = None

    def __str__(self) -> str:
        return f"{self.line1}\n{self.line2}"

    @property
    def catalog_number(self) -> str:
        return self.line1[2:7].strip()

    @property
    def inclination_deg(self) -> float:
        return float(self.line2[8:16])

    @property
    def mean_motion(self) -> float:
        """Revolutions per day."""
        return float(self.line2[52:63])

    @classmethod
    def parse(cls, value: Any) -> TLE | None:
        """From the `/tle` answer's object, or a TLE's text (two or three lines)."""
        if isinstance(value, Mapping):
            line1, line2 = value.get("line1"), value.get("line2")
            if not isinstance(line1, str) or not isinstance(line2, str):
                return cls.parse(value.get("tle"))
            name = value.get("name")
            epoch = _time(value.get("epoch")) or _epoch(line1)
            return cls(line1, line2, name if isinstance(name, str) else None, epoch)
        if not isinstance(value, str):
            return None
        lines = [line.rstrip() for line in value.splitlines() if line.strip()]
        name = lines.pop(0).strip() if len(lines) == 3 else None
        if len(lines) != 2 or not lines[0].startswith("1 ") or not lines[1].startswith("2 "):
            return None
        return cls(lines[0], lines[1], name, _epoch(lines[0]))


def _epoch(line1: str) -> datetime | None:
    """The epoch of a TLE's first line (columns 19-32: YYDDD.DDDDDDDD)."""
    try:
        year = int(line1[18:20])
        day = float(line1[20:32])
    except ValueError:
        return None
    year += 2000 if year < 57 else 1900
    return datetime(year, 1, 1, tzinfo=timezone.utc) + timedelta(days=day - 1)


@attrs.frozen
class TelemetryRecord:
    """One record of the telemetry database.

    Attributes:
        id: The record's UUID.
        timestamp: When the state was measured.
        data_type: `complete`, `position`, `attitude`, `power`, `temperature`...
        data: The record's data as sent (free JSON).
        original_timestamp: The measurement's Unix time, if sent.
        created_at: When the record was stored, if sent.
        position: km (TEME in the emulator), if the record has it.
        velocity: km/s, if the record has it.
        attitude: The attitude, if the record has it.
        power: The power readings, if the record has them.
        temperature: The temperature sensors, if the record has them.
        tle: The TLE in force, if the record has it.
    """

    id: str
    timestamp: datetime
    data_type: str
    data: Mapping[str, Any]
    original_timestamp: float | None = None
    created_at: datetime | None = None
    position: Vector3 | None = None
    velocity: Vector3 | None = None
    attitude: Attitude | None = None
    power: Power | None = None
    temperature: Temperature | None = None
    tle: TLE | None = None

    @classmethod
    def parse(
        cls,
        *,
        id: str,
        timestamp: datetime,
        data_type: str,
        data: Mapping[str, Any],
        original_timestamp: float | None,
        created_at: datetime | None,
    ) -> TelemetryRecord:
        own = data if data_type in ("attitude", "power", "temperature") else {}
        return cls(
            id=id,
            timestamp=timestamp,
            data_type=data_type,
            data=data,
            original_timestamp=original_timestamp,
            created_at=created_at,
            position=Vector3.parse(data.get("position")),
            velocity=Vector3.parse(data.get("velocity")),
            attitude=Attitude.parse(
                data.get("attitude") or (own if data_type == "attitude" else None)
            ),
            power=Power.parse(data.get("power") or (own if data_type == "power" else None)),
            temperature=Temperature.parse(
                data.get("temperature") or (own if data_type == "temperature" else None)
            ),
            tle=TLE.parse(data.get("tle")),
        )


@attrs.frozen
class Health:
    """The service's `/health` answer."""

    status: str
    timestamp: datetime | None


@attrs.frozen
class Stats:
    """How many records the database holds, by type, and the time they span."""

    total_records: int
    data_types_count: int | None
    data_type_breakdown: Mapping[str, int]
    earliest_timestamp: datetime | None
    latest_timestamp: datetime | None
