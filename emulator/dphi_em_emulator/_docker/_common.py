"""What every part of the Docker engine shares: labels, the engine context, small helpers."""

from __future__ import annotations

import dataclasses
import io
import re
import tarfile
import threading
import uuid
from datetime import datetime, timezone

import docker
from docker.errors import APIError
from docker.models.containers import Container
from docker.models.images import Image

from .._config import EmulatorConfig
from .._state import DataDir, JsonDocument
from .._telemetry import TelemetryService

#: Label keys on everything the emulator creates in the engine.
LABEL_EMULATOR = "space.dphi.em.emulator"
LABEL_USER = "space.dphi.em.user"
LABEL_POD = "space.dphi.em.pod"
LABEL_ROLE = "space.dphi.em.role"
LABEL_IMAGE = "space.dphi.em.image"
#: The architecture of CG2's nodes.
CG2_ARCH = "arm64"
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


@dataclasses.dataclass
class EngineContext:
    """What the parts of one Docker engine share.

    Attributes:
        config: The emulator's configuration.
        data: The data dir.
        client: A connected Docker client.
        state: `docker.json`: the instance id, images, sandboxes, onboard tags, hosts names.
        instance: This emulator's id (kept in the data dir: a restart is the same instance).
        arch: The engine's architecture (`amd64`, `arm64`...).
        cgroup_driver: The engine's cgroup driver (`cgroupfs`, `systemd`) when it runs on
            this machine's cgroups (a local socket), else "".
        telemetry: The telemetry service to serve inside pods' network namespaces, if any.
        lock: Held while pod records or the engine state change.
    """

    config: EmulatorConfig
    data: DataDir
    client: docker.DockerClient
    state: JsonDocument
    instance: str
    arch: str
    cgroup_driver: str = ""
    telemetry: TelemetryService | None = None
    lock: threading.RLock = dataclasses.field(default_factory=threading.RLock)

    def labels(self, role: str, user: str, **extra: str) -> dict[str, str]:
        """The labels of something this instance creates for `user` in role `role`."""
        return {LABEL_EMULATOR: self.instance, LABEL_ROLE: role, LABEL_USER: user, **extra}

    def container_name(self, user: str, what: str) -> str:
        """A fresh container name naming the instance, the user and `what`."""
        return f"dphi-em-{self.instance}-{safe_name(user)}-{what}-{uuid.uuid4().hex[:6]}"


def safe_name(text: str) -> str:
    """`text` with what a container or file name can't hold replaced by `_`."""
    return _NAME_UNSAFE.sub("_", text)


def object_id(thing: Image | Container) -> str:
    """The engine's id of an image or container."""
    return str(thing.id)


def first_line(text: str) -> str:
    """The first line of an error text (at most 300 characters)."""
    return text.strip().splitlines()[0][:300] if text.strip() else "no detail"


def explain(exc: BaseException) -> str:
    """One line saying what the engine (or the SDK) answered."""
    if isinstance(exc, APIError):
        return first_line(str(exc.explanation or exc))
    return first_line(str(exc))


def rfc3339(instant: float) -> str:
    """An instant in the contract's format (`2025-11-20T12:31:12Z`)."""
    return datetime.fromtimestamp(instant, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def engine_time(value: str | None) -> str | None:
    """`2026-12-02T06:00:00.123456789Z` -> `2026-12-02T06:00:00Z` (None for the zero time)."""
    if not value or value.startswith("0001-"):
        return None
    return value[:19] + "Z"


def with_tag(name: str) -> str:
    """`name` with `:latest` when it has no tag or digest."""
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last or "@" in name else f"{name}:latest"


def split_tag(name: str) -> tuple[str, str]:
    """(repository, tag) of an image name (`latest` when it has none)."""
    repository, _, tag = with_tag(name).rpartition(":")
    return repository, tag


def tar_of(files: dict[str, bytes], modes: dict[str, int] | None = None) -> io.BytesIO:
    """An in-memory tar of `files` (name -> bytes), mode 0644 unless `modes` says otherwise."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = (modes or {}).get(name, 0o644)
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer
