"""dphi_em.telemetry: a client of the satellite's telemetry service.

Pods on the EM (and on the satellite) reach the service at `http://satellite-telemetry.dphi-tm`;
from the ground, the emulator serves it at an emulator-only address (`DPHI_TLM_URL`).

```python
from datetime import datetime, timedelta, timezone
from dphi_em.telemetry import TelemetryClient

with TelemetryClient() as tlm:
    (now,) = tlm.latest("complete")
    print(now.position, now.velocity, tlm.tle())
    end = datetime.now(timezone.utc)
    power = tlm.records(end - timedelta(hours=1), end, data_type="power")
    tlm.download_images(tlm.image_names()[:3], dest="images")
```
`AsyncTelemetryClient` is the same for asyncio. Failures raise `TelemetryError` (an
`APIError` of the `EMError` tree), bad input `ValidationError` before anything is sent.
"""

from ._async_client import AsyncTelemetryClient
from ._client import TelemetryClient
from ._core import DEFAULT_TLM_URL, MAX_IMAGES_PER_CALL, TLM_URL_ENV
from ._errors import ImageNotFoundError, TelemetryError
from ._models import (
    TLE,
    Attitude,
    Health,
    Power,
    Quaternion,
    Stats,
    TelemetryRecord,
    Temperature,
    Vector3,
)

__all__ = [
    "DEFAULT_TLM_URL",
    "MAX_IMAGES_PER_CALL",
    "TLE",
    "TLM_URL_ENV",
    "AsyncTelemetryClient",
    "Attitude",
    "Health",
    "ImageNotFoundError",
    "Power",
    "Quaternion",
    "Stats",
    "TelemetryClient",
    "TelemetryError",
    "TelemetryRecord",
    "Temperature",
    "Vector3",
]
