"""The simulated engine: nothing runs; images are records and pod states follow the clock.

The emulator's behaviour before it had a Docker engine, unchanged: a build checks the
Dockerfile and the context, a load reads the tar's manifest, and a pod's state is computed
from the instants recorded when it was run (see `_pods.py`).
"""

from __future__ import annotations

from typing import Any

from . import _dockerfile, _images
from ._catalogue import CatalogueCheck
from ._config import EmulatorConfig
from ._engine import BuildRequest, LoadRequest, PodEngine, PodRun
from ._images import Images, same_image
from ._pods import Pods, container_state, pod_report
from ._state import JsonDocument


class SimulatedEngine(PodEngine):
    """Pods that run nothing, in `pods.json`; images recorded in `images.json`.

    Args:
        config: The emulator's configuration (`public_images`, `time_scale`, ...).
        images: The record of each user's images.
        pods: The pod records.
    """

    name = "simulated"

    def __init__(self, config: EmulatorConfig, images: Images, pods: JsonDocument) -> None:
        self._config = config
        self._images = images
        self._pods = Pods(pods, config)
        self._catalogue = CatalogueCheck.of(config)  # issue 17: the onboard registry

    def _is_public(self, image: str) -> bool:
        """A `--public-image`, or (issue 17) an image of the onboard registry's catalogue."""
        if any(same_image(image, public) for public in self._config.public_images):
            return True
        return self._catalogue.catalogue.lookup(image) is not None

    def build(self, request: BuildRequest) -> None:
        _images.check_build(
            request.dockerfile, request.dockerfile_arg, request.context, request.context_arg
        )
        with open(request.dockerfile, "rb") as file:  # issue 17: bases outside the registry
            text = file.read(_dockerfile.MAX_DOCKERFILE_BYTES).decode("utf-8", "replace")
        for ref in _dockerfile.base_images(text):
            problem = self._catalogue.problem(ref)
            if problem is not None:
                raise _images._build_failed([f"ERROR: failed to solve: {problem}\n"])
        self._images.add(request.user, request.name, "build")

    def load(self, request: LoadRequest) -> None:
        _images.check_load(request.tarfile, request.tarfile_arg, request.image)
        self._images.add(request.user, request.name, "load")

    def image_names(self, user: str) -> list[str]:
        return self._images.names(user)

    def run(self, run: PodRun) -> None:
        user, image = run.user, run.spec.image
        if self._is_public(image):
            image_ref, available = image, True
        elif self._images.has(user, f"{user}-{image}"):
            image_ref, available = f"{user}-{image}", True
        elif image.startswith(f"{user}-") and self._images.has(user, image):
            image_ref, available = image, True
        else:
            image_ref, available = f"{user}-{image}", False
        self._pods.run(user, run.pod_name, run.spec, image_ref, available)

    def status(self, user: str, pod_name: str | None) -> dict[str, Any] | None:
        record = self._pods.get(user, pod_name)
        if record is None:
            return None
        return {"state": container_state(record, user), "emulator": pod_report(record, user)}

    def console_log(self, user: str, pod_name: str | None) -> bytes | None:
        return None
