"""Build inputs read from a volume without leaving it, and the onboard registry's names.

Used by the Docker engine, but free of the Docker SDK:

- `open_confined(path, volume)` opens a file of a volume for reading, refusing one that is
  (or has become, since the request's path was checked) a symlink or outside the volume;
- `write_context(...)` writes a build context tar from a volume folder, walking it with
  directory file descriptors (`os.fwalk`) so that nothing outside the volume is ever read,
  with the request's Dockerfile added under a name of its own: the user's files are only
  read, never rewritten;
- `base_images(text)` lists the images a Dockerfile's `FROM` lines name;
- `onboard_source(ref, registry_map)` maps an onboard registry name
  (`fpga.dphi.space:5000/alpine:3.20`) to the image that stands for it locally.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

from ._images import _instructions

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


def base_images(dockerfile: str) -> list[str]:
    """The images the Dockerfile's `FROM` lines name (not `scratch`, stages, or `$ARG`s)."""
    stages: set[str] = set()
    found: list[str] = []
    for _, instruction in _instructions(dockerfile):
        words = instruction.split()
        if not words or words[0].upper() != "FROM":
            continue
        args = [word for word in words[1:] if not word.startswith("--")]
        if not args:
            continue
        ref = args[0]
        if len(args) >= 3 and args[1].upper() == "AS":
            stages.add(args[2].lower())
        if ref.lower() == "scratch" or ref.lower() in stages or "$" in ref:
            continue
        if ref not in found:
            found.append(ref)
    return found


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
