"""An example pod written with `dphi_em.telemetry.TelemetryClient`: the service's health, the
latest position, the last ten minutes of positions, the TLE and three fisheye images,
summarised into /data/summary.json.

In a pod it reaches `http://satellite-telemetry.dphi-tm` (the client's default). The image
needs `dphi_em` and its dependencies: `pip install --target lib dphi-em` beside your
Dockerfile and `COPY lib /opt/lib` + `ENV PYTHONPATH=/opt/lib`, or, as the emulator's tests
do, a zip of them in the volume (`PYTHONPATH=/data/lib.zip`).
"""

import json
from datetime import timedelta
from pathlib import Path

from dphi_em.telemetry import TelemetryClient

OUT = Path("/data")


def main() -> None:
    with TelemetryClient() as tlm:
        health = tlm.health()
        (now,) = tlm.latest("complete")
        recent = tlm.records(now.timestamp - timedelta(minutes=10), now.timestamp, "position")
        types, stats = tlm.types(), tlm.stats()
        tle = tlm.tle()
        names = tlm.image_names()[:3]
        images = tlm.download_images(names, dest=OUT / "images")
    position = now.position
    summary = {
        "health": health.status,
        "types": types,
        "total_records": stats.total_records,
        "positions_last_10_min": len(recent),
        "timestamp": now.timestamp.isoformat(),
        "position_km": None if position is None else [position.x, position.y, position.z],
        "radius_km": None if position is None else round(position.norm, 3),
        "speed_km_s": None if now.velocity is None else round(now.velocity.norm, 4),
        "in_sunlight": None if now.power is None else now.power.in_sunlight,
        "tle": [tle.line1, tle.line2],
        "images": {p.name: p.stat().st_size for p in images},
    }
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
