"""Images in the Docker engine: real builds and loads, the onboard registry, ownership.

`build` streams a context tar made from the volume (`_dockerfile.py`) to the engine's builder
with the network off (the EM's builds are air-gapped) and tags the result `<user>-<image>`; a
failure answers `BUILD_FAILED` with the real log's last 100 lines. Base images named by the
onboard registry (`fpga.dphi.space:5000/python:3.12-alpine`) must be in its catalogue
(`.._catalogue`), checked before any build step, and are tagged from the local image that
stands for them (`--registry-map`), else from their offline stand-in (`.._standins`). `load`
loads a `docker save` tar, tags the image `<user>-<image>` and puts back whatever the tar's
own names had pointed to. Built images carry labels; both kinds are recorded per emulator
instance (`docker.json`), which is what `image/list`, ownership checks and `--on-stop purge`
read.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any

from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.images import Image
from docker.utils.build import PatternMatcher

from .. import _dockerfile, _images
from .._engine import BuildRequest, LoadRequest
from .._errors import BUILD_FAILED, IMAGE_LOAD_FAILED, EMError
from .._images import same_image
from .._standins import onboard_images
from ._common import (
    LABEL_EMULATOR,
    LABEL_IMAGE,
    LABEL_USER,
    EngineContext,
    explain,
    object_id,
    split_tag,
    with_tag,
)

#: Lines of build log returned with `BUILD_FAILED` (the contract's "last 100 lines").
LOG_TAIL_LINES = 100
_STEP_IMAGE = re.compile(r"^ ---> ([0-9a-f]{12})\s*$")


def _build_failed(lines: list[str], message: str = "Docker image build failed") -> EMError:
    tail = [line if line.endswith("\n") else line + "\n" for line in lines][-LOG_TAIL_LINES:]
    return EMError(400, BUILD_FAILED, message, tail)


def _load_failed(lines: list[str]) -> EMError:
    tail = [line if line.endswith("\n") else line + "\n" for line in lines][-LOG_TAIL_LINES:]
    return EMError(400, IMAGE_LOAD_FAILED, "Tar file loading failed", tail)


class DockerImages:
    """The users' images in the engine, recorded per emulator instance.

    Args:
        ctx: The engine's shared context.
    """

    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx
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
        records: dict[str, dict[str, Any]] = self._ctx.state.get("images") or {}
        return records

    def _record(self, user: str, name: str, image_id: str, source: str) -> None:
        with self._ctx.lock:
            records = self.records()
            own = {
                key: value
                for key, value in (records.get(user) or {}).items()
                if not same_image(key, name)
            }
            own[name] = {"id": image_id, "source": source, "created": time.time()}
            records[user] = own
            self._ctx.state.update("images", records)

    def owner(self, ref: str, image: Image | None) -> str | None:
        """The user of this instance whose image `ref` is; `"?"` for another emulator's."""
        for user, own in self.records().items():
            if any(same_image(ref, name) for name in own):
                return user
        labels = (image.labels if image is not None else None) or {}
        if LABEL_USER in labels:
            if labels.get(LABEL_EMULATOR) != self._ctx.instance:
                return "?"
            return str(labels[LABEL_USER])
        return None

    def image_names(self, user: str) -> list[str]:
        """The user's built and loaded images that are still in the engine, sorted."""
        names = []
        for name, record in (self.records().get(user) or {}).items():
            image = self.get(name)
            if image is not None and object_id(image) == record.get("id"):
                names.append(name)
        return sorted(names)

    def provide(self, ref: str, log: list[str] | None = None, pull: bool = True) -> Image | None:
        """The image `ref`, tagging it from its local stand-in when it is an onboard registry
        name that the engine lacks, and pulling it when `pull` and `--pull` allow."""
        image = self.get(ref)
        if image is not None:
            return image
        source = _dockerfile.onboard_source(ref, self._ctx.config.registry_map)
        if source is not None:
            stand_in = self.get(source) or (self._pull(source, log) if pull else None)
            if stand_in is not None:
                self._tag_onboard(ref, stand_in)
                if log is not None:
                    log.append(f"onboard registry: {ref} is the local image {source}\n")
                return stand_in
        # issue 17: a catalogue image the engine lacks: its stand-in (made only when `pull`)
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
        text = dockerfile.decode("utf-8", "replace")
        for ref in _dockerfile.base_images(text):  # issue 17: before any build step
            problem = self.onboard.problem(ref)  # (a user's image is checked below)
            if problem is not None and self.owner(ref, self.get(ref)) is None:
                raise _build_failed([f"ERROR: failed to solve: {problem}"])
        for ref in _dockerfile.base_images(text):
            owner = self.owner(ref, self.get(ref))
            if owner is not None and owner != request.user:
                raise _build_failed(
                    [*log, f"ERROR: pull access denied for {ref}, repository does not exist"]
                )
            if self.provide(ref, log) is None:
                detail = "pulling is off (--pull)" if not self._ctx.config.pull else "pull failed"
                mapped = _dockerfile.onboard_source(ref, self._ctx.config.registry_map)
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

        previous = self.get(request.name)
        stream_text: list[str] = []
        error: str | None = None
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
                try:
                    for chunk in self._ctx.client.api.build(
                        fileobj=context,
                        custom_context=True,
                        dockerfile=arcname,
                        tag=request.name,
                        rm=True,
                        forcerm=True,
                        pull=False,
                        network_mode="none",
                        labels=self._ctx.labels(
                            "image", request.user, **{LABEL_IMAGE: request.name}
                        ),
                        container_limits={"memory": self._ctx.config.pod_memory},
                        decode=True,
                    ):
                        if "stream" in chunk:
                            stream_text.append(str(chunk["stream"]))
                        if "error" in chunk:
                            error = str(chunk["error"])
                except DockerException as exc:
                    error = explain(exc)
        finally:
            with contextlib.suppress(OSError):
                (staging / "context.tar").unlink()
            with contextlib.suppress(OSError):
                staging.rmdir()
        lines = log + "".join(stream_text).replace(arcname, "Dockerfile").splitlines(True)
        if error is not None:
            self._remove_intermediates(lines)
            raise _build_failed([*lines, f"ERROR: {error}"])
        image = self.get(request.name)
        if image is None:
            raise _build_failed([*lines, "ERROR: the engine reported no image"])
        problem = self.architecture_problem(image, request.name)
        if problem is not None:
            self.remove(request.name)
            if previous is not None:
                repository, tag = split_tag(request.name)
                with contextlib.suppress(DockerException):
                    self._ctx.client.api.tag(object_id(previous), repository, tag, force=True)
            raise _build_failed([*lines, f"ERROR: {problem}"])
        self._record(request.user, request.name, object_id(image), "build")
        if previous is not None and object_id(previous) != object_id(image):
            self._remove_if_untagged(object_id(previous))

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

    def load(self, request: LoadRequest) -> None:
        """Load the tar, or raise `EMError` 400 `IMAGE_LOAD_FAILED` with a log tail."""
        try:
            # one open file, checked inside the volume, for the manifest and the load
            with _dockerfile.open_confined(request.tarfile, request.volume) as file:
                tags = _images.check_load(request.tarfile, request.tarfile_arg, request.image, file)
                before = {with_tag(tag): self.get(tag) for tag in tags}
                file.seek(0)
                loaded = self._ctx.client.images.load(file)
        except FileNotFoundError:
            raise _load_failed([f"open {request.tarfile_arg}: no such file or directory"]) from None
        except (OSError, _dockerfile.ConfinedPathError) as exc:
            raise _load_failed([f"open {request.tarfile_arg}: {exc}"]) from None
        except DockerException as exc:
            raise _load_failed([f"Error processing tar file: {explain(exc)}"]) from None
        target = None
        for image in loaded:
            if any(same_image(tag, request.image) for tag in image.tags):
                target = image
        if target is None:
            target = self.get(request.image)
        try:
            if target is None:
                raise _load_failed([f"Error: {request.image} is not in the loaded tar"])
            problem = self.architecture_problem(target, request.name)
            if problem is not None:
                raise _load_failed(
                    [*(f"Loaded image: {tag}\n" for tag in tags), f"Error: {problem}"]
                )
            repository, tag = split_tag(request.name)
            target.tag(repository, tag)
            self._record(request.user, request.name, object_id(target), "load")
        finally:
            # the tar's own names go back to what they named before
            for tag, previous in before.items():
                if previous is not None:
                    repository, version = split_tag(tag)
                    with contextlib.suppress(DockerException):
                        self._ctx.client.api.tag(
                            object_id(previous), repository, version, force=True
                        )
                else:
                    self.remove(tag)

    def purge(self) -> None:
        """Remove every image this instance built, loaded or tagged (`--on-stop purge`)."""
        for tag in self._ctx.state.get("onboard_tags") or []:
            self.remove(tag)
        self._ctx.state.update("onboard_tags", None)
        for own in self.records().values():
            for name in own:
                self.remove(name)  # a loaded image may also be someone else's
        with contextlib.suppress(DockerException):
            for image in self._ctx.client.images.list(
                all=True, filters={"label": f"{LABEL_EMULATOR}={self._ctx.instance}"}
            ):
                self.remove(object_id(image), force=True)  # built here: ours alone
        self._ctx.state.update("images", None)
