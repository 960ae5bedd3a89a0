"""The emulated satellite telemetry service (`satellite-telemetry.dphi-tm`).

- `_orbit.py`: the orbit by SGP4 from a TLE, sunlight, attitude, power and temperatures;
- `_history.py`: the records at a fixed cadence up to "now";
- `_camera.py`: the fisheye camera's PNGs (Pillow) and stored ZIPs;
- `_app.py`: the HTTP interface (`openapi/tlm-api.yaml`);
- `_netns.py`: listening sockets inside a pod's network namespace;
- `_service.py`: `TelemetryService`, serving it on the ground and in pods.
"""

from ._netns import TELEMETRY_ADDRESS, TELEMETRY_HOSTNAMES, hosts_line
from ._service import TelemetryService

__all__ = ["TELEMETRY_ADDRESS", "TELEMETRY_HOSTNAMES", "TelemetryService", "hosts_line"]
