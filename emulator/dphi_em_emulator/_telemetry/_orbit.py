"""The orbit and the spacecraft's state along it: SGP4 from a TLE, sunlight, attitude, power.

Positions and velocities are SGP4's own output for the served TLE: the TEME frame (True
Equator, Mean Equinox of date), km and km/s, as the contract gives them. Everything else is a
deterministic function of the instant and the seed: the attitude is a unit quaternion turning
slowly about a seeded axis, the power and the 8 temperature sensors follow sunlight and
eclipse (a cylindrical Earth shadow, the Sun from the Astronomical Almanac's low-precision
formula, good to about 0.01 degree, plenty for a shadow edge).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timezone
from typing import Any

from sgp4.api import Satrec, jday

#: Earth's equatorial radius (km), WGS-72 as SGP4 uses it.
EARTH_RADIUS_KM = 6378.135
#: Sensors in a `temperature` answer (`sensor0`..`sensor7`).
TEMPERATURE_SENSORS = 8
#: The default satellite's name (the first line of a three-line set).
DEFAULT_NAME = "DPHI-EM-SIM"
#: The default orbit's fixed elements: about 500 km, sun-synchronous (97.4 degrees), near
#: circular; the seed picks the plane (RAAN) and where along it the satellite is at epoch.
_EPOCH = "26335.50000000"  # 2026-12-01 12:00 UTC
_INCLINATION = 97.4065
_ECCENTRICITY = "0001200"
_MEAN_MOTION = 15.21964500  # revolutions per day: a semi-major axis of ~6,878 km


def _checksum(line: str) -> str:
    total = sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68])
    return str(total % 10)


def default_tle(seed: int) -> tuple[str, str]:
    """A plausible 500 km sun-synchronous LEO, its plane and phase picked by `seed`."""
    rng = random.Random(f"tle:{seed}")  # noqa: S311 (deterministic data, no secret)
    raan = rng.uniform(0.0, 360.0)
    perigee = rng.uniform(0.0, 360.0)
    anomaly = rng.uniform(0.0, 360.0)
    line1 = f"1 99999U 26001A   {_EPOCH}  .00000000  00000-0  00000-0 0  999"
    line2 = (
        f"2 99999 {_INCLINATION:8.4f} {raan:8.4f} {_ECCENTRICITY} {perigee:8.4f} "
        f"{anomaly:8.4f} {_MEAN_MOTION:11.8f}    1"
    )
    return line1 + _checksum(line1), line2 + _checksum(line2)


def parse_tle(text: str) -> tuple[str | None, str, str]:
    """(name or None, line 1, line 2) of a two- or three-line element set.

    Raises:
        ValueError: The text is not a TLE SGP4 accepts (the message says why).
    """
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    name = None
    if len(lines) == 3:
        name = lines[0].removeprefix("0 ").strip()
        lines = lines[1:]
    if len(lines) != 2 or not lines[0].startswith("1 ") or not lines[1].startswith("2 "):
        raise ValueError(
            "expected a two-line element set (lines starting '1 ' and '2 ', optionally after "
            f"a name line), got {len(lines)} line(s)"
        )
    for line in lines:
        if len(line) != 69:
            raise ValueError(f"a TLE line has 69 characters, not {len(line)}: {line!r}")
        if _checksum(line) != line[68]:
            raise ValueError(f"bad checksum (expected {_checksum(line)}): {line!r}")
    sat = Satrec.twoline2rv(lines[0], lines[1])
    if sat.error:
        raise ValueError(f"SGP4 refuses this TLE (error {sat.error})")
    return name, lines[0], lines[1]


def sun_direction(instant: float) -> tuple[float, float, float]:
    """The unit vector from Earth's centre to the Sun at a Unix instant (equatorial, of date)."""
    days = instant / 86400.0 + 2440587.5 - 2451545.0
    mean_long = math.radians((280.460 + 0.9856474 * days) % 360.0)
    anomaly = math.radians((357.528 + 0.9856003 * days) % 360.0)
    ecliptic = mean_long + math.radians(1.915) * math.sin(anomaly)
    ecliptic += math.radians(0.020) * math.sin(2 * anomaly)
    obliquity = math.radians(23.439 - 0.0000004 * days)
    return (
        math.cos(ecliptic),
        math.cos(obliquity) * math.sin(ecliptic),
        math.sin(obliquity) * math.sin(ecliptic),
    )


def in_sunlight(position: tuple[float, ...], instant: float) -> bool:
    """Whether a position (km) is outside Earth's cylindrical shadow at `instant`."""
    sun = sun_direction(instant)
    along = sum(p * s for p, s in zip(position, sun, strict=True))
    if along >= 0:
        return True
    across = math.sqrt(max(0.0, sum(p * p for p in position) - along * along))
    return across > EARTH_RADIUS_KM


def iso(instant: float) -> str:
    """RFC 3339 with microseconds and `Z` (`2026-12-05T16:00:00.000000Z`)."""
    moment = datetime.fromtimestamp(instant, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Orbit:
    """The satellite's state at any instant: SGP4 for the orbit, the seed for the rest.

    Args:
        line1: The TLE's first line.
        line2: The TLE's second line.
        seed: Picks the attitude's spin axis and rate and the sensors' offsets.
        name: The satellite's name, if the TLE had one.
    """

    def __init__(self, line1: str, line2: str, seed: int, name: str | None = None) -> None:
        self.line1, self.line2, self.name = line1, line2, name
        self._sat = Satrec.twoline2rv(line1, line2)
        rng = random.Random(f"state:{seed}")  # noqa: S311 (deterministic data, no secret)
        axis = [rng.gauss(0.0, 1.0) for _ in range(3)]
        norm = math.sqrt(sum(a * a for a in axis)) or 1.0
        self._axis = tuple(a / norm for a in axis)
        self._rate = rng.uniform(0.0005, 0.002)  # rad/s: a slow tumble, "small rates"
        self._phase = rng.uniform(0.0, 2 * math.pi)
        self._offsets = [rng.uniform(-1.5, 1.5) for _ in range(TEMPERATURE_SENSORS)]

    @property
    def tle(self) -> str:
        """The two lines, joined by a newline."""
        return f"{self.line1}\n{self.line2}"

    @property
    def epoch(self) -> float:
        """The TLE's epoch as a Unix instant."""
        return float((self._sat.jdsatepoch + self._sat.jdsatepochF - 2440587.5) * 86400.0)

    def propagate(self, instant: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(position km, velocity km/s) in TEME at a Unix instant.

        Raises:
            ValueError: SGP4 fails there (e.g. the orbit decayed).
        """
        moment = datetime.fromtimestamp(instant, tz=timezone.utc)
        jd, fr = jday(
            moment.year,
            moment.month,
            moment.day,
            moment.hour,
            moment.minute,
            moment.second + moment.microsecond / 1e6,
        )
        error, position, velocity = self._sat.sgp4(jd, fr)
        if error:
            raise ValueError(f"SGP4 error {error} at {iso(instant)}")
        return tuple(float(p) for p in position), tuple(float(v) for v in velocity)

    def state(self, instant: float) -> dict[str, Any]:
        """A `complete` record's `data` at a Unix instant (the contract's TelemetryData)."""
        position, velocity = self.propagate(instant)
        lit = in_sunlight(position, instant)
        angle = self._phase + self._rate * instant
        half = (angle % (2 * math.pi)) / 2.0
        ax, ay, az = self._axis
        quaternion = {
            "w": math.cos(half),
            "x": ax * math.sin(half),
            "y": ay * math.sin(half),
            "z": az * math.sin(half),
        }
        wobble = 0.0001 * math.sin(instant / 600.0)
        angular = {"x": ax * self._rate + wobble, "y": ay * self._rate, "z": az * self._rate}
        orbit_phase = math.sin(2 * math.pi * instant / 5677.0)
        solar = (27.5 + 1.5 * orbit_phase) if lit else 0.0
        consumption = 14.0 + 2.0 * math.sin(instant / 900.0)
        charge = 85.0 + (8.0 if lit else -8.0) * abs(orbit_phase)
        power = {
            "in_sunlight": lit,
            "solar_power_w": round(solar, 3),
            "consumption_w": round(consumption, 3),
            "battery_voltage_v": round(7.4 + 0.5 * (charge - 85.0) / 8.0, 3),
            "battery_charge_percent": round(charge, 2),
        }
        base = 24.0 if lit else 2.0
        temperature = {
            f"sensor{i}": round(base + offset + 3.0 * math.sin(instant / 1200.0 + i), 2)
            for i, offset in enumerate(self._offsets)
        }
        return {
            "timestamp": instant,
            "position": dict(zip("xyz", position, strict=True)),
            "velocity": dict(zip("xyz", velocity, strict=True)),
            "attitude": {"quaternion": quaternion, "angular_velocity": angular},
            "power": power,
            "temperature": temperature,
            "tle": self.tle,
        }
