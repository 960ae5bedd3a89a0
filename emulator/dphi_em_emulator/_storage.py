"""Volumes: resolving the paths a request names, and the file tree of `GET /em/files/list`.

Every path is resolved inside its volume. A leading `/` (or several) means the volume root,
as in the vendor's examples (`delete("/echo-test/Dockerfile")`): `/a/b` is `a/b`, `/` is the
root. A path is refused with 403 (`ILLEGAL_PATH`) when it has a `..` component (also after
percent-decoding, however often encoded), holds a NUL or a backslash, starts with a drive
letter (`C:`), or resolves (through a symlink) outside the volume. Nothing outside the volume
is ever read, written or listed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ._errors import ILLEGAL_PATH, INVALID_PARAMETERS, INVALID_PATH, EMError

#: A pod name travels as a Kubernetes object name (RFC 1123 label).
_POD_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DRIVE = re.compile(r"^[A-Za-z]:")
#: Longest file name and path (bytes) a volume takes: Linux's NAME_MAX, and a safe PATH_MAX.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 3072
#: Deepest folder nesting a path may name, and how deep `files/list` lists (deeper folders
#: are listed as `truncated`).
MAX_DEPTH = 128


def pod_name_or_none(value: object, field: str = "pod_name") -> str | None:
    """The pod (or volume) name of a request field: None for absent, null or empty; 400 when
    invalid. `field` names the field in the error (`pvc_name` follows the same rules)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _POD_NAME.fullmatch(value):
        what = "a volume name" if field == "pvc_name" else "a pod name"
        raise EMError(
            400,
            INVALID_PARAMETERS,
            f"Invalid {field} {value!r}: {what} must consist of lower case alphanumeric "
            "characters or '-', start and end with an alphanumeric character, and be at most "
            "63 characters long (e.g. 'my-name' or '123-abc').",
        )
    return value


def _illegal(path: str) -> EMError:
    return EMError(403, ILLEGAL_PATH, f"Illegal path {path!r}: it must stay inside the volume.")


def _fully_unquoted(path: str) -> str:
    for _ in range(10):
        decoded = unquote(path)
        if decoded == path:
            return decoded
        path = decoded
    return path


def relative_parts(path: str) -> list[str]:
    """The components of a volume-relative path (empty for the volume root).

    A leading `/` is the volume root: `/a/b` and `a/b` are the same path.

    Raises:
        EMError: 403 for a path that climbs out (`..`), even when encoded, or names a drive.
    """
    for candidate in (path, _fully_unquoted(path)):
        if "\x00" in candidate or "\\" in candidate:
            raise _illegal(path)
        if _DRIVE.match(candidate.lstrip("/")):
            raise _illegal(path)
        if any(part == ".." for part in candidate.split("/")):
            raise _illegal(path)
    parts = [part for part in path.split("/") if part not in ("", ".")]
    check_name_lengths(path, parts)
    return parts


def check_name_lengths(path: str, parts: list[str]) -> None:
    """400 `INVALID_PATH` for a name or path longer than a file system takes."""
    try:
        sizes = [len(part.encode("utf-8")) for part in parts]
    except UnicodeEncodeError:
        raise EMError(400, INVALID_PATH, f"Invalid path {path!r}: not valid UTF-8.") from None
    if any(size > MAX_NAME_BYTES for size in sizes) or sum(sizes) + len(sizes) > MAX_PATH_BYTES:
        raise EMError(400, INVALID_PATH, f"Invalid path {path[:100]!r}...: name too long.")
    if len(sizes) > MAX_DEPTH:
        raise EMError(
            400, INVALID_PATH, f"Invalid path {path[:100]!r}...: deeper than {MAX_DEPTH} folders."
        )


def resolve(volume: Path, path: str) -> Path:
    """The absolute path of `path` inside `volume` (which need not exist yet).

    Raises:
        EMError: 403 when the path, or the file it names through symlinks, is outside.
    """
    parts = relative_parts(path)
    target = volume.joinpath(*parts)
    real_volume = os.path.realpath(volume)
    real_target = os.path.realpath(target)
    if real_target != real_volume and not real_target.startswith(real_volume + os.sep):
        raise _illegal(path)
    return target


def _node_time(mtime: float) -> str:
    return time.strftime("%Y-%m-%d-%H-%M", time.gmtime(mtime))


def _node_hash(relpath: str, st: os.stat_result) -> int:
    """A signed 64-bit hash of the file's path, size and modification time (not its bytes)."""
    digest = hashlib.blake2b(
        f"{relpath}\x00{st.st_size}\x00{st.st_mtime_ns}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def tree(folder: Path) -> tuple[list[dict[str, Any]], int]:
    """The nodes of `folder` (sorted by name) and their total size (bytes).

    The listing goes `MAX_DEPTH` folders deep, exactly as deep as a path may name: a folder
    whose contents would be deeper (a pod can make folders of any depth) is listed with
    `"contents": []` and `"truncated": true`, and what is inside it is not counted in any
    `size`. Folders are read through directory file descriptors, so no path length or depth
    the file system allows can fail the listing. Symlinks are left out (a volume can't make
    them; one planted on disk is not followed), and so are special files.
    """
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return [], 0
    try:
        return _tree(fd, "", 1)
    finally:
        os.close(fd)


def _tree(fd: int, prefix: str, depth: int) -> tuple[list[dict[str, Any]], int]:
    """The nodes of the folder open as `fd`, whose entries' paths have `depth` parts."""
    nodes: list[dict[str, Any]] = []
    total = 0
    with os.scandir(fd) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        try:
            if entry.is_symlink():
                continue
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:  # removed meanwhile (a pod is at work)
            continue
        name = entry.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        relpath = f"{prefix}{entry.name}"
        if stat.S_ISDIR(st.st_mode):
            node: dict[str, Any] = {
                "type": "directory",
                "name": name,
                "size": "0",
                "time": _node_time(st.st_mtime),
                "contents": [],
            }
            size = 0
            if depth >= MAX_DEPTH:
                node["truncated"] = True
            else:
                node["contents"], size = _subtree(fd, entry.name, relpath + "/", depth + 1)
            node["size"] = str(size)
            nodes.append(node)
        elif stat.S_ISREG(st.st_mode):
            size = st.st_size
            nodes.append(
                {
                    "type": "file",
                    "name": name,
                    "size": str(size),
                    "time": _node_time(st.st_mtime),
                    "hash": _node_hash(relpath, st),
                }
            )
        else:
            continue
        total += size
    return nodes, total


def _subtree(parent: int, name: str, prefix: str, depth: int) -> tuple[list[dict[str, Any]], int]:
    try:  # O_NOFOLLOW: a folder swapped for a symlink meanwhile is not followed
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
    except OSError:  # gone, or no longer a folder
        return [], 0
    try:
        return _tree(fd, prefix, depth)
    finally:
        os.close(fd)


#: Errors of a rename onto a name that is taken in a way rename won't replace.
_NAME_TAKEN = frozenset({errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR})


def remove_tree(folder: Path) -> None:
    """Remove `folder` and everything in it, however deep, without recursion.

    `shutil.rmtree` recurses once per folder level, so a pod's folders a thousand levels deep
    make it fail (RecursionError). Here, with two directory file descriptors at a time: each
    pass over `folder` unlinks its files and empty folders and moves the contents of each other
    folder up into `folder` (under fresh names), then removes that folder; every pass brings
    what is left one level up. Symlinks are removed, never followed.

    Raises:
        OSError: What the file system refused (e.g. `folder` is not a folder).
    """
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    moved = 0
    try:
        while True:
            with os.scandir(fd) as scan:
                entries = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in scan]
            if not entries:
                break
            for name, is_dir in entries:
                if not is_dir:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=fd)
                    continue
                try:
                    os.rmdir(name, dir_fd=fd)
                    continue
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                        raise
                moved = _move_contents_up(fd, name, moved)
                try:
                    os.rmdir(name, dir_fd=fd)
                except FileNotFoundError:
                    pass
                except OSError as exc:  # written to meanwhile: the next pass takes it
                    if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                        raise
    finally:
        os.close(fd)
    os.rmdir(folder)


def _move_contents_up(fd: int, name: str, moved: int) -> int:
    """Move what the folder `name` (in the folder open as `fd`) holds into that folder, under
    fresh names; returns the count of names used so far."""
    sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
    try:
        with os.scandir(sub) as scan:
            children = [entry.name for entry in scan]
        for child in children:
            while True:
                moved += 1
                try:
                    os.rename(child, f".dphi-em-removing-{moved}", src_dir_fd=sub, dst_dir_fd=fd)
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno not in _NAME_TAKEN:
                        raise
    finally:
        os.close(sub)
    return moved
