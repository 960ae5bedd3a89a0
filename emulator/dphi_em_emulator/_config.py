"""The emulator's configuration: one frozen dataclass, defaults as named constants."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path

#: SimpleJWT's default lifetimes (seconds).
DEFAULT_ACCESS_LIFETIME = 5 * 60.0
DEFAULT_REFRESH_LIFETIME = 24 * 60 * 60.0
#: The per-call uplink limit. The vendor says "2 GB"; the emulator takes the strict reading
#: (2 * 10**9 bytes, counted over the files' contents, not the multipart framing), so that a
#: client that passes the emulator never trips a stricter server.
DEFAULT_MAX_UPLINK_BYTES = 2 * 10**9
#: Images a pod may run without building or loading them first.
DEFAULT_PUBLIC_IMAGES: tuple[str, ...] = (
    "python:3.11-alpine",
    "python:3.12-alpine",
    "alpine:latest",
    "busybox:latest",
    "ubuntu:22.04",
    "nginx:alpine",
)
#: The CG2 nodes as `GET /em/nodes/status` names them, keyed by the `node` field of a run.
NODE_NAMES: Mapping[str, str] = {"FPGA": "fpga", "GPU": "gpu", "MPU": "mpu1"}
#: Seconds a pod spends in `ContainerCreating` before it runs.
DEFAULT_POD_START_DELAY = 2.0
#: Seconds an `/em/` request may go without sending a byte of its body before it is dropped
#: (and the one-at-a-time lock it holds freed).
DEFAULT_REQUEST_IDLE_TIMEOUT = 60.0
#: The revisions of the EM API (see emulator/README.md, "Revisions"): the vendor's spec and
#: walkthrough (November 2025), and what the vendor's client sends since January 2026.
API_NOVEMBER_2025 = "2025-11"
API_JANUARY_2026 = "2026-01"
#: `api` values: one revision, strictly, or both at once.
API_BOTH = "both"
API_MODES: tuple[str, ...] = (API_NOVEMBER_2025, API_JANUARY_2026, API_BOTH)
DEFAULT_API = API_BOTH

#: Pod engine (`pods`): `auto` (Docker when an engine answers, else simulated), `docker`,
#: `simulated` (nothing runs). The in-process default is `simulated`; the command's is `auto`.
PODS_MODES: tuple[str, ...] = ("auto", "docker", "simulated")
DEFAULT_PODS = "simulated"
#: Docker engine pods: memory limit (bytes) and most processes per pod.
DEFAULT_POD_MEMORY = 1024**3
DEFAULT_POD_PIDS = 512
#: Seconds between a pod's graceful stop (SIGTERM) and its kill (Kubernetes' default
#: terminationGracePeriodSeconds), divided by `time_scale` like every pod time.
DEFAULT_STOP_GRACE = 30.0
#: What stopping the emulator does to its Docker pods: stop and remove them (`remove-pods`),
#: leave them running (`keep-pods`), or also remove its images (`purge`).
ON_STOP_MODES: tuple[str, ...] = ("remove-pods", "keep-pods", "purge")
#: Docker engine builds: most seconds a build may take (the EM's builder gives up on a build
#: after 10 minutes), most processes and most bytes of build output (past them the build
#: fails with `BUILD_FAILED`, and its step's container is killed).
DEFAULT_BUILD_TIMEOUT = 600.0
DEFAULT_BUILD_PIDS = 512
DEFAULT_BUILD_LOG_BYTES = 4 * 1024 * 1024

#: A user name: Django's user name characters except `-`, which separates the user from the
#: image in the engine's `<user>-<image>` names (user `team` with image `b-app` and user
#: `team-b` with image `app` would otherwise share `team-b-app`).
_USERNAME = re.compile(r"^[A-Za-z0-9_.@+]{1,150}$")
#: The telemetry service (emulator/README.md, "Telemetry"): seconds (simulated) between two
#: records of a type, seconds of history before the start, images the camera holds.
DEFAULT_TELEMETRY_CADENCE = 10.0
DEFAULT_TELEMETRY_HISTORY = 24 * 3600.0
DEFAULT_TELEMETRY_IMAGES = 120
#: The command's ground port for the telemetry service (`dphi-em telemetry` looks there).
DEFAULT_TELEMETRY_PORT = 8100


@dataclasses.dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator needs to know at start.

    Args:
        data_dir: Where volumes, images, pods and the token signing key live. Reusing the
            folder after a restart keeps all of them (tokens stay valid).
        users: User name -> password. None is built in.
        access_lifetime: Seconds an access token is valid (SimpleJWT default: 5 minutes).
        refresh_lifetime: Seconds a refresh token is valid (SimpleJWT default: 1 day).
        max_uplink_bytes: Most file bytes one `POST /em/files/uplink` may carry.
        lock_enabled: Answer `423 LOCKED` to an `/em/` request while another is in progress.
        public_images: Images any user may run (an untagged name also matches `:latest`).
        time_scale: How much faster than the wall clock pods live: `max_duration` minutes
            last `max_duration * 60 / time_scale` seconds, and the wait until a
            `scheduled_time` is divided by it too. 1.0 is real time.
        pod_start_delay: Seconds (wall clock) a pod stays `ContainerCreating` before running.
        request_idle_timeout: Seconds a request's body may stall before the request is dropped
            with 408 and the lock it holds is freed.
        not_ready_nodes: Node names (`fpga`, `gpu`, `mpu1`) reported with status "False";
            pods run on them stay waiting (`Unschedulable`).
        pods: The pod engine: "auto", "docker" or "simulated" (see emulator/README.md).
        docker_host: The Docker engine's address (None: `DOCKER_HOST`, else the default).
        registry_map: Image name (or prefix ending in "/") -> the local image that stands
            for it; the default maps the onboard registry `fpga.dphi.space:5000/X` to `X`.
        pull: Whether the Docker engine may pull images it lacks from a registry.
        require_arch: Refuse images not built for this architecture (e.g. "arm64").
        catalogue: The onboard registry's catalogue (a TSV: name, tag, version), replacing
            the vendor's list shipped with the emulator (see emulator/README.md, "Base
            images").
        any_image: Accept any base image and any public image, not only the catalogue's.
        standin_record: The record of the engine's stand-in images (default:
            `$XDG_CACHE_HOME/dphi-em/standins.json`).
        pod_memory: Memory limit of a Docker pod, bytes.
        pod_pids: Most processes in a Docker pod.
        stop_grace: Seconds (scaled) between a pod's SIGTERM at `max_duration` and its kill.
        on_stop: "remove-pods", "keep-pods" or "purge" (see `ON_STOP_MODES`).
        build_timeout: Most seconds (wall clock) a Docker build may take.
        build_pids: Most processes in a Docker build's step.
        build_log_bytes: Most bytes of output a Docker build may print.
        api: Which revision of the EM API to serve: "2025-11" or "2026-01" strictly (the
            other revision's methods and paths are answered 405 and 404, as Django REST
            Framework does), or "both" (either form; `pvc_name` wins over `pod_name`).
        telemetry: Serve the satellite's telemetry service (on the ground and in pods).
        telemetry_seed: Makes the orbit's plane, attitude, sensors and images.
        tle: A TLE (two or three lines of text) to propagate; None: a 500 km SSO orbit.
        telemetry_port: The service's ground port on 127.0.0.1 (0: a free one).
        telemetry_port_fallback: When `telemetry_port` is taken, a free one instead (the
            command's default port; a port the user gave must be that port).
        telemetry_cadence: Seconds (simulated) between two records of a type.
        telemetry_history: Seconds of history before the emulator started.
        telemetry_images: How many images the fisheye camera holds.
    """

    data_dir: Path
    users: Mapping[str, str]
    access_lifetime: float = DEFAULT_ACCESS_LIFETIME
    refresh_lifetime: float = DEFAULT_REFRESH_LIFETIME
    max_uplink_bytes: int = DEFAULT_MAX_UPLINK_BYTES
    lock_enabled: bool = True
    public_images: tuple[str, ...] = DEFAULT_PUBLIC_IMAGES
    time_scale: float = 1.0
    pod_start_delay: float = DEFAULT_POD_START_DELAY
    request_idle_timeout: float = DEFAULT_REQUEST_IDLE_TIMEOUT
    not_ready_nodes: frozenset[str] = frozenset()
    pods: str = DEFAULT_PODS
    docker_host: str | None = None
    registry_map: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: {"fpga.dphi.space:5000/": ""}
    )
    pull: bool = False
    require_arch: str | None = None
    catalogue: Path | None = None
    any_image: bool = False
    standin_record: Path | None = None
    pod_memory: int = DEFAULT_POD_MEMORY
    pod_pids: int = DEFAULT_POD_PIDS
    stop_grace: float = DEFAULT_STOP_GRACE
    on_stop: str = "remove-pods"
    api: str = DEFAULT_API
    build_timeout: float = DEFAULT_BUILD_TIMEOUT
    build_pids: int = DEFAULT_BUILD_PIDS
    build_log_bytes: int = DEFAULT_BUILD_LOG_BYTES
    telemetry: bool = True
    telemetry_seed: int = 0
    tle: str | None = None
    telemetry_port: int = 0
    telemetry_port_fallback: bool = False
    telemetry_cadence: float = DEFAULT_TELEMETRY_CADENCE
    telemetry_history: float = DEFAULT_TELEMETRY_HISTORY
    telemetry_images: int = DEFAULT_TELEMETRY_IMAGES

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "users", dict(self.users))
        object.__setattr__(self, "public_images", tuple(self.public_images))
        object.__setattr__(self, "not_ready_nodes", frozenset(self.not_ready_nodes))
        if not self.users:
            raise ValueError("at least one user is required (none is built in)")
        for name in self.users:
            if not _USERNAME.fullmatch(name) or name in {".", ".."}:
                raise ValueError(
                    f"invalid user name: {name!r} (1 to 150 letters, digits and _ . @ +; "
                    "no '-', which separates the user from the image in image names)"
                )
        if self.access_lifetime <= 0 or self.refresh_lifetime <= 0:
            raise ValueError("token lifetimes must be positive")
        if self.max_uplink_bytes < 0:
            raise ValueError("max_uplink_bytes must not be negative")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if self.pod_start_delay < 0:
            raise ValueError("pod_start_delay must not be negative")
        if self.request_idle_timeout <= 0:
            raise ValueError("request_idle_timeout must be positive")
        if self.api not in API_MODES:
            raise ValueError(f"api must be one of {', '.join(API_MODES)}, not {self.api!r}")
        object.__setattr__(self, "registry_map", dict(self.registry_map))
        if self.pods not in PODS_MODES:
            raise ValueError(f"pods must be one of {', '.join(PODS_MODES)}, not {self.pods!r}")
        if self.on_stop not in ON_STOP_MODES:
            raise ValueError(
                f"on_stop must be one of {', '.join(ON_STOP_MODES)}, not {self.on_stop!r}"
            )
        if self.pod_memory < 6 * 1024 * 1024 or self.pod_pids < 1:
            raise ValueError("pod_memory must be at least 6 MiB and pod_pids at least 1")
        if self.build_timeout <= 0 or self.build_pids < 1 or self.build_log_bytes < 1024:
            raise ValueError(
                "build_timeout must be positive, build_pids at least 1 and build_log_bytes "
                "at least 1024"
            )
        if self.stop_grace < 0:
            raise ValueError("stop_grace must not be negative")
        if self.telemetry_cadence <= 0 or self.telemetry_history < 0:
            raise ValueError("telemetry_cadence must be positive, telemetry_history not negative")
        if self.telemetry_images < 0 or not 0 <= self.telemetry_port <= 65535:
            raise ValueError("telemetry_images must not be negative; telemetry_port in 0..65535")
        unknown = self.not_ready_nodes - set(NODE_NAMES.values())
        if unknown:
            raise ValueError(f"unknown node names: {sorted(unknown)}")
