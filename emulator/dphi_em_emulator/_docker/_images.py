"""Images in the Docker engine: real builds and loads, the onboard registry.

`build` checks every image and remote source the Dockerfile makes the engine read (`FROM`,
`COPY --from`, `ADD <url>`, `ONBUILD` triggers; `_dockerfile.build_references`) against the
ownership record (`_ownership.py`), then streams a context tar made from the volume to the
engine's builder, sandboxed: network off (the EM's builds are air-gapped), memory, processes
(`--build-pids`), time (`--build-timeout`) and output (`build_log_bytes`) bounded, and
cancelled when its client goes away. It tags the result `<user>-<image>`; a failure answers
`BUILD_FAILED` with the real log's last 100 lines. Base images named by the onboard registry
(`fpga.dphi.space:5000/python:3.12-alpine`) must be in its catalogue (`.._catalogue`), checked
before any build step, and are tagged from the local image that stands for them (`--registry-map`),
else from their offline stand-in (`.._standins`). `load` refuses a tar the engine would
read otherwise than the emulator (two `manifest.json`), loads it, tags the image
`<user>-<image>` and puts back whatever every name the engine reported loading had pointed to.
Both are recorded by image ID per emulator instance (`docker.json`), which is what
`image/list`, ownership checks and `--on-stop purge` read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.images import Image
from docker.utils.build import PatternMatcher

from .. import _dockerfile, _images
from .._engine import BuildRequest, LoadRequest
from .._errors import BUILD_FAILED, IMAGE_LOAD_FAILED, EMError
from .._standins import onboard_images
from ._common import (
    LABEL_EMULATOR,
    LABEL_IMAGE,
    EngineContext,
    explain,
    first_line,
    object_id,
    split_tag,
    with_tag,
)
from ._ownership import ImageAccessDenied, ImageOwnership

#: Lines of build log returned with `BUILD_FAILED` (the contract's "last 100 lines").
LOG_TAIL_LINES = 100
_STEP_IMAGE = re.compile(r"^ ---> ([0-9a-f]{12})\s*$")
_STEP_CONTAINER = re.compile(r"^ ---> Running in ([0-9a-f]{12,64})\s*$")
_LOADED = re.compile(r"^Loaded image: (.+?)\s*$")
_LOADED_ID = re.compile(r"^Loaded image ID: (sha256:[0-9a-f]{64})\s*$")
_CGROUP_ROOT = Path("/sys/fs/cgroup")


def _build_failed(lines: list[str], message: str = "Docker image build failed") -> EMError:
    tail = [line if line.endswith("\n") else line + "\n" for line in lines][-LOG_TAIL_LINES:]
    return EMError(400, BUILD_FAILED, message, tail)


def _load_failed(lines: list[str]) -> EMError:
    tail = [line if line.endswith("\n") else line + "\n" for line in lines][-LOG_TAIL_LINES:]
    return EMError(400, IMAGE_LOAD_FAILED, "Tar file loading failed", tail)


class _BuildCgroup:
    """A cgroup whose `pids.max` bounds every step of one build (the engine's build API has
    no pids limit): made when the engine uses the cgroupfs driver on this machine and the
    emulator may write it (root); otherwise each step's container gets the limit as soon as
    the build log names it (`_limit_step`)."""

    def __init__(self, ctx: EngineContext, pids: int) -> None:
        self.parent: str | None = None
        if os.geteuid() != 0 or ctx.cgroup_driver != "cgroupfs":
            return
        name = f"dphi-em-build-{ctx.instance}-{uuid.uuid4().hex[:8]}"
        v1 = _CGROUP_ROOT / "pids"
        folder = (v1 if v1.is_dir() else _CGROUP_ROOT) / name
        try:
            folder.mkdir()
            (folder / "pids.max").write_text(f"{pids}\n", encoding="ascii")
        except OSError:
            with contextlib.suppress(OSError):
                folder.rmdir()
            return
        self.parent = f"/{name}"

    def remove(self) -> None:
        """Remove the cgroup (and, on cgroup v1, its twins the engine made in the other
        hierarchies) once the engine has removed the step containers' cgroups inside it:
        in a thread of its own, for a while."""
        if self.parent is not None:
            name = self.parent.lstrip("/")
            threading.Thread(
                target=remove_build_cgroups, args=(name,), name="dphi-em-cgroup", daemon=True
            ).start()


def remove_build_cgroups(prefix: str, patience: float = 30.0) -> None:
    """Remove the build cgroups whose names start with `prefix`, retrying while the engine
    still holds a step container's cgroup in them (at most `patience` seconds)."""
    deadline = time.monotonic() + patience
    while True:
        left = [
            folder
            for hierarchy in _CGROUP_ROOT.iterdir()
            if hierarchy.is_dir() and not hierarchy.is_symlink()
            for folder in hierarchy.glob(f"{prefix}*")
        ]
        if (_CGROUP_ROOT / "pids").is_dir() is False:
            left += list(_CGROUP_ROOT.glob(f"{prefix}*"))
        for folder in left:
            with contextlib.suppress(OSError):
                folder.rmdir()
        if not any(folder.exists() for folder in left) or time.monotonic() > deadline:
            return
        time.sleep(0.5)


class DockerImages:
    """The users' images in the engine, recorded per emulator instance.

    Args:
        ctx: The engine's shared context.
    """

    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx
        self.ownership = ImageOwnership(ctx, self.get)
        # issue 17: the onboard registry's catalogue and the engine's stand-ins
        self.onboard = onboard_images(ctx.config, ctx.client)

    def get(self, ref: str) -> Image | None:
        """The image `ref` names in the engine, or None."""
        try:
            return self._ctx.client.images.get(ref)
        except (ImageNotFound, NotFound):
            return None
        except APIError as exc:
            if exc.status_code is not None and exc.status_code < 500:
                return None  # e.g. an invalid reference
            raise

    def records(self) -> dict[str, dict[str, Any]]:
        """user -> image name -> {id, source, created}: what this instance built or loaded."""
        return self.ownership.records()

    def image_names(self, user: str) -> list[str]:
        """The user's built and loaded images that are still in the engine, sorted."""
        names = []
        for name, record in (self.records().get(user) or {}).items():
            image = self.get(str(record.get("id")))
            if image is not None and object_id(image) == record.get("id"):
                names.append(name)
        return sorted(names)

    def provide(
        self, ref: str, user: str, log: list[str] | None = None, pull: bool = True
    ) -> Image | None:
        """The image `ref`, tagging it from its local stand-in when it is an onboard registry
        name that the engine lacks, and pulling it when `pull` and `--pull` allow.

        Raises:
            ImageAccessDenied: The stand-in is another user's image.
        """
        image = self.get(ref)
        if image is not None:
            return image
        source = _dockerfile.onboard_source(ref, self._ctx.config.registry_map)
        if source is not None:
            stand_in = self.get(source) or (self._pull(source, log) if pull else None)
            if stand_in is not None:
                self.ownership.check(user, ref, stand_in)
                self._tag_onboard(ref, stand_in)
                if log is not None:
                    log.append(f"onboard registry: {ref} is the local image {source}\n")
                return stand_in
        # issue 17: a catalogue image the engine lacks: its stand-in (made only when `pull`),
        # found by the ID the stand-ins' record holds, never by a tag
        standin: Image | None = self.onboard.stand_in(ref, log, make=pull)
        if standin is not None:
            self._tag_onboard(ref, standin)
            return standin
        return self._pull(ref, log) if pull else None

    def _tag_onboard(self, ref: str, image: Image) -> None:
        """Tag `image` as `ref` (for the builder's `FROM`), recorded for `--on-stop purge`."""
        repository, tag = split_tag(ref)
        image.tag(repository, tag)
        with self._ctx.lock:
            tags = list(self._ctx.state.get("onboard_tags") or [])
            if with_tag(ref) not in tags:
                tags.append(with_tag(ref))
            self._ctx.state.update("onboard_tags", tags)

    def _pull(self, ref: str, log: list[str] | None) -> Image | None:
        if not self._ctx.config.pull:
            return None
        repository, tag = split_tag(ref)
        try:
            image = self._ctx.client.images.pull(repository, tag=tag)
        except DockerException as exc:
            if log is not None:
                log.append(f"pull {ref}: {explain(exc)}\n")
            return None
        if log is not None:
            log.append(f"pulled {ref}\n")
        return image

    def architecture_problem(self, image: Image, name: str) -> str | None:
        """Why CG2 can't run `image` under `--require-arch`, or None when it can (or no
        architecture is required)."""
        wanted = self._ctx.config.require_arch
        arch = str(image.attrs.get("Architecture") or "?")
        if wanted and arch != wanted:
            return (
                f"image {name} is built for linux/{arch}, but CG2 runs linux/{wanted} "
                f"(--require-arch {wanted}): on the EM it fails with 'exec format error'"
            )
        return None

    def _catalogue_problem(self, user: str, ref: str) -> str | None:
        """Why `ref` is not in the onboard registry (naming the closest entries), or None.
        A user's image (the caller's or another's, by any name the engine resolves) is not
        the catalogue's question: ownership decides it."""
        problem = self.onboard.problem(ref)
        if problem is None:
            return None
        try:
            resolved = self.ownership.resolve(user, ref, own_names=False)
        except ImageAccessDenied:
            return None  # refused below, as "pull access denied"
        if resolved is not None and self.ownership.owners(resolved.image_id, resolved.image):
            return None
        return problem

    def _check_references(self, user: str, text: str, log: list[str]) -> None:
        """Refuse a Dockerfile that makes the engine read another user's image or a remote
        source, through `FROM`, `COPY --from`, `ADD` or the `ONBUILD` triggers of its base
        images (to any depth); provide onboard stand-ins."""
        pending = [(text, False)]
        seen: set[str] = set()
        while pending:
            dockerfile, triggers = pending.pop()
            try:
                refs = _dockerfile.build_references(dockerfile, triggers_only=triggers)
            except _dockerfile.DockerfileRefused as exc:
                raise _build_failed([*log, f"ERROR: {exc}"]) from None
            for url in refs.remote:
                raise _build_failed(
                    [
                        *log,
                        f"ERROR: ADD {url}: remote sources are refused: the EM's builds are "
                        "air-gapped, and the engine would fetch it from the host's network "
                        "(put the file in the build context and COPY it)",
                    ]
                )
            for ref in refs.images:  # issue 17: the onboard catalogue, before any build step
                problem = self._catalogue_problem(user, ref)
                if problem is not None:
                    raise _build_failed([*log, f"ERROR: failed to solve: {problem}"])
            for ref in refs.images:
                try:
                    image = self.provide(ref, user, log)
                    if image is None:
                        detail = (
                            "pulling is off (--pull)"
                            if not self._ctx.config.pull
                            else "pull failed"
                        )
                        mapped = _dockerfile.onboard_source(ref, self._ctx.config.registry_map)
                        via = f" (nor its local stand-in {mapped})" if mapped else ""
                        raise _build_failed(
                            [
                                *log,
                                f"ERROR: failed to solve: {ref}: not found in the engine{via}; "
                                f"{detail}",
                            ]
                        )
                    resolved = self.ownership.resolve(user, ref, own_names=False)
                except ImageAccessDenied:
                    resolved = None
                    image = None
                if resolved is None or image is None or resolved.image_id != object_id(image):
                    raise _build_failed(
                        [*log, f"ERROR: pull access denied for {ref}, repository does not exist"]
                    )
                if resolved.image_id in seen:
                    continue
                seen.add(resolved.image_id)
                onbuild = (resolved.image.attrs.get("Config") or {}).get("OnBuild") or []
                if onbuild:
                    pending.append(("\n".join(str(line) for line in onbuild), True))

    def build(self, request: BuildRequest) -> None:
        """Build the image, or raise `EMError` 400 `BUILD_FAILED` with the log's tail."""
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
        self._check_references(request.user, dockerfile.decode("utf-8", "replace"), log)
        patterns = _dockerfile.dockerignore_patterns(request.context, request.volume)
        matcher = PatternMatcher(patterns) if patterns else None

        def excluded(path: str) -> bool:
            return bool(matcher is not None and matcher.matches(path))  # type: ignore[arg-type]

        previous = self.get(request.name)
        staging = self._ctx.data.new_staging_dir()
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
                stream_text, error = self._run_build(request, context, arcname)
        finally:
            with contextlib.suppress(OSError):
                (staging / "context.tar").unlink()
            with contextlib.suppress(OSError):
                staging.rmdir()
        lines = log + "".join(stream_text).replace(arcname, "Dockerfile").splitlines(True)
        image = self.get(request.name)
        if error is None and image is None:
            error = "the engine reported no image"
        if error is None and image is not None:
            problem = self.architecture_problem(image, request.name)
            error = problem
        if error is not None:
            self._remove_intermediates(lines)
            self._put_back(request.name, previous)
            raise _build_failed([*lines, f"ERROR: {error}"])
        assert image is not None
        self.ownership.record(request.user, request.name, object_id(image), "build")
        if previous is not None and object_id(previous) != object_id(image):
            self._remove_if_untagged(object_id(previous))

    def _put_back(self, name: str, previous: Image | None) -> None:
        """Make `name` name `previous` again (or nothing) after a failed build."""
        now = self.get(name)
        if now is None or (previous is not None and object_id(now) == object_id(previous)):
            return
        self.remove(name)
        if previous is not None:
            repository, tag = split_tag(name)
            with contextlib.suppress(DockerException):
                self._ctx.client.api.tag(object_id(previous), repository, tag, force=True)

    def _run_build(
        self, request: BuildRequest, context: Any, arcname: str
    ) -> tuple[list[str], str | None]:
        """Stream the build; return its output and its error (None: it succeeded).

        Sandboxed: network off, memory and processes bounded, and cut off (the connection
        to the engine shut, which cancels the build and removes its step's container) when
        it runs past `build_timeout`, prints more than `build_log_bytes`, or its client
        goes away (`request.cancel`).
        """
        config = self._ctx.config
        api: Any = self._ctx.client.api  # its private calls: the response must be ours to shut
        cgroup = _BuildCgroup(self._ctx, config.build_pids)
        params: dict[str, Any] = {
            "t": request.name,
            "rm": True,
            "forcerm": True,
            "pull": False,
            "dockerfile": arcname,
            "networkmode": "none",
            "labels": json.dumps(
                self._ctx.labels("image", request.user, **{LABEL_IMAGE: request.name})
            ),
            "memory": config.pod_memory,
            "memswap": config.pod_memory,
        }
        if cgroup.parent is not None:
            params["cgroupparent"] = cgroup.parent
        stream_text: list[str] = []
        error: str | None = None
        why: list[str] = []
        done = threading.Event()
        response: Any = None

        def cut(reason: str) -> None:
            if not why:
                why.append(reason)
            with contextlib.suppress(Exception):
                response.raw.connection.sock.shutdown(socket.SHUT_RDWR)

        def watchdog() -> None:
            deadline = time.monotonic() + config.build_timeout
            while not done.wait(0.1):
                if request.cancel.is_set():
                    cut("the client went away: build cancelled")
                elif time.monotonic() > deadline:
                    cut(f"the build took longer than {config.build_timeout:g} s (--build-timeout)")

        watcher = threading.Thread(target=watchdog, name="dphi-em-build-watchdog", daemon=True)
        try:
            # the low-level call: its response is what `cut` shuts
            response = api._post(
                api._url("/build"),
                data=context,
                params=params,
                headers={"Content-Type": "application/tar"},
                stream=True,
                timeout=None,
            )
            watcher.start()
            size = 0
            for chunk in api._stream_helper(response, decode=True):
                if "stream" in chunk:
                    text = str(chunk["stream"])
                    size += len(text)
                    if size > config.build_log_bytes:
                        cut(f"the build printed more than {config.build_log_bytes} bytes")
                        break
                    stream_text.append(text)
                    step = _STEP_CONTAINER.match(text.strip("\n"))
                    if step is not None and cgroup.parent is None:
                        self._limit_step(step.group(1))
                if "error" in chunk:
                    error = str(chunk["error"])
        except DockerException as exc:
            error = explain(exc)
        except Exception as exc:  # the connection shut by `cut`
            error = first_line(str(exc)) or type(exc).__name__
        finally:
            done.set()
            if watcher.is_alive():
                watcher.join()
            with contextlib.suppress(Exception):
                response.close()
            cgroup.remove()
        if why:
            return stream_text, why[0]
        return stream_text, error

    def _limit_step(self, container_id: str) -> None:
        """Bound a build step's processes (where no build cgroup could be made)."""
        api: Any = self._ctx.client.api  # the SDK's update_container has no pids limit
        with contextlib.suppress(DockerException):
            api._post_json(
                api._url("/containers/{0}/update", container_id),
                data={"PidsLimit": self._ctx.config.build_pids},
            )

    def _remove_intermediates(self, lines: list[str]) -> None:
        """Remove the untagged images a failed build left (the last step's prunes the rest)."""
        for line in reversed(lines):
            match = _STEP_IMAGE.match(line)
            if match is None:
                continue
            self._remove_if_untagged(match.group(1))
            return

    def remove(self, ref: str, force: bool = False) -> None:
        """Remove a name (only the name, when the image has others) or an image."""
        with contextlib.suppress(DockerException):
            self._ctx.client.images.remove(ref, force=force)

    def _remove_if_untagged(self, image_id: str) -> None:
        image = self.get(image_id)
        if image is not None and not image.tags:
            self.remove(object_id(image))

    def _names(self) -> dict[str, str]:
        """Every name in the engine -> the image ID it names."""
        names: dict[str, str] = {}
        for image in self._ctx.client.images.list():
            for tag in image.tags:
                names[tag] = object_id(image)
        return names

    def load(self, request: LoadRequest) -> None:
        """Load the tar, or raise `EMError` 400 `IMAGE_LOAD_FAILED` with a log tail.

        The tar is read as the engine will read it (`_images.check_load`), every name the
        engine says it loaded is put back to what it named before, and the image the user
        asked for is the one the engine reported loading under that name.
        """
        reported: list[str] = []
        ids: list[str] = []
        try:
            # one open file, checked inside the volume, for the manifest and the load
            with _dockerfile.open_confined(request.tarfile, request.volume) as file:
                tags = _images.check_load(request.tarfile, request.tarfile_arg, request.image, file)
                before = self._names()
                file.seek(0)
                api: Any = self._ctx.client.api
                for chunk in api.load_image(file):
                    if "error" in chunk:
                        raise _load_failed([f"Error processing tar file: {chunk['error']}"])
                    for line in str(chunk.get("stream") or "").splitlines():
                        loaded = _LOADED.match(line)
                        if loaded is not None:
                            reported.append(with_tag(loaded.group(1)))
                        loaded_id = _LOADED_ID.match(line)
                        if loaded_id is not None:
                            ids.append(loaded_id.group(1))
        except FileNotFoundError:
            raise _load_failed([f"open {request.tarfile_arg}: no such file or directory"]) from None
        except (OSError, _dockerfile.ConfinedPathError) as exc:
            raise _load_failed([f"open {request.tarfile_arg}: {exc}"]) from None
        except DockerException as exc:
            raise _load_failed([f"Error processing tar file: {explain(exc)}"]) from None
        wanted = with_tag(request.image)
        try:
            target = self.get(wanted) if wanted in reported else None
            if target is None:
                raise _load_failed(
                    [
                        *(f"Loaded image: {tag}\n" for tag in reported),
                        f"Error: {request.image} is not among the images the engine loaded",
                    ]
                )
            problem = self.architecture_problem(target, request.name)
            if problem is not None:
                raise _load_failed(
                    [*(f"Loaded image: {tag}\n" for tag in tags), f"Error: {problem}"]
                )
            repository, tag = split_tag(request.name)
            self._ctx.client.api.tag(object_id(target), repository, tag, force=True)
            preexisting = object_id(target) in before.values()
            self.ownership.record(
                request.user, request.name, object_id(target), "load", preexisting
            )
        finally:
            # every name the load wrote goes back to what it named before
            for name in dict.fromkeys([*reported, *map(with_tag, tags)]):
                if with_tag(name) == with_tag(request.name):
                    continue
                previous = before.get(name)
                current = self.get(name)
                if current is not None and object_id(current) == previous:
                    continue
                if previous is not None:
                    repository, version = split_tag(name)
                    with contextlib.suppress(DockerException):
                        self._ctx.client.api.tag(previous, repository, version, force=True)
                else:
                    self.remove(name)

    def purge(self) -> None:
        """Remove every image this instance built, loaded or tagged (`--on-stop purge`):
        the engine first, the record last (a full disk fails only the record)."""
        for tag in self._ctx.state.get("onboard_tags") or []:
            self.remove(tag)
        for own in self.records().values():
            for name, record in own.items():
                if self.get(name) is not None:
                    self.remove(name)  # a loaded image may also be someone else's
                if not record.get("preexisting"):
                    self._remove_if_untagged(str(record.get("id")))
        with contextlib.suppress(DockerException):
            for image in self._ctx.client.images.list(
                all=True, filters={"label": f"{LABEL_EMULATOR}={self._ctx.instance}"}
            ):
                self.remove(object_id(image), force=True)  # built here: ours alone
        for key in ("onboard_tags", "images", "system_images"):
            with contextlib.suppress(OSError):
                self._ctx.state.update(key, None)
