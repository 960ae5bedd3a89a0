"""Pods as containers: the records, the supervisor, creating, watching and ending them.

A record per pod (`docker-pods.json`); a supervisor thread starts each at its (scaled)
`scheduled_time`, stops it gracefully `max_duration` (scaled) minutes after it started and
kills it after the grace period. A finished container's state becomes the pod's `terminated`
state (`_states.py`), its console output goes to `DATA_DIR/logs/`, and the container is
removed, its volume disarmed (no set-ID bits, no device nodes). Containment: no privileges,
capabilities dropped to `POD_CAPABILITIES`, no host network, no mount but the volume at
`/data` (`nosuid,nodev`: `_hostmount.py`) and the namespace's hosts file (`_network.py`),
pids and memory limits, `no-new-privileges`. A pod's image is the ID `ImageOwnership.resolve`
gives. No fault (a full disk, a vanished container, the engine gone) ends the supervisor: the
pod says why, and records that could not be written are written later.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docker.errors import DockerException, NotFound
from docker.models.containers import Container
from docker.models.images import Image
from docker.types import LogConfig

from .._config import NODE_NAMES
from .._engine import CONSOLE_NOTE, PodRun
from .._errors import EMError
from .._images import same_image
from .._pods import pod_report
from .._state import DEFAULT_VOLUME, JsonDocument
from ._common import (
    CG2_ARCH,
    LABEL_POD,
    EngineContext,
    engine_time,
    explain,
    object_id,
    rfc3339,
    with_tag,
)
from ._hostmount import clear_stale, nosuid_view
from ._images import DockerImages
from ._kernel_log import oom_killed
from ._network import NETWORK_USER, Namespaces, addresses, pod_network
from ._ownership import ImageAccessDenied
from ._states import PULLING, SETTLED, container_state, finish, terminate

#: The only capabilities a pod keeps (Docker's default set without MKNOD, SETFCAP, FSETID,
#: SETPCAP, NET_RAW, SYS_CHROOT, AUDIT_WRITE): what an image running as root needs to own
#: and hand over its files, switch to its own service users, signal them, bind low ports.
POD_CAPABILITIES = (
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "SETUID",
    "SETGID",
    "KILL",
    "NET_BIND_SERVICE",
)
#: Seconds (wall clock) before a pod whose container could not be created is tried again.
CREATE_RETRY = 2.0
#: Kubernetes' first image pull back-off (seconds, divided by the time scale).
PULL_BACKOFF = 10.0
#: Most bytes of a pod's console output kept.
MAX_CONSOLE_BYTES = 10 * 1024 * 1024
_TICK = 0.1
_log = logging.getLogger("dphi_em_emulator")
#: Seconds a SIGKILLed pod's end waits for the engine's OOM event, which can trail the exit.
_OOM_EVENT_WAIT = 3.0


def disarm_volume(volume: Path) -> None:
    """Clear the set-user-ID and set-group-ID bits of a volume's files and remove its device
    nodes: what a pod left there must not give anyone on the host its privileges
    (the volume is mounted `nosuid,nodev` where the emulator can mount it, and the data dir
    is the emulator's alone, but a copy of the folder would carry them)."""
    # a volume deleted meanwhile: nothing to disarm; folders deeper than Python recurses
    # (a pod can make any depth) stay as they are: the mount and the data dir's mode hold
    with contextlib.suppress(OSError, RecursionError):
        _disarm(volume)


def _disarm(volume: Path) -> None:
    for _top, folders, files, top_fd in os.fwalk(volume, follow_symlinks=False):
        for name in folders + files:
            with contextlib.suppress(OSError):
                st = os.stat(name, dir_fd=top_fd, follow_symlinks=False)
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                    os.unlink(name, dir_fd=top_fd)
                elif not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o6000:
                    os.chmod(name, stat.S_IMODE(st.st_mode) & ~0o6000, dir_fd=top_fd)


def _warn(record: dict[str, Any], warnings: list[str]) -> None:
    """Add warnings the pod's record does not have yet."""
    record["warnings"].extend(w for w in warnings if w not in record["warnings"])


class DockerPods:
    """The users' pods: records, a supervisor thread, and their containers.

    Args:
        ctx: The engine's shared context.
        images: The engine's images (what a pod runs).
        network: The users' namespaces (what a networked pod joins).
        pod_user: `uid:gid` to run pods as, or None for the image's `USER`.
        nosuid: Hand volumes to the engine through `nosuid,nodev` views (`_hostmount.py`).
    """

    def __init__(
        self,
        ctx: EngineContext,
        images: DockerImages,
        network: Namespaces,
        pod_user: str | None,
        nosuid: bool = False,
    ) -> None:
        self._ctx = ctx
        self._images = images
        self._network = network
        self._pod_user = pod_user
        self._nosuid = nosuid
        self._staging = ctx.data.root / "mounts"
        if nosuid:
            clear_stale(self._staging)
        self._logs = ctx.data.root / "logs"
        self._pods_doc = JsonDocument(ctx.data.state / "docker-pods.json")
        self._records: dict[tuple[str, str], dict[str, Any]] = {}
        for user in ctx.config.users:
            for key, record in (self._pods_doc.get(user) or {}).items():
                if record.get("phase") == PULLING:
                    record["phase"] = "scheduled"  # the pull stopped with the emulator
                self._records[(user, key)] = record
        self._unsaved: set[str] = set()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._supervise, name=f"dphi-em-pods-{ctx.instance}", daemon=True
        )

    def container_ids(self) -> set[str]:
        """The containers the pod records know (and the pods' own namespace holders)."""
        return {
            str(r[key])
            for r in self._records.values()
            for key in ("container", "private_sandbox")
            if r.get(key)
        }

    def start(self) -> None:
        """Start the supervisor (pods recorded before a restart are picked up)."""
        self._thread.start()

    def stop(self) -> bool:
        """Stop the supervisor; False when it was stopped already."""
        if self._stopping:
            return False
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=30)
        return True

    def discard_running(self, why: str) -> None:
        """Stop and remove every running pod's container now (its state says `why`)."""
        with self._ctx.lock:
            for (user, _), record in self._records.items():
                if record["phase"] == "running":
                    with contextlib.suppress(DockerException):
                        self._discard_container(user, record, why)
                    self._save(user)

    def _save(self, user: str) -> None:
        """Write the user's pod records; when that fails (a full disk), keep them in memory
        and write them at the next chance: a fault never fails a pod call."""
        self._unsaved.add(user)
        for owner in sorted(self._unsaved):
            pods = {pod: rec for (who, pod), rec in self._records.items() if who == owner}
            try:
                self._pods_doc.update(owner, pods or None)
            except OSError as exc:
                _log.warning("pod records of %r not written (kept in memory): %s", owner, exc)
                return
            self._unsaved.discard(owner)

    def run(self, run: PodRun) -> None:
        """Record a pod (replacing the user's pod of that name); the supervisor starts it."""
        spec = run.spec
        if spec.command is not None:
            try:
                shlex.split(spec.command)
            except ValueError as exc:
                raise EMError(
                    400, "INVALID_PARAMETERS", f"Invalid command {spec.command!r}: {exc}."
                ) from None
        now = time.time()
        delay = 0.0
        if spec.scheduled_time is not None:
            delay = max(0.0, spec.scheduled_time.timestamp() - now) / self._ctx.config.time_scale
        record: dict[str, Any] = {
            "pod_name": run.pod_name or "",
            "image": spec.image,
            "image_ref": spec.image,
            "node": spec.node,
            "max_duration": spec.max_duration,
            "scheduled_time": spec.scheduled_time.isoformat() if spec.scheduled_time else None,
            "command": spec.command,
            "args": spec.args,
            "envs": spec.envs,
            "ports": spec.ports,
            "namespace": spec.namespace,
            "network": self._network.network_of(spec.namespace),
            "volume": str(run.volume),
            "created": now,
            "start_at": now + delay,
            "duration": spec.max_duration * 60.0 / self._ctx.config.time_scale,
            "phase": "scheduled",
            "warnings": [],
        }
        if NODE_NAMES[spec.node] in self._ctx.config.not_ready_nodes:
            record["phase"] = "waiting"
            record["waiting"] = {
                "reason": "Unschedulable",
                "message": f"0/3 nodes are available: node {NODE_NAMES[spec.node]!r} is not ready.",
            }
        key = (run.user, run.pod_name or "")
        with self._ctx.lock:
            old = self._records.get(key)
            if old is not None:
                self._discard_container(run.user, old, "replaced by a new run")
            self._records[key] = record
            self._save(run.user)
        self._wake.set()

    def _supervise(self) -> None:
        while not self._stopping:
            self._wake.wait(_TICK)
            self._wake.clear()
            if self._stopping:
                return
            try:
                with self._ctx.lock:
                    if self._unsaved:
                        self._save(min(self._unsaved))
                for key in list(self._records):
                    with self._ctx.lock:
                        record = self._records.get(key)
                        if record is None or self._stopping or record["phase"] in SETTLED:
                            continue
                        self._advance_and_save(key[0], record, time.time())
            except Exception:
                _log.exception("pod supervisor: a fault, carrying on")

    def _advance_and_save(self, user: str, record: dict[str, Any], now: float) -> None:
        """Advance a pod; write the records only when it changed."""
        before = json.dumps(record, sort_keys=True)
        try:
            self._advance(user, record, now)
        except DockerException as exc:  # the engine went away: say so (once), go on
            warning = f"engine: {explain(exc)}"
            if warning not in record["warnings"]:
                record["warnings"].append(warning)
        except Exception as exc:
            warning = f"emulator: {type(exc).__name__}: {exc}"
            _log.warning("pod %r of %r: %s", record.get("pod_name"), user, warning)
            if warning not in record["warnings"]:
                record["warnings"].append(warning)
        if json.dumps(record, sort_keys=True) != before:
            self._save(user)

    def _advance(self, user: str, record: dict[str, Any], now: float) -> None:
        phase = record["phase"]
        if phase == "scheduled" and now >= record["start_at"]:
            self._start(user, record, now)
        elif phase == "running":
            self._watch(user, record, now)
        elif phase == "waiting":
            waiting = record["waiting"]
            if (
                waiting["reason"] == "CreateContainerError"
                and now >= waiting.get("since", now) + CREATE_RETRY
            ):
                record["phase"] = "scheduled"
                self._start(user, record, now)
            elif waiting["reason"] == "ErrImagePull" and now >= waiting["since"] + (
                PULL_BACKOFF / self._ctx.config.time_scale
            ):
                waiting["reason"] = "ImagePullBackOff"
                waiting["message"] = (
                    f'Back-off pulling image "{record["image_ref"]}": ErrImagePull: '
                    + waiting["message"]
                )

    def _resolve(self, user: str, image: str) -> tuple[Image | None, str, str]:
        """(the image or None, the reference run or tried, why it is missing), through the
        one resolution of references (`ImageOwnership.resolve`)."""
        own = f"{user}-{image}"
        looks_public = (
            ":" in image
            or "/" in image
            or any(same_image(image, public) for public in self._ctx.config.public_images)
        )
        shown = image if looks_public else own
        try:
            resolved = self._images.ownership.resolve(user, image)
        except ImageAccessDenied as exc:
            return None, shown, str(exc)
        if looks_public:  # issue 17: only the onboard registry's images run...
            ownership = self._images.ownership
            users_own = resolved is not None and (
                any(ownership.own(user, name) is not None for name in (own, image))
                or bool(ownership.owners(resolved.image_id, resolved.image))
            )
            refused = None if users_own else self._images.onboard.problem(image)
            if refused is not None:  # (...but a user's own image is ownership's question)
                return None, shown, refused
        if resolved is not None:
            return resolved.image, resolved.shown, ""
        found = self._images.provide(image, user, pull=False)  # an onboard stand-in's tag
        if found is not None:
            return found, image, ""
        if looks_public and self._images.onboard.could_stand_in(image):
            return None, image, PULLING  # issue 17: its stand-in is made in `_pull_for`
        if self._ctx.config.pull and looks_public:
            return None, image, PULLING
        pulling = "" if self._ctx.config.pull else " (the emulator pulls nothing: --pull is off)"
        recipe, why = self._images.onboard.recipe(image)  # issue 17: why no stand-in
        unstood = f"; {why}" if looks_public and recipe is None else ""
        return None, shown, f"No such image: {with_tag(shown)}{pulling}{unstood}"

    def _start(self, user: str, record: dict[str, Any], now: float) -> None:
        image, ref, problem = self._resolve(user, record["image"])
        record["image_ref"] = ref
        if problem == PULLING and record.get("pulled"):
            image, problem = None, f'image "{with_tag(ref)}" is still not in the engine'
        elif problem == PULLING:  # in a thread of its own: the engine lock is not held
            record["phase"] = "pulling"
            note = self._images.onboard.note(ref)  # issue 17: a stand-in to make
            if note is not None and self._images.get(ref) is None:
                record["warnings"].append(note)
            threading.Thread(
                target=self._pull_for, args=(user, record), name="dphi-em-pull", daemon=True
            ).start()
            return
        if image is None:
            record["phase"] = "waiting"
            record["waiting"] = {"reason": "ErrImagePull", "message": problem, "since": now}
            return
        arch = str(image.attrs.get("Architecture") or "?")
        record["arch"] = arch
        wrong_arch = self._images.architecture_problem(image, ref)
        if wrong_arch is not None:
            self._write_log(user, record, f"exec format error: {wrong_arch}\n".encode())
            terminate(record, 1, "Error", now, now, f"exec format error: {wrong_arch}")
            return
        stand_in = self._images.onboard.describe(image)  # issue 17: say when it is a stand-in
        if stand_in is not None:
            record["warnings"].append(
                f"image {ref} is a local stand-in ({stand_in}), not the onboard registry's image"
            )
        if arch != CG2_ARCH:
            record["warnings"].append(
                f"image {ref} is built for linux/{arch}: CG2 runs linux/{CG2_ARCH}, where it "
                "would fail with 'exec format error' (--require-arch arm64 refuses it here)"
            )
        with contextlib.ExitStack() as mounted:  # the nosuid,nodev view: until started
            try:
                volume = Path(record["volume"])
                volume.mkdir(parents=True, exist_ok=True)
                source = mounted.enter_context(nosuid_view(volume, self._staging, self._nosuid))
                container = self._create(user, record, image, source)
            except (DockerException, OSError) as exc:
                # e.g. a full disk: Kubernetes tries again, and so does the supervisor
                message = explain(exc) if isinstance(exc, DockerException) else str(exc)
                record["phase"] = "waiting"
                record["waiting"] = {
                    "reason": "CreateContainerError",
                    "message": message,
                    "since": now,
                }
                return
            record["container"] = object_id(container)
            record["container_name"] = container.name
            try:
                container.start()
            except DockerException as exc:
                self._save_console(user, record, container)
                self.remove_container(object_id(container))
                terminate(record, 128, "StartError", now, now, explain(exc))
                return
        record["phase"] = "running"
        record["started"] = time.time()
        container.reload()
        record["started_at"] = engine_time(container.attrs["State"].get("StartedAt"))
        record["started_at"] = record["started_at"] or rfc3339(record["started"])

    def _pull_for(self, user: str, record: dict[str, Any]) -> None:
        """Pull a pod's image (`--pull`); then let the supervisor start it, or say why not."""
        log: list[str] = []
        try:
            image = self._images.provide(record["image_ref"], user, log)
        except ImageAccessDenied as exc:
            image, log = None, [str(exc)]
        with self._ctx.lock:
            if self._records.get((user, record["pod_name"])) is not record:
                return  # replaced meanwhile
            if image is not None:
                record["phase"] = "scheduled"  # its time has come: started at the next tick
                record["pulled"] = True
            else:
                reason = log[-1].strip() if log else f"pull {record['image_ref']} failed"
                record["phase"] = "waiting"
                record["waiting"] = {
                    "reason": "ErrImagePull",
                    "message": reason,
                    "since": time.time(),
                }
            self._save(user)
        self._wake.set()

    def _create(self, user: str, record: dict[str, Any], image: Image, source: Path) -> Container:
        volume = Path(record["volume"])
        if os.geteuid() == 0:
            volume.chmod(0o777)  # as a local-path volume: a pod of any uid can write
        volumes = {str(source): {"bind": "/data", "mode": "rw"}}
        network = "none"
        telemetry = self._ctx.telemetry
        if pod_network(record) == NETWORK_USER:
            sandbox = self._network.sandbox(user)
            network = f"container:{sandbox}"
            hosts = self._network.hosts_file(user, record["pod_name"])
            volumes[str(hosts)] = {"bind": "/etc/hosts", "mode": "ro"}
            if telemetry is not None:  # hook (issue 18): the service in the user's namespace
                taken = self._ports_taken(user, record)
                _warn(record, telemetry.attach(sandbox, self._network.pid(sandbox), taken))
        elif telemetry is not None and telemetry.in_pods:
            # hook (issue 18): a pod without network gets a loopback-only namespace of its own
            # where only the telemetry service listens (docs/telemetry.md); without one (the
            # pause image can't be made), it runs with no network as before
            try:
                record["private_sandbox"] = sandbox = self._network.private_sandbox(user)
                _warn(record, telemetry.attach(sandbox, self._network.pid(sandbox)))
            except DockerException as exc:
                self._drop_private_sandbox(record)
                _warn(record, [f"telemetry: not served in this pod: {explain(exc)}"])
            else:
                network = f"container:{sandbox}"
                volumes[str(telemetry.hosts_file())] = {"bind": "/etc/hosts", "mode": "ro"}
        entrypoint: list[str] | None = None
        command: list[str] | None = list(record["args"]) if record["args"] else None
        if record["command"] is not None and shlex.split(record["command"]):
            entrypoint = shlex.split(record["command"])
            command = list(record["args"] or [])
        environment = {name: str(value) for name, value in (record["envs"] or {}).items()}
        kwargs: dict[str, Any] = {}
        if self._pod_user is not None:
            kwargs["user"] = self._pod_user
        try:
            return self._ctx.client.containers.create(
                object_id(image),
                command=command,
                entrypoint=entrypoint,
                environment=environment,
                name=self._ctx.container_name(user, record["pod_name"] or DEFAULT_VOLUME),
                labels=self._ctx.labels("pod", user, **{LABEL_POD: record["pod_name"]}),
                network_mode=network,
                volumes=volumes,
                mem_limit=self._ctx.config.pod_memory,
                memswap_limit=self._ctx.config.pod_memory,
                pids_limit=self._ctx.config.pod_pids,
                security_opt=["no-new-privileges"],
                cap_drop=["ALL"],
                cap_add=list(POD_CAPABILITIES),
                privileged=False,
                log_config=LogConfig(
                    type=LogConfig.types.JSON, config={"max-size": "10m", "max-file": "1"}
                ),
                **kwargs,
            )
        except DockerException:
            self._drop_private_sandbox(record)
            raise

    def _ports_taken(self, user: str, record: dict[str, Any]) -> set[int]:
        """The ports this pod and the user's running networked pods declared (issue 18: the
        telemetry service gives them up in the user's namespace)."""
        taken = set(record["ports"] or [])
        for (owner, _), other in self._records.items():
            if owner == user and other["phase"] == "running" and pod_network(other) == NETWORK_USER:
                taken.update(other["ports"] or [])
        return taken

    def _drop_private_sandbox(self, record: dict[str, Any]) -> None:
        sandbox = record.pop("private_sandbox", None)
        if sandbox:
            self._network.remove_private_sandbox(sandbox)

    def _watch(self, user: str, record: dict[str, Any], now: float) -> None:
        try:
            container = self._ctx.client.containers.get(record["container"])
        except NotFound:
            terminate(
                record,
                137,
                "ContainerStatusUnknown",
                record["started"],
                now,
                "The container could not be located when the pod was terminated",
            )
            return
        state = container.attrs["State"]
        if state.get("Status") in ("exited", "dead"):
            killed = state.get("ExitCode") == 137 and not state.get("OOMKilled")
            if killed and record.get("stop_sent") is None:
                # the engine can miss an OOM kill (`_kernel_log.py`), or learn of it just
                # after the exit: the kernel's log says at once, else look again for a while
                if "kernel_oom" not in record:
                    record["kernel_oom"] = oom_killed(object_id(container))
                if record["kernel_oom"]:
                    state = {**state, "OOMKilled": True}
                else:
                    seen = record.setdefault("killed_seen", now)
                    if now < seen + _OOM_EVENT_WAIT:
                        return
            self._finish(user, record, container, state)
            return
        if now < record["started"] + record["duration"]:
            return
        grace = self._ctx.config.stop_grace / self._ctx.config.time_scale
        if record.get("stop_sent") is None:
            record["stop_sent"] = now
            with contextlib.suppress(DockerException):
                container.kill(signal="SIGTERM")
        elif not record.get("killed") and now >= record["stop_sent"] + grace:
            record["killed"] = True
            with contextlib.suppress(DockerException):
                container.kill(signal="SIGKILL")

    def _finish(
        self, user: str, record: dict[str, Any], container: Container, state: dict[str, Any]
    ) -> None:
        self._save_console(user, record, container)
        self.remove_container(object_id(container))
        disarm_volume(Path(record["volume"]))
        finish(record, state)

    def _discard_container(self, user: str, record: dict[str, Any], why: str) -> None:
        """Stop and remove a pod's container at once (its console log is kept)."""
        container_id = record.get("container")
        if record["phase"] != "running" or not container_id:
            return
        try:
            container = self._ctx.client.containers.get(container_id)
        except DockerException:
            return
        with contextlib.suppress(DockerException):
            container.kill(signal="SIGKILL")
        with contextlib.suppress(DockerException):
            container.reload()
        self._save_console(user, record, container)
        self.remove_container(container_id)
        disarm_volume(Path(record["volume"]))
        terminate(record, 137, "Error", record.get("started", time.time()), time.time(), why)

    def remove_container(self, container_id: str) -> None:
        """Remove a container (stopping it), whatever became of it (and the pod's own
        namespace holder, if it had one)."""
        with contextlib.suppress(DockerException):
            self._ctx.client.api.remove_container(container_id, force=True)
        for record in self._records.values():
            if record.get("container") == container_id:
                self._drop_private_sandbox(record)

    def _log_path(self, user: str, record: dict[str, Any]) -> Path:
        return self._logs / user / f"{record['pod_name'] or DEFAULT_VOLUME}.log"

    def _write_log(
        self, user: str, record: dict[str, Any], chunks: bytes | Iterator[bytes]
    ) -> None:
        path = self._log_path(user, record)
        path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with open(path, "wb") as file:
            for chunk in [chunks] if isinstance(chunks, bytes) else chunks:
                if written >= MAX_CONSOLE_BYTES:
                    break
                file.write(chunk[: MAX_CONSOLE_BYTES - written])
                written += len(chunk)

    def _save_console(self, user: str, record: dict[str, Any], container: Container) -> None:
        with contextlib.suppress(DockerException, OSError):
            self._write_log(user, record, container.logs(stdout=True, stderr=True, stream=True))

    def console_log(self, user: str, pod_name: str | None) -> bytes | None:
        """The pod's console output so far, or None for an unknown pod."""
        with self._ctx.lock:
            record = self._records.get((user, pod_name or ""))
            if record is None:
                return None
            if record["phase"] == "running":
                with contextlib.suppress(DockerException):
                    data: bytes = self._ctx.client.api.logs(
                        record["container"], stdout=True, stderr=True
                    )
                    return data[-MAX_CONSOLE_BYTES:]
            try:
                return self._log_path(user, record).read_bytes()
            except OSError:
                return b""

    def status(self, user: str, pod_name: str | None) -> dict[str, Any] | None:
        """`{"state": <ContainerState>, "emulator": {...}}`, or None for an unknown pod."""
        with self._ctx.lock:
            record = self._records.get((user, pod_name or ""))
            if record is None:
                return None
            now = time.time()
            if record["phase"] in ("running", "waiting"):  # the supervisor starts pods
                self._advance_and_save(user, record, now)
            state = container_state(record, now)
            report = pod_report(record, user)
            report.update(
                engine="docker",
                container=record.get("container_name"),
                architecture=record.get("arch"),
                console=CONSOLE_NOTE,
                warnings=list(record.get("warnings") or []),
                network=pod_network(record),
                addresses=addresses(user, record),
            )
            return {"state": state, "emulator": report}
