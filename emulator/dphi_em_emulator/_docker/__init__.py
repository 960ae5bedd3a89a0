"""The Docker engine: real image builds and loads, and pods that run as containers.

The only package that imports the Docker SDK for Python (`docker` on PyPI). Split by concern:

- `_client.py`: connecting to the engine (`connect`).
- `_common.py`: labels, the `EngineContext` the parts share, small helpers.
- `_ownership.py`: who owns which image, by image ID; `ImageOwnership.resolve`, the one
  place where a user's image reference becomes an image (and is checked).
- `_images.py`: builds (checked and sandboxed; the onboard registry's names, its catalogue
  and, through `.._standins`, the offline stand-ins), loads, purge.
- `_hostmount.py`: volumes handed to the engine through short-lived `nosuid,nodev` mounts.
- `_network.py`: networking without a bridge: one loopback-only namespace per user, a hosts
  file naming its pods; which pods join follows the API revision.
- `_pods.py`: pod records, the supervisor (no fault ends it), containers (capabilities
  dropped) and their console output.
- `_states.py`: a pod and its container -> Kubernetes' ContainerState.
- `_engine.py`: `DockerEngine`, the `PodEngine` interface over those parts.
"""

from ._client import connect
from ._engine import DockerEngine

__all__ = ["DockerEngine", "connect"]
