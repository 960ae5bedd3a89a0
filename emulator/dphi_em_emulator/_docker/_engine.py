"""`DockerEngine`: the `PodEngine` interface on a Docker engine, made of its parts.

`DockerImages` (`_images.py`) builds, loads and owns images; `Namespaces` (`_network.py`)
holds each user's loopback-only network namespace; `DockerPods` (`_pods.py`) runs pods as
containers, with `_states.py` mapping them to Kubernetes' ContainerState. They share one
`EngineContext` (`_common.py`): the configuration, the client, `docker.json` and a lock.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from typing import Any

import docker
from docker.errors import DockerException

from .._config import EmulatorConfig
from .._engine import BuildRequest, LoadRequest, PodEngine, PodRun
from .._images import Images
from .._state import DataDir, JsonDocument
from .._telemetry import TelemetryService
from ._client import where
from ._common import LABEL_EMULATOR, EngineContext, object_id
from ._hostmount import mount_problem
from ._images import DockerImages, remove_build_cgroups
from ._network import Namespaces
from ._pods import DockerPods


class DockerEngine(PodEngine):
    """Images in a Docker engine, pods as its containers.

    Args:
        config: The emulator's configuration (`registry_map`, `pull`, `require_arch`,
            `pod_memory`, `pod_pids`, `stop_grace`, `on_stop`, `time_scale`, `api`, ...).
        data: The data dir (pod records, console logs, namespace hosts files).
        images: The simulated engine's image record (unused here: kept for the interface
            of `make_engine`).
        client: A connected Docker client (see `connect`).
        telemetry: The telemetry service, served inside every pod's network namespace.
    """

    name = "docker"

    def __init__(
        self,
        config: EmulatorConfig,
        data: DataDir,
        images: Images,
        client: docker.DockerClient,
        telemetry: TelemetryService | None = None,
    ) -> None:
        state = JsonDocument(data.state / "docker.json")
        instance = state.get("instance")
        if not isinstance(instance, str):
            instance = uuid.uuid4().hex[:12]
            state.update("instance", instance)
        self.instance: str = instance
        self._where = where(config.docker_host)
        version = client.version()
        self._version = str(version.get("Version", "?"))
        self.arch: str = str(version.get("Arch", "?"))
        info = client.info()
        local = self._where.startswith(("unix:", "/"))
        driver = str(info.get("CgroupDriver") or "") if local else ""
        self._ctx = EngineContext(
            config, data, client, state, instance, self.arch, driver, telemetry
        )
        # The data dir is the emulator's alone: what pods leave in volumes (a set-user-ID
        # file...) is out of other local users' reach; pods see their volumes nosuid,nodev
        # where the emulator may mount (root on the engine's machine; `_hostmount.py`).
        data.root.chmod(0o700)
        self.nosuid_problem = mount_problem() if local else "the engine is not on this machine"
        security = info.get("SecurityOptions") or []
        rootless = any("rootless" in str(option) for option in security)
        # Files a pod writes must stay manageable through the API: an emulator that is not
        # root runs pods as itself (unless the engine is rootless, where root in a container
        # is the emulator's own user already).
        pod_user = None if os.geteuid() == 0 or rootless else f"{os.getuid()}:{os.getgid()}"
        self._images = DockerImages(self._ctx)
        self._network = Namespaces(self._ctx, self._images)
        self._pods = DockerPods(
            self._ctx, self._images, self._network, pod_user, self.nosuid_problem is None
        )
        self._remove_orphans()
        self._pods.start()

    def describe(self) -> str:
        """One line for the start-up output."""
        config = self._ctx.config
        pull = "pulls missing images" if config.pull else "pulls nothing"
        arch = f"; refuses images not built for {config.require_arch}" * bool(config.require_arch)
        nosuid = ""
        if self.nosuid_problem:
            nosuid = f"; volumes NOT mounted nosuid,nodev ({self.nosuid_problem})"
        return (
            f"Docker {self._version} at {self._where}, {self.arch}, "
            f"instance {self.instance}; {pull}{arch}{nosuid}"
        )

    def build(self, request: BuildRequest) -> None:
        self._images.build(request)

    def load(self, request: LoadRequest) -> None:
        self._images.load(request)

    def image_names(self, user: str) -> list[str]:
        return self._images.image_names(user)

    def run(self, run: PodRun) -> None:
        self._pods.run(run)

    def status(self, user: str, pod_name: str | None) -> dict[str, Any] | None:
        return self._pods.status(user, pod_name)

    def console_log(self, user: str, pod_name: str | None) -> bytes | None:
        return self._pods.console_log(user, pod_name)

    def _remove_orphans(self, keep_known: bool = True) -> None:
        """Remove this instance's containers that no record knows (e.g. after a crash), or
        all of them (`keep_known=False`)."""
        known = self._pods.container_ids() | self._network.sandbox_ids() if keep_known else set()
        with contextlib.suppress(DockerException):
            for container in self._ctx.client.containers.list(
                all=True, filters={"label": f"{LABEL_EMULATOR}={self.instance}"}
            ):
                if object_id(container) not in known:
                    self._pods.remove_container(object_id(container))

    def close(self) -> None:
        """Stop the supervisor; then, by `on_stop`, keep the pods, stop and remove them
        (`remove-pods`), or also remove every image the emulator built, loaded or tagged
        (`purge`)."""
        if not self._pods.stop():
            return
        try:
            if self._ctx.config.on_stop != "keep-pods":
                steps: list[Callable[[], None]] = [
                    lambda: self._pods.discard_running("stopped with the emulator"),
                    self._network.remove_sandboxes,
                    lambda: self._remove_orphans(keep_known=False),
                ]
                if self._ctx.config.on_stop == "purge":
                    steps.append(self._images.purge)
                with self._ctx.lock:
                    for step in steps:  # each whatever became of the others (a full disk)
                        with contextlib.suppress(OSError):
                            step()
        finally:
            if self._ctx.cgroup_driver == "cgroupfs" and os.geteuid() == 0:
                remove_build_cgroups(f"dphi-em-build-{self.instance}-", patience=10)
            self._ctx.client.close()
