"""The pod engine interface: what the image and pod handlers ask of whatever runs pods.

Two engines implement it:

- `SimulatedEngine` (`_engine_simulated.py`): nothing runs; images are records and a pod's
  state follows the clock (the emulator's original behaviour, for machines without Docker).
- `DockerEngine` (the `_docker` package): images are built and loaded into a Docker engine
  and pods run as containers. Only that package imports the Docker SDK.

`make_engine(config, ...)` picks one from `EmulatorConfig.pods` (`auto`, `docker`,
`simulated`) and says which, and why when `auto` fell back to the simulated engine.
"""

from __future__ import annotations

import abc
import dataclasses
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._config import EmulatorConfig
    from ._images import Images
    from ._pods import RunRequest
    from ._state import DataDir, JsonDocument
    from ._telemetry import TelemetryService

#: `EmulatorConfig.pods` values.
PODS_AUTO = "auto"
PODS_DOCKER = "docker"
PODS_SIMULATED = "simulated"

#: What the EM keeps of a pod's console, said in every pod status.
CONSOLE_NOTE = (
    "The EM keeps no console output: pods write their results into /data. "
    "The emulator keeps this pod's console log for local debugging only: "
    "GET /em/emulator/pod/log?pod_name=NAME (an emulator-only endpoint)."
)


@dataclasses.dataclass(frozen=True)
class BuildRequest:
    """A `POST /em/pod/image/build`, its paths already resolved inside the volume.

    Attributes:
        user: The caller.
        name: The image's name in the engine: `<user>-<image>`.
        volume: The volume holding the Dockerfile and the context.
        dockerfile: The Dockerfile on disk; `dockerfile_arg` as the request named it.
        context: The context folder on disk; `context_arg` as the request named it.
        cancel: Set when the client has gone away: the build stops (Docker engine).
    """

    user: str
    name: str
    volume: Path
    dockerfile: Path
    dockerfile_arg: str
    context: Path
    context_arg: str
    cancel: threading.Event = dataclasses.field(default_factory=threading.Event, compare=False)


@dataclasses.dataclass(frozen=True)
class LoadRequest:
    """A `POST /em/pod/image/load`, its path already resolved inside the volume.

    Attributes:
        user: The caller.
        image: The image name the request gave (the tar's `RepoTags` must hold it).
        name: The image's name in the engine: `<user>-<image>`.
        volume: The volume holding the tar.
        tarfile: The tar on disk; `tarfile_arg` as the request named it.
    """

    user: str
    image: str
    name: str
    volume: Path
    tarfile: Path
    tarfile_arg: str


@dataclasses.dataclass(frozen=True)
class PodRun:
    """A validated `POST /em/pod/run` for one user's pod.

    Attributes:
        user: The caller.
        pod_name: The pod's name (None: the user's default pod).
        volume: The volume mounted at `/data` (created by the handler).
        spec: The validated request body.
    """

    user: str
    pod_name: str | None
    volume: Path
    spec: RunRequest


class PodEngine(abc.ABC):
    """Builds and loads images, runs pods and reports their Kubernetes container state.

    Methods are blocking (handlers call them in a worker thread) and raise `EMError` for
    what the EM answers with an error (`BUILD_FAILED`, `IMAGE_LOAD_FAILED`, ...).
    """

    #: `simulated` or `docker`.
    name: str

    @abc.abstractmethod
    def build(self, request: BuildRequest) -> None:
        """Build the image, or raise `EMError` 400 `BUILD_FAILED` with the log's tail."""

    @abc.abstractmethod
    def load(self, request: LoadRequest) -> None:
        """Load the tar, or raise `EMError` 400 `IMAGE_LOAD_FAILED` with a log tail."""

    @abc.abstractmethod
    def image_names(self, user: str) -> list[str]:
        """The user's own built and loaded images, sorted (public images are not listed)."""

    @abc.abstractmethod
    def run(self, run: PodRun) -> None:
        """Schedule a pod, replacing the user's pod of the same name."""

    @abc.abstractmethod
    def status(self, user: str, pod_name: str | None) -> dict[str, Any] | None:
        """`{"state": <ContainerState>, "emulator": {...}}`, or None for an unknown pod."""

    @abc.abstractmethod
    def console_log(self, user: str, pod_name: str | None) -> bytes | None:
        """The pod's console output so far, or None when there is none to show."""

    def close(self) -> None:  # noqa: B027 (an optional hook)
        """Stop background work and, as configured, the engine's pods."""


def make_engine(
    config: EmulatorConfig,
    data: DataDir,
    images: Images,
    pods: JsonDocument,
    telemetry: TelemetryService | None = None,
) -> tuple[PodEngine, str]:
    """The engine `config.pods` asks for, and one line saying which runs pods and why.

    Args:
        config: The emulator's configuration (`pods`: `auto`, `docker` or `simulated`).
        data: The data dir.
        images: The record of each user's images (`images.json`).
        pods: The simulated engine's pod records (`pods.json`).
        telemetry: The telemetry service, served inside the Docker engine's pods.

    Raises:
        RuntimeError: `pods="docker"` and no Docker engine answers (the reason is given).
    """
    from ._engine_simulated import SimulatedEngine

    if config.pods == PODS_SIMULATED:
        return SimulatedEngine(config, images, pods), "pods: simulated (nothing runs)"
    try:
        from ._docker import DockerEngine, connect
    except ImportError as exc:
        reason = f"the Docker SDK for Python is not installed ({exc})"
        client = None
    else:
        client, reason = connect(config.docker_host)
    if client is None:
        if config.pods == PODS_DOCKER:
            raise RuntimeError(f"--pods docker: no Docker engine: {reason}")
        line = f"pods: simulated (nothing runs): no Docker engine: {reason}"
        return SimulatedEngine(config, images, pods), line
    engine = DockerEngine(config, data, images, client, telemetry)
    return engine, f"pods: docker ({engine.describe()})"
