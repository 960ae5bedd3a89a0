"""Build inputs read from a volume without leaving it, and the onboard registry's names.

Used by the Docker engine, but free of the Docker SDK:

- `open_confined(path, volume)` opens a file of a volume for reading, refusing one that is
  (or has become, since the request's path was checked) a symlink or outside the volume;
- `write_context(...)` writes a build context tar from a volume folder, walking it with
  directory file descriptors (`os.fwalk`) so that nothing outside the volume is ever read,
  with the request's Dockerfile added under a name of its own: the user's files are only
  read, never rewritten;
- `logical_lines`, `parse_dockerfile` and `expand` read a Dockerfile as the engine's parser
  does (the `# escape=` directive, continuations, comments inside them, `$ARG`s);
- `build_references(text)` lists what a Dockerfile makes the engine read from outside its
  context (images in `FROM` and `COPY --from`, remote `ADD` sources), for the sandbox's
  checks; `base_images(text)` the images alone;
- `onboard_source(ref, registry_map)` maps an onboard registry name
  (`fpga.dphi.space:5000/alpine:3.20`) to the image that stands for it locally.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import stat
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

#: The registry the EM's air-gapped builds take base images from.
ONBOARD_REGISTRY = "fpga.dphi.space:5000/"
#: `--registry-map` default: an onboard name stands for the same name without the registry.
DEFAULT_REGISTRY_MAP: Mapping[str, str] = {ONBOARD_REGISTRY: ""}
#: Largest Dockerfile read (the engine refuses far smaller ones anyway).
MAX_DOCKERFILE_BYTES = 1024 * 1024


class ConfinedPathError(Exception):
    """A path that is not a regular file or folder inside its volume."""


def _inside(real: str, volume: Path) -> bool:
    root = os.path.realpath(volume)
    return real == root or real.startswith(root + os.sep)


def opened_inside(fd: int, path: Path, volume: Path) -> bool:
    """Whether the file open at `fd` (opened from `path`) is inside `volume`.

    Checked after opening, so that a path a pod changes between the check of the request's
    path and the open (a folder swapped for a symlink) cannot lead out: the open file must be
    the very file (device and inode) that `path` now resolves to, inside the volume.
    """
    real = os.path.realpath(path)
    if not _inside(real, volume):
        return False
    try:
        now = os.stat(real)
    except OSError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (now.st_dev, now.st_ino)


def open_fd_confined(path: Path, volume: Path, follow: bool = False) -> int:
    """A read-only descriptor of the regular file `path` of `volume` (the caller closes it).

    Args:
        path: The file (already resolved inside the volume).
        volume: The volume.
        follow: Follow a symlink as the last component (its target must be inside too).

    Raises:
        ConfinedPathError: The file is not a regular file, or it is (now) outside the volume.
        OSError: The file can't be opened (e.g. it does not exist; a symlink without `follow`).
    """
    # O_NONBLOCK: a FIFO a pod planted must not block the open (it is refused below)
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfinedPathError(f"{path.name}: not a regular file")
        os.set_blocking(fd, True)
        if not opened_inside(fd, path, volume):
            raise ConfinedPathError(f"{path.name}: outside the volume")
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_confined(path: Path, volume: Path) -> BinaryIO:
    """Open a regular file of `volume` for reading, without following a last symlink.

    Raises:
        ConfinedPathError: The file is a symlink, not a regular file, or (through a folder
            swapped for a symlink) outside the volume.
        OSError: The file can't be opened (e.g. it does not exist).
    """
    return os.fdopen(open_fd_confined(path, volume), "rb")


def read_dockerfile(path: Path, volume: Path) -> bytes:
    """The Dockerfile's bytes (at most `MAX_DOCKERFILE_BYTES`).

    Raises:
        ConfinedPathError: See `open_confined`, or the file is too large.
        OSError: It can't be read.
    """
    with open_confined(path, volume) as file:
        data = file.read(MAX_DOCKERFILE_BYTES + 1)
    if len(data) > MAX_DOCKERFILE_BYTES:
        raise ConfinedPathError(f"the Dockerfile is larger than {MAX_DOCKERFILE_BYTES} bytes")
    return data


def dockerignore_patterns(context: Path, volume: Path) -> list[str]:
    """The context's `.dockerignore` patterns, read as the docker CLI reads them."""
    try:
        with open_confined(context / ".dockerignore", volume) as file:
            text = file.read(MAX_DOCKERFILE_BYTES).decode("utf-8", "replace")
    except (OSError, ConfinedPathError):
        return []
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def write_context(
    context: Path,
    volume: Path,
    dockerfile: bytes,
    out: BinaryIO,
    excluded: Callable[[str], bool],
    ignore_patterns: list[str],
) -> str:
    """Write a build context tar of `context` into `out`; return the Dockerfile's name in it.

    Regular files, folders and symlinks (as links, never followed) are archived; anything
    else is left out, as is whatever `excluded(relative_path)` says (`.dockerignore`). The
    Dockerfile goes in under a name of its own, listed in the tar's `.dockerignore` (the
    context's patterns plus that name) so that the engine drops it from the context once
    read, as the docker CLI does with a Dockerfile from outside the context.

    Raises:
        ConfinedPathError: `context` is not a folder inside `volume`.
    """
    dir_fd = os.open(context, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if not opened_inside(dir_fd, context, volume):
            raise ConfinedPathError("the context is outside the volume")
        return _write_context(dir_fd, dockerfile, out, excluded, ignore_patterns)
    finally:
        os.close(dir_fd)


def _write_context(
    dir_fd: int,
    dockerfile: bytes,
    out: BinaryIO,
    excluded: Callable[[str], bool],
    ignore_patterns: list[str],
) -> str:
    names: set[str] = set()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        # walked from the checked descriptor: every folder below is opened relative to it
        for top, folders, files, top_fd in os.fwalk(".", dir_fd=dir_fd, follow_symlinks=False):
            relative_top = os.path.normpath(top)
            prefix = "" if relative_top == "." else relative_top + "/"
            kept = []
            for folder in sorted(folders):
                if excluded(prefix + folder):
                    continue
                kept.append(folder)
                _add(archive, prefix + folder, folder, top_fd)
                names.add(prefix + folder)
            folders[:] = kept  # fwalk descends only into these
            for name in sorted(files):
                if prefix + name == ".dockerignore":
                    continue  # written below, with the Dockerfile's name added
                if not excluded(prefix + name):
                    _add(archive, prefix + name, name, top_fd)
                    names.add(prefix + name)
        arcname = ".dphi-em.Dockerfile"
        while arcname in names:
            arcname = "_" + arcname
        ignore = "\n".join([*(ignore_patterns or [".dockerignore"]), arcname]) + "\n"
        for member, data in ((arcname, dockerfile), (".dockerignore", ignore.encode())):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return arcname


def _add(archive: tarfile.TarFile, arcname: str, name: str, dir_fd: int) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return  # removed meanwhile
    info = tarfile.TarInfo(arcname)
    info.mode = stat.S_IMODE(st.st_mode)
    info.mtime = int(st.st_mtime)
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        archive.addfile(info)
    elif stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(name, dir_fd=dir_fd)
        archive.addfile(info)
    elif stat.S_ISREG(st.st_mode):
        try:
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
            fd = os.open(name, flags, dir_fd=dir_fd)
        except OSError:
            return
        with os.fdopen(fd, "rb") as file:
            real = os.fstat(file.fileno())
            if not stat.S_ISREG(real.st_mode):
                return
            info.size = real.st_size
            archive.addfile(info, _Exactly(file, real.st_size))


class _Exactly(io.RawIOBase):
    """A file read as exactly `size` bytes (padded with zeros if it shrank meanwhile)."""

    def __init__(self, file: BinaryIO, size: int) -> None:
        self._file = file
        self._left = size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._file.read(size)
        data += b"\0" * (size - len(data))
        self._left -= len(data)
        return data


class DockerfileRefused(Exception):
    """A Dockerfile the sandbox will not build (the message is the log's `ERROR:` line)."""


@dataclasses.dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, as the engine's parser reads it.

    Attributes:
        line: Its first line's number.
        keyword: The instruction, upper case (`FROM`, `COPY`...).
        flags: Its `--name=value` flags (`--from`, `--platform`...), names lower case.
        words: Its arguments: the JSON form's strings, else the words split on white space.
    """

    line: int
    keyword: str
    flags: dict[str, str]
    words: list[str]


_DIRECTIVE = re.compile(r"^#\s*([A-Za-z_]+)\s*=\s*(.*?)\s*$")
_VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
_REMOTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|git@)")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) with continuations joined as the engine's parser joins them: the
    escape character (`\\`, or another one set by a leading `# escape=` directive) ending a
    line continues it, and comment or empty lines inside a continuation are skipped."""
    lines = text.splitlines()
    escape = "\\"
    for raw in lines:  # parser directives: only at the very top
        match = _DIRECTIVE.match(raw.strip())
        if match is None:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("`", "\\"):
            escape = match.group(2)
    result: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # outside a continuation too: a comment is never an instruction
        start, sofar = pending if pending is not None else (number, "")
        if line.endswith(escape):
            pending = (start, sofar + line[: -len(escape)] + " ")
            continue
        pending = None
        result.append((start, sofar + line))
    if pending is not None:
        result.append(pending)
    return result


def parse_dockerfile(text: str) -> list[Instruction]:
    """A Dockerfile's instructions (`ONBUILD X` is `X` with keyword `ONBUILD X`)."""
    instructions = []
    for number, line in logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ONBUILD":
            inner, _, rest = rest.strip().partition(" ")
            keyword = f"ONBUILD {inner.upper()}"
        flags: dict[str, str] = {}
        rest = rest.strip()
        while rest.startswith("--"):
            word, _, rest = rest.partition(" ")
            name, _, value = word[2:].partition("=")
            flags[name.lower()] = value
            rest = rest.strip()
        words: list[str] = []
        if rest.startswith("["):
            with contextlib.suppress(ValueError):
                parsed = json.loads(rest)
                if isinstance(parsed, list) and all(isinstance(w, str) for w in parsed):
                    words = list(parsed)
        if not words:
            words = rest.split()
        instructions.append(Instruction(number, keyword, flags, words))
    return instructions


def expand(word: str, variables: Mapping[str, str]) -> str:
    """`word` with `$X`, `${X}`, `${X:-default}` and `${X:+alternative}` expanded as the engine
    expands them (an unknown variable is empty).

    Raises:
        DockerfileRefused: A `$` remains that the engine might read otherwise.
    """

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        value = variables.get(name, "")
        if match.group(2) == "-":
            return value or match.group(3)
        if match.group(2) == "+":
            return match.group(3) if value else ""
        return value

    expanded = _VARIABLE.sub(one, word)
    if "$" in expanded or "\\" in word or "`" in word:
        raise DockerfileRefused(
            f"{word!r}: the emulator's sandbox cannot tell which image or source this names "
            "(write it without escapes or nested variables)"
        )
    return expanded


def _declare(words: list[str], variables: dict[str, str], keyword: str) -> None:
    """Record what an `ARG` or `ENV` instruction declares (`ARG X` without a default is
    empty, as without build args)."""
    if keyword == "ENV" and len(words) >= 2 and "=" not in words[0]:
        variables[words[0]] = " ".join(words[1:])
        return
    for word in words:
        name, sep, value = word.partition("=")
        if keyword == "ARG" and not sep and name in variables:
            continue  # `ARG X` after a global `ARG X=1`: the global default
        with contextlib.suppress(DockerfileRefused):
            value = expand(value.strip("\"'"), variables)
        variables[name] = value


@dataclasses.dataclass
class BuildReferences:
    """What a Dockerfile makes the engine read from outside its context.

    Attributes:
        images: Image references in `FROM` and `COPY --from` (ARGs expanded), in order.
        remote: Remote sources of `ADD` (URLs, git), which the engine would fetch.
    """

    images: list[str] = dataclasses.field(default_factory=list)
    remote: list[str] = dataclasses.field(default_factory=list)


def build_references(dockerfile: str, triggers_only: bool = False) -> BuildReferences:
    """The images and remote sources a Dockerfile makes the engine read, resolved as the
    engine resolves them: `FROM` expanded with the ARGs declared before the first `FROM`,
    `COPY --from`/`ADD --from` naming an image (not a stage), `ADD <url>`; `ONBUILD` triggers
    count too (they run in a later build that starts `FROM` this image).

    Args:
        dockerfile: The Dockerfile's text, or (with `triggers_only`) an image's `OnBuild`
            triggers, one per line.
        triggers_only: Read `dockerfile` as triggers.

    Raises:
        DockerfileRefused: A reference the sandbox cannot resolve for sure.
    """
    found = BuildReferences()
    global_args: dict[str, str] = {}
    stage_vars: dict[str, str] = {}
    stages: list[str] = []
    seen_from = triggers_only
    for instruction in parse_dockerfile(dockerfile):
        keyword = instruction.keyword.removeprefix("ONBUILD ")
        words = instruction.words
        if keyword == "FROM" and not instruction.keyword.startswith("ONBUILD"):
            seen_from = True
            if not words:
                continue
            ref = expand(words[0], global_args)
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.append(words[2].lower())
            else:
                stages.append(str(len(stages)))
            stage_vars = dict(global_args)
            if ref.lower() != "scratch" and ref.lower() not in stages[:-1]:
                found.images.append(ref)
            continue
        if keyword == "ARG" and not seen_from:
            _declare(words, global_args, "ARG")
            continue
        if keyword in ("ARG", "ENV"):
            _declare(words, stage_vars, keyword)
            continue
        if keyword in ("COPY", "ADD"):
            source = instruction.flags.get("from")
            if source is not None:
                if "$" in source:
                    raise DockerfileRefused(
                        f"--from={source}: a variable in --from is not allowed by the "
                        "emulator's sandbox (name the stage or image)"
                    )
                index = source.isdigit() and int(source) < len(stages)
                if source.lower() not in stages and not index:
                    found.images.append(source)
            if keyword == "ADD":
                for word in words[:-1]:
                    value = expand(word, stage_vars) if "$" in word else word
                    if _REMOTE.match(value.strip()):
                        found.remote.append(value)
    return found


def base_images(dockerfile: str) -> list[str]:
    """The images the Dockerfile's `FROM` and `COPY --from` name, ARGs expanded (not
    `scratch`, nor stages)."""
    with contextlib.suppress(DockerfileRefused):
        return list(dict.fromkeys(build_references(dockerfile).images))
    return []


def onboard_source(ref: str, registry_map: Mapping[str, str]) -> str | None:
    """The local image that stands for `ref`: an exact `FROM=TO` entry, else the longest
    prefix entry (`fpga.dphi.space:5000/` -> ``), else None."""
    if ref in registry_map:
        return registry_map[ref] or None
    prefixes = [key for key in registry_map if key.endswith("/") and ref.startswith(key)]
    if not prefixes:
        return None
    key = max(prefixes, key=len)
    return registry_map[key] + ref[len(key) :] or None


def parse_registry_map(entries: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`FROM=TO` entries over the default map.

    Raises:
        ValueError: An entry is not `FROM=TO`.
    """
    mapping = dict(DEFAULT_REGISTRY_MAP)
    for entry in entries:
        source, sep, target = entry.partition("=")
        if not sep or not source.strip():
            raise ValueError(f"expected FROM=TO for a registry mapping, got {entry!r}")
        mapping[source.strip()] = target.strip()
    return mapping
