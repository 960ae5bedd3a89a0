"""The telemetry client's errors: `APIError`s of the `EMError` tree (see `dphi_em._errors`).

```
APIError
└── TelemetryError           the service answered `success: false`, an error status or
    │                        something unreadable (`status_code`, `message`, `response`)
    └── ImageNotFoundError   404: an image name the camera lacks
```
Bad input is a `ValidationError`, a missing connection a `TransportError`, as elsewhere.
"""

from __future__ import annotations

from .._errors import APIError

__all__ = ["ImageNotFoundError", "TelemetryError"]


class TelemetryError(APIError):
    """The telemetry service failed a request (its `error` text is `message`)."""


class ImageNotFoundError(TelemetryError):
    """404: the camera has no image of a requested name."""
