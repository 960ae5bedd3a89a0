"""The Docker engine: real image builds and loads, and pods that run as containers.

The only module that imports the Docker SDK for Python (`docker` on PyPI).

- **Images.** `build` streams a context tar made from the volume (`_dockerfile.py`) to the
  engine's builder with the network off (the EM's builds are air-gapped) and tags the result
  `<user>-<image>`; a failure answers `BUILD_FAILED` with the real log's last 100 lines. Base
  images named by the onboard registry (`fpga.dphi.space:5000/alpine:3.20`) are tagged from
  the local image that stands for them (`--registry-map`). `load` loads a `docker save` tar,
  tags the image `<user>-<image>` and puts back whatever the tar's own names had pointed to.
  Built images carry labels; both kinds are recorded per emulator instance (`docker.json`).
- **Pods.** A record per pod (`docker-pods.json`); a supervisor thread starts each at its
  (scaled) `scheduled_time`, stops it gracefully `max_duration` (scaled) minutes after it
  started and kills it after the grace period. A finished container's state becomes the
  pod's `terminated` state, its console output goes to `DATA_DIR/logs/`, and the container is
  removed.
- **Containment.** Network `none`, or the user's namespace: one `pause` container per user
  holding a loopback-only network namespace that the user's networked pods join (November:
  `namespace=true`; January 2026 and `both` without it: every pod), with a hosts file (kept
  in the data dir, mounted read-only) naming them `<user>-<pod_name>` and `<pod_name>`.
  No privileges, no host network, no mount but the volume at `/data` (and that hosts file),
  pids and memory limits, `no-new-privileges`. Every container and sandbox is labelled with
  the emulator instance.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.models.images import Image
from docker.types import LogConfig
from docker.utils.build import PatternMatcher

from . import _dockerfile, _images
from ._config import API_NOVEMBER_2025, NODE_NAMES, EmulatorConfig
from ._engine import CONSOLE_NOTE, BuildRequest, LoadRequest, PodEngine, PodRun
from ._errors import BUILD_FAILED, IMAGE_LOAD_FAILED, EMError
from ._images import Images, same_image
from ._pause import pause_program
from ._pods import pod_report
from ._state import DEFAULT_VOLUME, DataDir, JsonDocument

#: Label keys on everything the emulator creates in the engine.
LABEL_EMULATOR = "space.dphi.em.emulator"
LABEL_USER = "space.dphi.em.user"
LABEL_POD = "space.dphi.em.pod"
LABEL_ROLE = "space.dphi.em.role"
LABEL_IMAGE = "space.dphi.em.image"
#: The architecture of CG2's nodes.
CG2_ARCH = "arm64"
#: Lines of build log returned with `BUILD_FAILED` (the contract's "last 100 lines").
LOG_TAIL_LINES = 100
#: Kubernetes' first image pull back-off (seconds, divided by the time scale).
PULL_BACKOFF = 10.0
#: Most bytes of a pod's console output kept.
MAX_CONSOLE_BYTES = 10 * 1024 * 1024
_TICK = 0.1
#: Seconds a SIGKILLed pod's end waits for the engine's OOM event, which can trail the exit.
_OOM_EVENT_WAIT = 3.0
_PULLING = "pulling"
#: A pod's network: the user's shared loopback-only namespace, or none at all.
NETWORK_USER = "user"
NETWORK_NONE = "none"
#: Pod phases the supervisor has nothing more to do for.
_SETTLED = frozenset({"done"})
_DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_STEP_IMAGE = re.compile(r"^ ---> ([0-9a-f]{12})\s*$")
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def connect(docker_host: str | None) -> tuple[docker.DockerClient | None, str]:
    """A client of the engine at `docker_host` (else `DOCKER_HOST`, else the default socket),
    or None and why not."""
    where = docker_host or os.environ.get("DOCKER_HOST") or _DEFAULT_SOCKET
    try:
        probe = (
            docker.DockerClient(base_url=docker_host, timeout=5)
            if docker_host
            else docker.from_env(timeout=5)
        )
        try:
            probe.ping()
        finally:
            probe.close()
        client = (
            docker.DockerClient(base_url=docker_host, timeout=3600)
            if docker_host
            else docker.from_env(timeout=3600)
        )
    except DockerException as exc:
        return None, f"none answers at {where} ({_first_line(str(exc))})"
    return client, ""


def _network(record: dict[str, Any]) -> str:
    """A pod record's network (records written before January 2026 pods: by `namespace`)."""
    network = record.get("network")
    if network in (NETWORK_USER, NETWORK_NONE):
        return str(network)
    return NETWORK_USER if record["namespace"] else NETWORK_NONE


def _addresses(user: str, record: dict[str, Any]) -> list[str]:
    """The `host:port`s the user's other pods reach this pod's `ports` at (none: no network):
    the revision's own name first (`<user>-<pod_name>` for a namespace pod, else the bare
    pod name), both resolve."""
    pod_name = record["pod_name"]
    if not pod_name or _network(record) != NETWORK_USER:
        return []
    names = [f"{user}-{pod_name}", pod_name]
    if not record["namespace"]:
        names.reverse()
    return [f"{name}:{port}" for port in record["ports"] or [] for name in names]


def _id(thing: Image | Container) -> str:
    return str(thing.id)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "no detail"


def _explain(exc: BaseException) -> str:
    if isinstance(exc, APIError):
        return _first_line(str(exc.explanation or exc))
    return _first_line(str(exc))


def _rfc3339(instant: float) -> str:
    return datetime.fromtimestamp(instant, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _engine_time(value: str | None) -> str | None:
    """`2026-12-02T06:00:00.123456789Z` -> `2026-12-02T06:00:00Z` (None for the zero time)."""
    if not value or value.startswith("0001-"):
        return None
    return value[:19] + "Z"


def _without_latest(name: str) -> str:
    return name[: -len(":latest")] if name.endswith(":latest") else name


def _with_tag(name: str) -> str:
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last or "@" in name else f"{name}:latest"


def _split_tag(name: str) -> tuple[str, str]:
    repository, _, tag = _with_tag(name).rpartition(":")
    return repository, tag


def _build_failed(lines: list[str], message: str = "Docker image build failed") -> EMError:
    tail = [line if line.endswith("\n") else line + "\n" for line in lines][-LOG_TAIL_LINES:]
    return EMError(400, BUILD_FAILED, message, tail)


def _load_failed(lines: list[str]) -> EMError:
    tail = [line if line.endswith("\n") else line + "\n" for line in lines][-LOG_TAIL_LINES:]
    return EMError(400, IMAGE_LOAD_FAILED, "Tar file loading failed", tail)


def build_busybox_image(
    client: docker.DockerClient, tag: str, busybox: Path = Path("/bin/busybox")
) -> Image:
    """Build an image `FROM scratch` holding a static busybox (its applets linked in
    `/bin`), tagged `tag`: a base image for machines that can pull nothing.

    Args:
        client: The engine.
        tag: The name to give it (e.g. `fpga.dphi.space:5000/busybox:1.36`).
        busybox: A statically linked busybox binary (Debian: `busybox-static`).

    Raises:
        FileNotFoundError: No busybox at `busybox`.
        docker.errors.BuildError: The build failed.
    """
    program = busybox.read_bytes()
    dockerfile = (
        b"FROM scratch\n"
        b"COPY busybox /bin/busybox\n"
        b'RUN ["/bin/busybox", "mkdir", "-p", "/usr/bin", "/sbin", "/usr/sbin", "/tmp", '
        b'"/data", "/etc", "/root"]\n'
        b'RUN ["/bin/busybox", "--install", "-s"]\n'
        b'RUN ["/bin/busybox", "chmod", "1777", "/tmp"]\n'
        b'CMD ["/bin/sh"]\n'
    )
    image, _ = client.images.build(
        fileobj=_tar({"Dockerfile": dockerfile, "busybox": program}, {"busybox": 0o755}),
        custom_context=True,
        tag=tag,
        rm=True,
        forcerm=True,
        network_mode="none",
    )
    return image


def _tar(files: dict[str, bytes], modes: dict[str, int] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = (modes or {}).get(name, 0o644)
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


class DockerEngine(PodEngine):
    """Images in a Docker engine, pods as its containers.

    Args:
        config: The emulator's configuration (`registry_map`, `pull`, `require_arch`,
            `pod_memory`, `pod_pids`, `stop_grace`, `on_stop`, `time_scale`, ...).
        data: The data dir (pod records, console logs, namespace hosts files).
        images: The simulated engine's image record (unused here: kept for the interface
            of `make_engine`).
        client: A connected Docker client (see `connect`).
    """

    name = "docker"

    def __init__(
        self, config: EmulatorConfig, data: DataDir, images: Images, client: docker.DockerClient
    ) -> None:
        self._config = config
        self._data = data
        self._client = client
        self._lock = threading.RLock()
        self._state = JsonDocument(data.state / "docker.json")
        instance = self._state.get("instance")
        if not isinstance(instance, str):
            instance = uuid.uuid4().hex[:12]
            self._state.update("instance", instance)
        self.instance: str = instance
        self._pods_doc = JsonDocument(data.state / "docker-pods.json")
        self._records: dict[tuple[str, str], dict[str, Any]] = {}
        for user in config.users:
            for key, record in (self._pods_doc.get(user) or {}).items():
                if record.get("phase") == "pulling":
                    record["phase"] = "scheduled"  # the pull stopped with the emulator
                self._records[(user, key)] = record
        self._logs = data.root / "logs"
        self._namespaces = data.root / "namespaces"
        self._where = config.docker_host or os.environ.get("DOCKER_HOST") or _DEFAULT_SOCKET
        version = client.version()
        self._version = str(version.get("Version", "?"))
        self.arch: str = str(version.get("Arch", "?"))
        security = client.info().get("SecurityOptions") or []
        self._rootless = any("rootless" in str(option) for option in security)
        # Files a pod writes must stay manageable through the API: an emulator that is not
        # root runs pods as itself (unless the engine is rootless, where root in a container
        # is the emulator's own user already).
        self._pod_user = (
            None if os.geteuid() == 0 or self._rootless else f"{os.getuid()}:{os.getgid()}"
        )
        self._remove_orphans()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._supervise, name=f"dphi-em-pods-{self.instance}", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------------------- identity

    def describe(self) -> str:
        """One line for the start-up output."""
        pull = "pulls missing images" if self._config.pull else "pulls nothing"
        arch = f"; refuses images not built for {self._config.require_arch}" * bool(
            self._config.require_arch
        )
        return (
            f"Docker {self._version} at {self._where}, {self.arch}, "
            f"instance {self.instance}; {pull}{arch}"
        )

    def _labels(self, role: str, user: str, **extra: str) -> dict[str, str]:
        return {LABEL_EMULATOR: self.instance, LABEL_ROLE: role, LABEL_USER: user, **extra}

    def _container_name(self, user: str, what: str) -> str:
        safe = _NAME_UNSAFE.sub("_", user)
        return f"dphi-em-{self.instance}-{safe}-{what}-{uuid.uuid4().hex[:6]}"

    # --------------------------------------------------------------------------- images

    def _image(self, ref: str) -> Image | None:
        try:
            return self._client.images.get(ref)
        except (ImageNotFound, NotFound):
            return None
        except APIError as exc:
            if exc.status_code is not None and exc.status_code < 500:
                return None  # e.g. an invalid reference
            raise

    def _image_records(self) -> dict[str, dict[str, Any]]:
        records: dict[str, dict[str, Any]] = self._state.get("images") or {}
        return records

    def _record_image(self, user: str, name: str, image_id: str, source: str) -> None:
        with self._lock:
            records = self._image_records()
            own = {
                key: value
                for key, value in (records.get(user) or {}).items()
                if not same_image(key, name)
            }
            own[name] = {"id": image_id, "source": source, "created": time.time()}
            records[user] = own
            self._state.update("images", records)

    def _owner(self, ref: str, image: Image | None) -> str | None:
        """The user of this instance whose image `ref` is; `"?"` for another emulator's."""
        for user, own in self._image_records().items():
            if any(same_image(ref, name) for name in own):
                return user
        labels = (image.labels if image is not None else None) or {}
        if LABEL_USER in labels:
            if labels.get(LABEL_EMULATOR) != self.instance:
                return "?"
            return str(labels[LABEL_USER])
        return None

    def image_names(self, user: str) -> list[str]:
        names = []
        for name, record in (self._image_records().get(user) or {}).items():
            image = self._image(name)
            if image is not None and _id(image) == record.get("id"):
                names.append(name)
        return sorted(names)

    def _provide(self, ref: str, log: list[str] | None = None, pull: bool = True) -> Image | None:
        """The image `ref`, tagging it from its local stand-in when it is an onboard registry
        name that the engine lacks, and pulling it when `pull` and `--pull` allow."""
        image = self._image(ref)
        if image is not None:
            return image
        source = _dockerfile.onboard_source(ref, self._config.registry_map)
        if source is not None:
            stand_in = self._image(source) or (self._pull(source, log) if pull else None)
            if stand_in is not None:
                repository, tag = _split_tag(ref)
                stand_in.tag(repository, tag)
                with self._lock:
                    tags = list(self._state.get("onboard_tags") or [])
                    if _with_tag(ref) not in tags:
                        tags.append(_with_tag(ref))
                    self._state.update("onboard_tags", tags)
                if log is not None:
                    log.append(f"onboard registry: {ref} is the local image {source}\n")
                return stand_in
        return self._pull(ref, log) if pull else None

    def _pull(self, ref: str, log: list[str] | None) -> Image | None:
        if not self._config.pull:
            return None
        repository, tag = _split_tag(ref)
        try:
            image = self._client.images.pull(repository, tag=tag)
        except DockerException as exc:
            if log is not None:
                log.append(f"pull {ref}: {_explain(exc)}\n")
            return None
        if log is not None:
            log.append(f"pulled {ref}\n")
        return image

    def _architecture_problem(self, image: Image, name: str) -> str | None:
        wanted = self._config.require_arch
        arch = str(image.attrs.get("Architecture") or "?")
        if wanted and arch != wanted:
            return (
                f"image {name} is built for linux/{arch}, but CG2 runs linux/{wanted} "
                f"(--require-arch {wanted}): on the EM it fails with 'exec format error'"
            )
        return None

    def build(self, request: BuildRequest) -> None:
        if not request.context.is_dir():
            raise _build_failed(
                [f'ERROR: unable to prepare context: path "{request.context_arg}" not found']
            )
        try:
            dockerfile = _dockerfile.read_dockerfile(request.dockerfile, request.volume)
        except (OSError, _dockerfile.ConfinedPathError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise _build_failed(
                [
                    "ERROR: failed to read dockerfile: "
                    f"open {request.dockerfile_arg}: {detail.lower()}"
                ]
            ) from None
        log: list[str] = []
        text = dockerfile.decode("utf-8", "replace")
        for ref in _dockerfile.base_images(text):
            owner = self._owner(ref, self._image(ref))
            if owner is not None and owner != request.user:
                raise _build_failed(
                    [*log, f"ERROR: pull access denied for {ref}, repository does not exist"]
                )
            if self._provide(ref, log) is None:
                detail = "pulling is off (--pull)" if not self._config.pull else "pull failed"
                mapped = _dockerfile.onboard_source(ref, self._config.registry_map)
                via = f" (nor its local stand-in {mapped})" if mapped else ""
                raise _build_failed(
                    [
                        *log,
                        f"ERROR: failed to solve: {ref}: not found in the engine{via}; {detail}",
                    ]
                )
        patterns = _dockerfile.dockerignore_patterns(request.context, request.volume)
        matcher = PatternMatcher(patterns) if patterns else None

        def excluded(path: str) -> bool:
            return bool(matcher is not None and matcher.matches(path))  # type: ignore[arg-type]

        previous = self._image(request.name)
        stream_text: list[str] = []
        error: str | None = None
        staging = self._data.new_staging_dir()
        try:
            with open(staging / "context.tar", "w+b") as context:
                try:
                    arcname = _dockerfile.write_context(
                        request.context, request.volume, dockerfile, context, excluded, patterns
                    )
                except (OSError, _dockerfile.ConfinedPathError) as exc:
                    raise _build_failed(
                        [f"ERROR: unable to prepare context: {request.context_arg}: {exc}"]
                    ) from None
                context.seek(0)
                try:
                    for chunk in self._client.api.build(
                        fileobj=context,
                        custom_context=True,
                        dockerfile=arcname,
                        tag=request.name,
                        rm=True,
                        forcerm=True,
                        pull=False,
                        network_mode="none",
                        labels=self._labels("image", request.user, **{LABEL_IMAGE: request.name}),
                        container_limits={"memory": self._config.pod_memory},
                        decode=True,
                    ):
                        if "stream" in chunk:
                            stream_text.append(str(chunk["stream"]))
                        if "error" in chunk:
                            error = str(chunk["error"])
                except DockerException as exc:
                    error = _explain(exc)
        finally:
            with contextlib.suppress(OSError):
                (staging / "context.tar").unlink()
            with contextlib.suppress(OSError):
                staging.rmdir()
        lines = log + "".join(stream_text).replace(arcname, "Dockerfile").splitlines(True)
        if error is not None:
            self._remove_intermediates(lines)
            raise _build_failed([*lines, f"ERROR: {error}"])
        image = self._image(request.name)
        if image is None:
            raise _build_failed([*lines, "ERROR: the engine reported no image"])
        problem = self._architecture_problem(image, request.name)
        if problem is not None:
            self._remove_image(request.name)
            if previous is not None:
                repository, tag = _split_tag(request.name)
                with contextlib.suppress(DockerException):
                    self._client.api.tag(_id(previous), repository, tag, force=True)
            raise _build_failed([*lines, f"ERROR: {problem}"])
        self._record_image(request.user, request.name, _id(image), "build")
        if previous is not None and _id(previous) != _id(image):
            self._remove_if_untagged(_id(previous))

    def _remove_intermediates(self, lines: list[str]) -> None:
        """Remove the untagged images a failed build left (the last step's prunes the rest)."""
        for line in reversed(lines):
            match = _STEP_IMAGE.match(line)
            if match is None:
                continue
            self._remove_if_untagged(match.group(1))
            return

    def _remove_image(self, ref: str, force: bool = False) -> None:
        """Remove a name (only the name, when the image has others) or an image."""
        with contextlib.suppress(DockerException):
            self._client.images.remove(ref, force=force)

    def _remove_if_untagged(self, image_id: str) -> None:
        image = self._image(image_id)
        if image is not None and not image.tags:
            self._remove_image(_id(image))

    def load(self, request: LoadRequest) -> None:
        try:
            # one open file, checked inside the volume, for the manifest and the load
            with _dockerfile.open_confined(request.tarfile, request.volume) as file:
                tags = _images.check_load(request.tarfile, request.tarfile_arg, request.image, file)
                before = {_with_tag(tag): self._image(tag) for tag in tags}
                file.seek(0)
                loaded = self._client.images.load(file)
        except FileNotFoundError:
            raise _load_failed([f"open {request.tarfile_arg}: no such file or directory"]) from None
        except (OSError, _dockerfile.ConfinedPathError) as exc:
            raise _load_failed([f"open {request.tarfile_arg}: {exc}"]) from None
        except DockerException as exc:
            raise _load_failed([f"Error processing tar file: {_explain(exc)}"]) from None
        target = None
        for image in loaded:
            if any(same_image(tag, request.image) for tag in image.tags):
                target = image
        if target is None:
            target = self._image(request.image)
        try:
            if target is None:
                raise _load_failed([f"Error: {request.image} is not in the loaded tar"])
            problem = self._architecture_problem(target, request.name)
            if problem is not None:
                raise _load_failed(
                    [*(f"Loaded image: {tag}\n" for tag in tags), f"Error: {problem}"]
                )
            repository, tag = _split_tag(request.name)
            target.tag(repository, tag)
            self._record_image(request.user, request.name, _id(target), "load")
        finally:
            # the tar's own names go back to what they named before
            for tag, previous in before.items():
                if previous is not None:
                    repository, version = _split_tag(tag)
                    with contextlib.suppress(DockerException):
                        self._client.api.tag(_id(previous), repository, version, force=True)
                else:
                    self._remove_image(tag)

    # ----------------------------------------------------------------------------- pods

    def _save(self, user: str) -> None:
        pods = {pod: record for (owner, pod), record in self._records.items() if owner == user}
        self._pods_doc.update(user, pods or None)

    def run(self, run: PodRun) -> None:
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
            delay = max(0.0, spec.scheduled_time.timestamp() - now) / self._config.time_scale
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
            "network": self._network_of(spec.namespace),
            "volume": str(run.volume),
            "created": now,
            "start_at": now + delay,
            "duration": spec.max_duration * 60.0 / self._config.time_scale,
            "phase": "scheduled",
            "warnings": [],
        }
        if NODE_NAMES[spec.node] in self._config.not_ready_nodes:
            record["phase"] = "waiting"
            record["waiting"] = {
                "reason": "Unschedulable",
                "message": f"0/3 nodes are available: node {NODE_NAMES[spec.node]!r} is not ready.",
            }
        key = (run.user, run.pod_name or "")
        with self._lock:
            old = self._records.get(key)
            if old is not None:
                self._discard_container(run.user, old, "replaced by a new run")
            self._records[key] = record
            self._save(run.user)
        self._wake.set()

    def _network_of(self, namespace: bool) -> str:
        """`user` (the user's shared loopback namespace) or `none` for a new pod.

        November 2025: only pods run with `namespace=true` have one. January 2026 has no
        namespaces and every pod reaches the user's other pods by pod name, so every pod joins.
        `both`: `namespace=true` as November; a run without it follows January's rule (a
        January client can't ask for a namespace, and nothing tells the two apart).
        """
        if namespace or self._config.api != API_NOVEMBER_2025:
            return NETWORK_USER
        return NETWORK_NONE

    def _supervise(self) -> None:
        while not self._stopping:
            self._wake.wait(_TICK)
            self._wake.clear()
            if self._stopping:
                return
            for key in list(self._records):
                with self._lock:
                    record = self._records.get(key)
                    if record is None or self._stopping or record["phase"] in _SETTLED:
                        continue
                    self._advance_and_save(key[0], record, time.time())

    def _advance_and_save(self, user: str, record: dict[str, Any], now: float) -> None:
        """Advance a pod; write the records only when it changed."""
        before = json.dumps(record, sort_keys=True)
        try:
            self._advance(user, record, now)
        except DockerException as exc:  # the engine went away: say so (once), go on
            warning = f"engine: {_explain(exc)}"
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
            if waiting["reason"] == "ErrImagePull" and now >= waiting["since"] + (
                PULL_BACKOFF / self._config.time_scale
            ):
                waiting["reason"] = "ImagePullBackOff"
                waiting["message"] = (
                    f'Back-off pulling image "{record["image_ref"]}": ErrImagePull: '
                    + waiting["message"]
                )

    def _resolve(self, user: str, image: str) -> tuple[Image | None, str, str]:
        """(the image or None, the reference run or tried, why it is missing)."""
        own = f"{user}-{image}"
        records = self._image_records().get(user) or {}
        for name in (own, image):
            if name.startswith(f"{user}-") and any(same_image(name, key) for key in records):
                found = self._image(name)
                if found is not None:
                    return found, name, ""
        looks_public = (
            ":" in image
            or "/" in image
            or any(same_image(image, public) for public in self._config.public_images)
        )
        shown = image if looks_public else own
        found = self._image(image)
        owner = self._owner(image, found)
        if owner is not None and owner != user:
            return (
                None,
                shown,
                (
                    f'failed to resolve reference "{image}": pull access denied, repository does '
                    "not exist or may require authorization"
                ),
            )
        found = found or self._provide(image, pull=False)
        if found is not None:
            return found, image, ""
        if self._config.pull and looks_public:
            return None, image, _PULLING
        pulling = "" if self._config.pull else " (the emulator pulls nothing: --pull is off)"
        return None, shown, f"No such image: {_with_tag(shown)}{pulling}"

    def _start(self, user: str, record: dict[str, Any], now: float) -> None:
        image, ref, problem = self._resolve(user, record["image"])
        record["image_ref"] = ref
        if problem == _PULLING and record.get("pulled"):
            image, problem = None, f'image "{_with_tag(ref)}" is still not in the engine'
        elif problem == _PULLING:  # in a thread of its own: the engine lock is not held
            record["phase"] = "pulling"
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
        wrong_arch = self._architecture_problem(image, ref)
        if wrong_arch is not None:
            self._write_log(user, record, f"exec format error: {wrong_arch}\n".encode())
            self._terminate(record, 1, "Error", now, now, f"exec format error: {wrong_arch}")
            return
        if arch != CG2_ARCH:
            record["warnings"].append(
                f"image {ref} is built for linux/{arch}: CG2 runs linux/{CG2_ARCH}, where it "
                "would fail with 'exec format error' (--require-arch arm64 refuses it here)"
            )
        try:
            container = self._create(user, record, image)
        except DockerException as exc:
            record["phase"] = "waiting"
            record["waiting"] = {"reason": "CreateContainerError", "message": _explain(exc)}
            return
        record["container"] = _id(container)
        record["container_name"] = container.name
        try:
            container.start()
        except DockerException as exc:
            self._save_console(user, record, container)
            self._remove_container(_id(container))
            self._terminate(record, 128, "StartError", now, now, _explain(exc))
            return
        record["phase"] = "running"
        record["started"] = time.time()
        container.reload()
        record["started_at"] = _engine_time(container.attrs["State"].get("StartedAt"))
        record["started_at"] = record["started_at"] or _rfc3339(record["started"])

    def _pull_for(self, user: str, record: dict[str, Any]) -> None:
        """Pull a pod's image (`--pull`); then let the supervisor start it, or say why not."""
        log: list[str] = []
        image = self._provide(record["image_ref"], log)
        with self._lock:
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

    def _create(self, user: str, record: dict[str, Any], image: Image) -> Container:
        volume = Path(record["volume"])
        volume.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            volume.chmod(0o777)  # as a local-path volume: a pod of any uid can write
        volumes = {str(volume): {"bind": "/data", "mode": "rw"}}
        network = "none"
        if _network(record) == NETWORK_USER:
            sandbox = self._sandbox(user)
            network = f"container:{sandbox}"
            hosts = self._hosts_file(user, record["pod_name"])
            volumes[str(hosts)] = {"bind": "/etc/hosts", "mode": "ro"}
        entrypoint: list[str] | None = None
        command: list[str] | None = list(record["args"]) if record["args"] else None
        if record["command"] is not None and shlex.split(record["command"]):
            entrypoint = shlex.split(record["command"])
            command = list(record["args"] or [])
        environment = {name: str(value) for name, value in (record["envs"] or {}).items()}
        kwargs: dict[str, Any] = {}
        if self._pod_user is not None:
            kwargs["user"] = self._pod_user
        return self._client.containers.create(
            _id(image),
            command=command,
            entrypoint=entrypoint,
            environment=environment,
            name=self._container_name(user, record["pod_name"] or DEFAULT_VOLUME),
            labels=self._labels("pod", user, **{LABEL_POD: record["pod_name"]}),
            network_mode=network,
            volumes=volumes,
            mem_limit=self._config.pod_memory,
            memswap_limit=self._config.pod_memory,
            pids_limit=self._config.pod_pids,
            security_opt=["no-new-privileges"],
            privileged=False,
            log_config=LogConfig(
                type=LogConfig.types.JSON, config={"max-size": "10m", "max-file": "1"}
            ),
            **kwargs,
        )

    def _watch(self, user: str, record: dict[str, Any], now: float) -> None:
        try:
            container = self._client.containers.get(record["container"])
        except NotFound:
            self._terminate(
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
                # the engine may learn of an OOM kill just after the exit: look once more
                seen = record.setdefault("killed_seen", now)
                if now < seen + _OOM_EVENT_WAIT:
                    return
            self._finish(user, record, container, state)
            return
        if now < record["started"] + record["duration"]:
            return
        grace = self._config.stop_grace / self._config.time_scale
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
        exit_code = int(state.get("ExitCode") or 0)
        reason = (
            "OOMKilled" if state.get("OOMKilled") else "Completed" if exit_code == 0 else "Error"
        )
        message = None
        if record.get("stop_sent") is not None:
            minutes = record["max_duration"]
            how = (
                "stopped (SIGTERM), then killed (SIGKILL) after the grace period"
                if record.get("killed")
                else "stopped (SIGTERM)"
            )
            message = f"DeadlineExceeded: max_duration ({minutes} min) reached: {how}"
        self._save_console(user, record, container)
        self._remove_container(_id(container))
        started = _engine_time(state.get("StartedAt")) or record.get("started_at")
        finished = _engine_time(state.get("FinishedAt")) or _rfc3339(time.time())
        record["phase"] = "done"
        record["final"] = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": started,
            "finishedAt": finished,
            **({"message": message} if message else {}),
        }

    def _terminate(
        self,
        record: dict[str, Any],
        exit_code: int,
        reason: str,
        started: float,
        finished: float,
        message: str | None = None,
    ) -> None:
        record["phase"] = "done"
        record["final"] = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": record.get("started_at") or _rfc3339(started),
            "finishedAt": _rfc3339(finished),
            **({"message": message} if message else {}),
        }

    def _discard_container(self, user: str, record: dict[str, Any], why: str) -> None:
        """Stop and remove a pod's container at once (its console log is kept)."""
        container_id = record.get("container")
        if record["phase"] != "running" or not container_id:
            return
        try:
            container = self._client.containers.get(container_id)
        except DockerException:
            return
        with contextlib.suppress(DockerException):
            container.kill(signal="SIGKILL")
        with contextlib.suppress(DockerException):
            container.reload()
        self._save_console(user, record, container)
        self._remove_container(container_id)
        self._terminate(record, 137, "Error", record.get("started", time.time()), time.time(), why)

    def _remove_container(self, container_id: str) -> None:
        with contextlib.suppress(DockerException):
            self._client.api.remove_container(container_id, force=True)

    # ---------------------------------------------------------------- console output

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
        with self._lock:
            record = self._records.get((user, pod_name or ""))
            if record is None:
                return None
            if record["phase"] == "running":
                with contextlib.suppress(DockerException):
                    data: bytes = self._client.api.logs(
                        record["container"], stdout=True, stderr=True
                    )
                    return data[-MAX_CONSOLE_BYTES:]
            try:
                return self._log_path(user, record).read_bytes()
            except OSError:
                return b""

    # ------------------------------------------------------------------------ status

    def status(self, user: str, pod_name: str | None) -> dict[str, Any] | None:
        with self._lock:
            record = self._records.get((user, pod_name or ""))
            if record is None:
                return None
            now = time.time()
            if record["phase"] in ("running", "waiting"):  # the supervisor starts pods
                self._advance_and_save(user, record, now)
            state = self._state_of(record, now)
            report = pod_report(record, user)
            report.update(
                engine="docker",
                container=record.get("container_name"),
                architecture=record.get("arch"),
                console=CONSOLE_NOTE,
                warnings=list(record.get("warnings") or []),
                network=_network(record),
                addresses=_addresses(user, record),
            )
            return {"state": state, "emulator": report}

    def _state_of(self, record: dict[str, Any], now: float) -> dict[str, Any]:
        phase = record["phase"]
        if phase == "done":
            return {"terminated": dict(record["final"])}
        if phase == "running":
            return {"running": {"startedAt": record["started_at"]}}
        if phase == "waiting":
            waiting = record["waiting"]
            return {"waiting": {"reason": waiting["reason"], "message": waiting["message"]}}
        if now < record["start_at"]:
            return {
                "waiting": {
                    "reason": "ContainerCreating",
                    "message": f"Scheduled to start at {_rfc3339(record['start_at'])}",
                }
            }
        if phase == "pulling":
            message = f'Pulling image "{record["image_ref"]}"'
            return {"waiting": {"reason": "ContainerCreating", "message": message}}
        return {"waiting": {"reason": "ContainerCreating"}}

    # -------------------------------------------------------------------- namespaces

    def _hosts_file(self, user: str, pod_name: str) -> Path:
        """The user's namespace hosts file, naming `pod_name` too; rewritten in place, so
        that pods that mounted it earlier see the new names."""
        path = self._namespaces / _NAME_UNSAFE.sub("_", user) / "hosts"
        path.parent.mkdir(parents=True, exist_ok=True)
        names: list[str] = list(self._state.get(f"hosts:{user}") or [])
        if pod_name and pod_name not in names:
            names.append(pod_name)
            self._state.update(f"hosts:{user}", names)
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        lines += [f"127.0.0.1\t{user}-{name} {name}" for name in sorted(names)]
        text = ("\n".join(lines) + "\n").encode()
        path.touch(exist_ok=True)
        with open(path, "r+b") as file:  # in place: the mounted file is this inode
            if file.read() != text:
                file.seek(0)
                file.truncate()
                file.write(text)
        path.chmod(0o644)
        return path

    def _sandbox(self, user: str) -> str:
        """The id of the user's namespace container (created and started when needed)."""
        sandboxes: dict[str, str] = self._state.get("sandboxes") or {}
        known = sandboxes.get(user)
        if known:
            try:
                container = self._client.containers.get(known)
                if container.status == "running":
                    return _id(container)
                container.remove(force=True)
            except NotFound:
                pass
        image = self._pause_image()
        container = self._client.containers.create(
            image,
            name=self._container_name(user, "namespace"),
            labels=self._labels("namespace", user),
            network_mode="none",
            mem_limit=16 * 1024 * 1024,
            pids_limit=4,
            security_opt=["no-new-privileges"],
            privileged=False,
            user="65534:65534",
        )
        container.start()
        sandboxes[user] = _id(container)
        self._state.update("sandboxes", sandboxes)
        return _id(container)

    def _pause_image(self) -> str:
        tag = f"dphi-em-pause:{self.instance}"
        if self._image(tag) is not None:
            return tag
        program = pause_program(self.arch)
        if program is None:
            raise DockerException(f"no namespace sandbox for a {self.arch} engine")
        dockerfile = b'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n'
        self._client.images.build(
            fileobj=_tar({"Dockerfile": dockerfile, "pause": program}, {"pause": 0o755}),
            custom_context=True,
            tag=tag,
            rm=True,
            forcerm=True,
            network_mode="none",
            labels=self._labels("namespace", ""),
        )
        return tag

    # ---------------------------------------------------------------------- lifecycle

    def _remove_orphans(self) -> None:
        """Remove this instance's containers that no record knows (e.g. after a crash)."""
        known = {record.get("container") for record in self._records.values()}
        known |= set((self._state.get("sandboxes") or {}).values())
        with contextlib.suppress(DockerException):
            for container in self._client.containers.list(
                all=True, filters={"label": f"{LABEL_EMULATOR}={self.instance}"}
            ):
                if _id(container) not in known:
                    self._remove_container(_id(container))

    def close(self) -> None:
        """Stop the supervisor; then, by `on_stop`, keep the pods, stop and remove them
        (`remove-pods`), or also remove every image the emulator built, loaded or tagged
        (`purge`)."""
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=30)
        if self._config.on_stop == "keep-pods":
            self._client.close()
            return
        with self._lock:
            for (user, _), record in self._records.items():
                if record["phase"] == "running":
                    with contextlib.suppress(DockerException):
                        self._discard_container(user, record, "stopped with the emulator")
                    self._save(user)
            for container_id in (self._state.get("sandboxes") or {}).values():
                self._remove_container(container_id)
            self._state.update("sandboxes", None)
            self._remove_orphans()
            if self._config.on_stop == "purge":
                self._purge_images()
        self._client.close()

    def _purge_images(self) -> None:
        for tag in self._state.get("onboard_tags") or []:
            self._remove_image(tag)
        self._state.update("onboard_tags", None)
        for own in self._image_records().values():
            for name in own:
                self._remove_image(name)  # a loaded image may also be someone else's
        with contextlib.suppress(DockerException):
            for image in self._client.images.list(
                all=True, filters={"label": f"{LABEL_EMULATOR}={self.instance}"}
            ):
                self._remove_image(_id(image), force=True)  # built here: ours alone
        self._state.update("images", None)
