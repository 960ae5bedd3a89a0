"""The Docker engine: real image builds and loads, and pods that run as containers.

The only package that imports the Docker SDK for Python (`docker` on PyPI). Split by concern:

- `_client.py`: connecting to the engine (`connect`).
- `_common.py`: labels, the `EngineContext` the parts share, small helpers.
- `_images.py`: builds (air-gapped, the onboard registry's names and, through
  `.._standins`, the offline stand-ins), loads, ownership, purge.
- `_network.py`: networking without a bridge: one loopback-only namespace per user, a hosts
  file naming its pods; which pods join follows the API revision.
- `_pods.py`: pod records, the supervisor, containers and their console output.
- `_states.py`: a pod and its container -> Kubernetes' ContainerState.
- `_engine.py`: `DockerEngine`, the `PodEngine` interface over those parts.
"""

from ._client import connect
from ._engine import DockerEngine

__all__ = ["DockerEngine", "connect"]
