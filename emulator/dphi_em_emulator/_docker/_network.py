"""Networking without a bridge: one loopback-only network namespace per user.

A user's networked pods join a namespace held by a tiny `pause` container (network `none`, a
~150-byte static program the emulator writes itself, `_pause.py`), and find each other through
a hosts file the emulator keeps in the data dir (`DATA_DIR/namespaces/<user>/hosts`, mounted
read-only at `/etc/hosts`) naming every such pod `<user>-<pod_name>` and `<pod_name>`, at
127.0.0.1. Which pods join follows the API revision (`network_of`): November 2025, those run
with `namespace=true`; January 2026 (no namespaces), every pod; `both`, `namespace=true` and
every run without it (January's rule). No Docker network is ever created, and no pod has an
address outside 127.0.0.0/8.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from docker.errors import DockerException, NotFound

from .._config import API_NOVEMBER_2025
from .._pause import pause_program
from .._telemetry import hosts_line
from ._common import EngineContext, object_id, safe_name, tar_of
from ._images import DockerImages

#: A pod's network: the user's shared loopback-only namespace, or none at all.
NETWORK_USER = "user"
NETWORK_NONE = "none"


def pod_network(record: dict[str, Any]) -> str:
    """A pod record's network (records written before January 2026 pods: by `namespace`)."""
    network = record.get("network")
    if network in (NETWORK_USER, NETWORK_NONE):
        return str(network)
    return NETWORK_USER if record["namespace"] else NETWORK_NONE


def addresses(user: str, record: dict[str, Any]) -> list[str]:
    """The `host:port`s the user's other pods reach this pod's `ports` at (none: no network):
    the revision's own name first (`<user>-<pod_name>` for a namespace pod, else the bare
    pod name), both resolve."""
    pod_name = record["pod_name"]
    if not pod_name or pod_network(record) != NETWORK_USER:
        return []
    names = [f"{user}-{pod_name}", pod_name]
    if not record["namespace"]:
        names.reverse()
    return [f"{name}:{port}" for port in record["ports"] or [] for name in names]


class Namespaces:
    """The users' network namespaces (sandbox containers) and their hosts files.

    Args:
        ctx: The engine's shared context.
        images: The engine's images (the sandbox's `pause` image is built there).
    """

    def __init__(self, ctx: EngineContext, images: DockerImages) -> None:
        self._ctx = ctx
        self._images = images
        self._folder = ctx.data.root / "namespaces"

    def network_of(self, namespace: bool) -> str:
        """`user` (the user's shared loopback namespace) or `none` for a new pod.

        November 2025: only pods run with `namespace=true` have one. January 2026 has no
        namespaces and every pod reaches the user's other pods by pod name, so every pod joins.
        `both`: `namespace=true` as November; a run without it follows January's rule (a
        January client can't ask for a namespace, and nothing tells the two apart).
        """
        if namespace or self._ctx.config.api != API_NOVEMBER_2025:
            return NETWORK_USER
        return NETWORK_NONE

    def hosts_file(self, user: str, pod_name: str) -> Path:
        """The user's namespace hosts file, naming `pod_name` too; rewritten in place, so
        that pods that mounted it earlier see the new names."""
        path = self._folder / safe_name(user) / "hosts"
        path.parent.mkdir(parents=True, exist_ok=True)
        names: list[str] = list(self._ctx.state.get(f"hosts:{user}") or [])
        if pod_name and pod_name not in names:
            names.append(pod_name)
            self._ctx.state.update(f"hosts:{user}", names)
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        lines += [f"127.0.0.1\t{user}-{name} {name}" for name in sorted(names)]
        if self._ctx.telemetry is not None:  # hook (issue 18): satellite-telemetry.dphi-tm
            lines.append(hosts_line())
        text = ("\n".join(lines) + "\n").encode()
        path.touch(exist_ok=True)
        with open(path, "r+b") as file:  # in place: the mounted file is this inode
            if file.read() != text:
                file.seek(0)
                file.truncate()
                file.write(text)
        path.chmod(0o644)
        return path

    def sandbox(self, user: str) -> str:
        """The id of the user's namespace container (created and started when needed)."""
        sandboxes: dict[str, str] = self._ctx.state.get("sandboxes") or {}
        known = sandboxes.get(user)
        if known:
            try:
                container = self._ctx.client.containers.get(known)
                if container.status == "running":
                    return object_id(container)
                container.remove(force=True)
                self._forget_telemetry(known)
            except NotFound:
                pass
        container_id = self._pause(user, "namespace")
        sandboxes[user] = container_id
        self._ctx.state.update("sandboxes", sandboxes)
        return container_id

    def private_sandbox(self, user: str) -> str:
        """A new loopback-only namespace for one pod without network (issue 18: where the
        telemetry service listens for it); the pod's removal removes it (`_pods.py`)."""
        return self._pause(user, "pod-namespace")

    def remove_private_sandbox(self, container_id: str) -> None:
        self._forget_telemetry(container_id)
        with contextlib.suppress(DockerException):
            self._ctx.client.api.remove_container(container_id, force=True)

    def pid(self, container_id: str) -> int:
        """The process id (on the host) holding a sandbox's namespace."""
        return int(self._ctx.client.api.inspect_container(container_id)["State"]["Pid"])

    def _forget_telemetry(self, container_id: str) -> None:
        if self._ctx.telemetry is not None:
            self._ctx.telemetry.detach(container_id)

    def _pause(self, user: str, role: str) -> str:
        """Create and start a pause container (network `none`) in `role`; its id."""
        image = self._pause_image()
        container = self._ctx.client.containers.create(
            image,
            name=self._ctx.container_name(user, role),
            labels=self._ctx.labels(role, user),
            network_mode="none",
            mem_limit=16 * 1024 * 1024,
            pids_limit=4,
            security_opt=["no-new-privileges"],
            cap_drop=["ALL"],
            privileged=False,
            user="65534:65534",
        )
        container.start()
        return object_id(container)

    def _pause_image(self) -> str:
        """The pause image's ID: the one the emulator built and recorded (a system image),
        never whatever the tag names now (a user's load could have moved it)."""
        tag = f"dphi-em-pause:{self._ctx.instance}"
        ownership = self._images.ownership
        recorded = ownership.system_images().get(tag)
        if recorded is not None and self._images.get(recorded) is not None:
            return recorded
        program = pause_program(self._ctx.arch)
        if program is None:
            raise DockerException(f"no namespace sandbox for a {self._ctx.arch} engine")
        dockerfile = b'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n'
        image, _ = self._ctx.client.images.build(
            fileobj=tar_of({"Dockerfile": dockerfile, "pause": program}, {"pause": 0o755}),
            custom_context=True,
            tag=tag,
            rm=True,
            forcerm=True,
            network_mode="none",
            labels=self._ctx.labels("namespace", ""),
        )
        ownership.record_system(tag, object_id(image))
        return object_id(image)

    def sandbox_ids(self) -> set[str]:
        """The containers holding the users' namespaces (none is an orphan)."""
        return set((self._ctx.state.get("sandboxes") or {}).values())

    def remove_sandboxes(self) -> None:
        """Stop and remove every user's sandbox (their pods are gone first)."""
        for container_id in self.sandbox_ids():
            self._forget_telemetry(container_id)
            with contextlib.suppress(DockerException):
                self._ctx.client.api.remove_container(container_id, force=True)
        self._ctx.state.update("sandboxes", None)
