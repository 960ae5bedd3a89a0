"""Images: `build` checks a Dockerfile, `load` reads a `docker save` tar, both record a name.

Nothing is built or unpacked: a build succeeds when the Dockerfile and the context exist in
the volume and the Dockerfile has a build stage (`FROM`); a load succeeds when the tar holds a
`manifest.json` whose `RepoTags` name the requested image. Either records `<user>-<image>`.
"""

from __future__ import annotations

import json
import re
import tarfile
import time
from pathlib import Path
from typing import Any, BinaryIO

from ._errors import BUILD_FAILED, IMAGE_LOAD_FAILED, EMError
from ._state import JsonDocument

_IMAGE = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"
)
_MAX_MANIFEST = 16 * 1024 * 1024
_BUILD_HEADER = ['#0 building with "default" instance using docker driver\n', "\n"]


def _without_latest(name: str) -> str:
    return name[: -len(":latest")] if name.endswith(":latest") else name


def same_image(a: str, b: str) -> bool:
    """Whether two references name the same image (`x` is `x:latest`)."""
    return _without_latest(a) == _without_latest(b)


class Images:
    """The images each user built or loaded, kept in `images.json`."""

    def __init__(self, document: JsonDocument) -> None:
        self._doc = document

    def names(self, user: str) -> list[str]:
        return sorted(self._doc.get(user) or {})

    def add(self, user: str, name: str, source: str) -> None:
        images: dict[str, Any] = self._doc.get(user) or {}
        images = {key: value for key, value in images.items() if not same_image(key, name)}
        images[name] = {"source": source, "created": time.time()}
        self._doc.update(user, images)

    def has(self, user: str, name: str) -> bool:
        return any(same_image(name, own) for own in self._doc.get(user) or {})


def _build_failed(lines: list[str], message: str = "Docker image build failed") -> EMError:
    return EMError(400, BUILD_FAILED, message, _BUILD_HEADER + lines)


def check_image_name(image: str, prefixed: str) -> None:
    """Raise `BUILD_FAILED` unless `prefixed` is a valid image reference."""
    if not _IMAGE.fullmatch(prefixed):
        raise _build_failed(
            [f'ERROR: invalid tag "{prefixed}": repository name must be lowercase\n']
            if image.lower() != image
            else [f'ERROR: invalid tag "{prefixed}": invalid reference format\n']
        )


def _instructions(text: str) -> list[tuple[int, str]]:
    """(line number, instruction) of a Dockerfile, continuations joined, comments dropped."""
    result: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if pending is None and (not line or line.startswith("#")):
            continue
        start, sofar = pending if pending is not None else (number, "")
        if line.endswith("\\"):
            pending = (start, sofar + line[:-1] + " ")
            continue
        pending = None
        result.append((start, sofar + line))
    if pending is not None:
        result.append(pending)
    return result


def check_build(dockerfile: Path, dockerfile_arg: str, context: Path, context_arg: str) -> None:
    """Raise `BUILD_FAILED` with a docker-like log unless the build would start.

    Args:
        dockerfile: The Dockerfile's path on disk (inside the volume).
        dockerfile_arg: The path as the request gave it (for the log).
        context: The context folder on disk (inside the volume).
        context_arg: The path as the request gave it.
    """
    if not context.is_dir():
        raise _build_failed([f'ERROR: unable to prepare context: path "{context_arg}" not found\n'])
    if not dockerfile.is_file():
        raise _build_failed(
            [
                "#1 [internal] load build definition from Dockerfile\n",
                "#1 transferring dockerfile: 2B done\n",
                "#1 DONE 0.0s\n",
                "ERROR: failed to solve: failed to read dockerfile: "
                f"open {dockerfile_arg}: no such file or directory\n",
            ]
        )
    with dockerfile.open("rb") as file:  # the first MiB only, however large the file
        text = file.read(1024 * 1024).decode("utf-8", errors="replace")
    size = dockerfile.stat().st_size
    head = [
        "#1 [internal] load build definition from Dockerfile\n",
        f"#1 transferring dockerfile: {size}B done\n",
        "#1 DONE 0.0s\n",
    ]
    instructions = _instructions(text)
    if not instructions:
        raise _build_failed([*head, "ERROR: failed to solve: file with no instructions\n"])
    for number, instruction in instructions:
        keyword, _, argument = instruction.partition(" ")
        if keyword.upper() == "ARG":
            continue
        if keyword.upper() == "FROM" and argument.strip():
            return
        raise _build_failed(
            [
                *head,
                f"ERROR: failed to solve: dockerfile parse error on line {number}: "
                "no build stage in current context\n",
            ]
        )
    raise _build_failed(
        [
            *head,
            "ERROR: failed to solve: no build stage in current context\n",
        ]
    )


def _load_failed(lines: list[str]) -> EMError:
    return EMError(400, IMAGE_LOAD_FAILED, "Tar file loading failed", lines)


def tar_tags(path: Path, path_arg: str, file: BinaryIO | None = None) -> list[str]:
    """The `RepoTags` of a `docker save` tar's `manifest.json` (read from `file` when given,
    an open file of the tar, else from `path`).

    Raises:
        EMError: `IMAGE_LOAD_FAILED` with a docker-like log when the tar can't be read.
    """
    if file is None and not path.is_file():
        raise _load_failed([f"open {path_arg}: no such file or directory\n"])
    try:
        with tarfile.open(None if file else path, "r:*", fileobj=file) as archive:
            for member in archive:
                if member.name.lstrip("./") == "manifest.json" and member.isfile():
                    if member.size > _MAX_MANIFEST:
                        raise _load_failed(
                            [f"invalid manifest.json: larger than {_MAX_MANIFEST} bytes\n"]
                        )
                    stream = archive.extractfile(member)
                    manifest = json.loads(stream.read()) if stream is not None else None
                    break
            else:
                raise _load_failed(
                    [
                        "open /var/lib/docker/tmp/docker-import-emulator/repositories: "
                        "no such file or directory\n"
                    ]
                )
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _load_failed(
            [f"Error processing tar file(exit status 1): {exc or 'unexpected EOF'}\n"]
        ) from exc
    except ValueError as exc:
        raise _load_failed([f"invalid manifest.json: {exc}\n"]) from exc
    if not isinstance(manifest, list):
        raise _load_failed(["invalid manifest.json: expected a list\n"])
    tags: list[str] = []
    for entry in manifest:
        repo_tags = entry.get("RepoTags") if isinstance(entry, dict) else None
        if isinstance(repo_tags, list):
            tags.extend(tag for tag in repo_tags if isinstance(tag, str))
    return tags


def check_load(path: Path, path_arg: str, image: str, file: BinaryIO | None = None) -> list[str]:
    """Raise `IMAGE_LOAD_FAILED` unless the tar at `path` (or open as `file`) was saved as
    `image`; return its `RepoTags`."""
    tags = tar_tags(path, path_arg, file)
    if not any(same_image(tag, image) for tag in tags):
        held = ", ".join(tags) if tags else "no tagged image"
        raise _load_failed(
            [
                *(f"Loaded image: {tag}\n" for tag in tags),
                f"Error: the tar holds {held}, not {image!r}: "
                "the image name must equal the name the tar was saved with\n",
            ]
        )
    return tags
