"""Folders and sync: the I/O-free planner and the result types.

The clients list the volume (`files_list`) and the local folder, then ask this module what
to do; they only loop over the answer (uplink batches, downlinks, deletes).

What sync compares (the EM's `files/list` gives a size in bytes and a modification time
to the minute, in the EM's local time, zone unknown; its `hash` algorithm is unpublished, so
it cannot be compared with a local file):

- a file missing on the other side is sent (or fetched);
- a file whose size differs is sent (or fetched);
- otherwise, `sync_up` sends a local file modified in a later minute than the volume's copy
  (local time taken as UTC), and `sync_down` fetches a volume file modified in a later
  minute than the local copy. A file stored by the EM is stamped when it was stored, after
  its local modification, and a fetched file is stamped when it was written, after its
  modification on the EM: so an unchanged tree sends (fetches) nothing.

It is fooled by a same-size change made in the same minute as the last transfer, and by
the EM's clock: it reads the EM's times as UTC, so an EM running `H` hours ahead of UTC
hides same-size local edits made within `H` hours after a `sync_up` (and makes `sync_down`
fetch again for `H` hours), and an EM behind UTC does the reverse.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import stat
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import attrs

from ._download import PARTIAL_NAME, safe_file_name
from ._errors import LocalFileExistsError, NotFoundError, ValidationError
from ._models import FileNode
from ._uplink import UplinkFile, batch_files, collect_tree

__all__ = [
    "DownlinkResult",
    "FetchItem",
    "LocalEntry",
    "RemoteEntry",
    "SyncItem",
    "SyncJob",
    "SyncPlan",
    "SyncResult",
    "normalize_remote_dir",
    "plan_folder_downlink",
    "plan_sync",
    "plan_sync_down",
    "plan_sync_up",
    "remote_entries",
    "scan_local",
]

Direction = Literal["up", "down"]


@attrs.frozen
class LocalEntry:
    """A local file: its path relative to the synced folder (`/`-separated), size, mtime."""

    path: str
    size: int
    mtime: float


@attrs.frozen
class RemoteEntry:
    """A file of the volume, relative to the synced folder: size and time as listed."""

    path: str
    size: int | None
    modified: datetime | None


@attrs.frozen
class SyncItem:
    """One file of a sync: its relative path, size in bytes and why it is (not) sent.

    `reason` is `new`, `size` (the sizes differ), `newer` (modified later), or `same`.
    """

    path: str
    size: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """A plain dict."""
        return {"path": self.path, "size": self.size, "reason": self.reason}


@attrs.frozen
class SyncPlan:
    """What a sync does: files to transfer, paths to delete, files left as they are.

    `delete` holds relative paths; a folder missing on the source side is one entry (it
    is deleted whole, in one call).
    """

    direction: Direction
    transfer: tuple[SyncItem, ...]
    delete: tuple[str, ...]
    skip: tuple[SyncItem, ...]


@attrs.frozen(kw_only=True)
class SyncResult:
    """What a sync did (or, with `dry_run`, would do).

    Attributes:
        direction: `up` (local to volume) or `down` (volume to local).
        local_dir: The local folder.
        remote_dir: The volume folder ("" is the root).
        transferred: The files sent (`up`) or fetched (`down`), with why.
        deleted: The paths deleted on the destination side (with `delete=True`).
        skipped: The files found the same on both sides.
        dry_run: Nothing was changed: `transferred` and `deleted` are what would be.
        calls: The uplink, downlink and delete calls made (the listing is not counted).
    """

    direction: Direction
    local_dir: Path
    remote_dir: str
    transferred: tuple[SyncItem, ...]
    deleted: tuple[str, ...]
    skipped: tuple[SyncItem, ...]
    dry_run: bool
    calls: int

    @property
    def total_bytes(self) -> int:
        """The bytes of the files transferred."""
        return sum(item.size for item in self.transferred)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (for `--json`)."""
        return {
            "direction": self.direction,
            "local_dir": str(self.local_dir),
            "remote_dir": self.remote_dir,
            "dry_run": self.dry_run,
            "transferred": [item.to_dict() for item in self.transferred],
            "deleted": list(self.deleted),
            "skipped": [item.to_dict() for item in self.skipped],
            "total_bytes": self.total_bytes,
            "calls": self.calls,
        }


@attrs.frozen(kw_only=True)
class DownlinkResult:
    """What a folder downlink wrote.

    Attributes:
        local_dir: The local folder the volume folder became.
        files: The local files written, in the tree's order.
        total_bytes: Their bytes.
        calls: The downlink calls made, one per file (the listing is not counted).
    """

    local_dir: Path
    files: tuple[Path, ...]
    total_bytes: int
    calls: int

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (for `--json`)."""
        return {
            "local_dir": str(self.local_dir),
            "files": [str(path) for path in self.files],
            "total_bytes": self.total_bytes,
            "calls": self.calls,
        }


def normalize_remote_dir(value: str, what: str = "remote_dir") -> str:
    """A volume folder as `a/b` ("" is the root); a leading `/` is the root.

    Raises:
        ValidationError: Not a string, or a `..` segment.
    """
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a string, got {value!r}.")
    parts = [part for part in value.replace("\\", "/").split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValidationError(f"Invalid {what} {value!r}: '..' is not allowed.")
    return "/".join(parts)


def find_folder(tree: Sequence[FileNode], folder: str) -> tuple[FileNode, ...] | None:
    """The contents of `folder` ("" is the root) in a `files_list` tree, None if absent.

    Raises:
        ValidationError: `folder` is a file.
    """
    nodes: tuple[FileNode, ...] = tuple(tree)
    for part in [p for p in folder.split("/") if p]:
        match = next((node for node in nodes if node.name == part), None)
        if match is None:
            return None
        if not match.is_dir:
            raise ValidationError(f"{folder!r} is a file in the volume, not a folder.")
        nodes = match.contents
    return nodes


def remote_entries(
    nodes: Iterable[FileNode], prefix: str = ""
) -> tuple[dict[str, RemoteEntry], set[str]]:
    """The files (by relative path) and the folders under `nodes`."""
    files: dict[str, RemoteEntry] = {}
    folders: set[str] = set()
    for node in nodes:
        path = f"{prefix}{node.name}"
        if node.is_dir:
            folders.add(path)
            sub_files, sub_folders = remote_entries(node.contents, path + "/")
            files.update(sub_files)
            folders |= sub_folders
        else:
            files[path] = RemoteEntry(path, node.size, node.modified)
    return files, folders


def _minute(mtime: float) -> datetime:
    """A local modification time as the EM would list it (UTC, to the minute, naive)."""
    moment = datetime.fromtimestamp(mtime, timezone.utc)
    return moment.replace(second=0, microsecond=0, tzinfo=None)


def _compare(local: LocalEntry, remote: RemoteEntry, direction: Direction) -> str:
    if remote.size != local.size:
        return "size"
    if remote.modified is None:
        return "newer"  # no time listed: cannot tell, so send
    local_minute = _minute(local.mtime)
    if direction == "up" and local_minute > remote.modified:
        return "newer"
    if direction == "down" and remote.modified > local_minute:
        return "newer"
    return "same"


def _top_missing(path: str, present: set[str]) -> str:
    """The topmost folder of `path` missing from `present` (or `path` itself)."""
    parts = path.split("/")
    for depth in range(1, len(parts)):
        folder = "/".join(parts[:depth])
        if folder not in present:
            return folder
    return path


def plan_sync(
    direction: Direction,
    local: Mapping[str, LocalEntry],
    local_folders: set[str],
    remote: Mapping[str, RemoteEntry],
    remote_folders: set[str],
    *,
    delete: bool,
) -> SyncPlan:
    """Decide a sync (see the module docs for what is compared).

    Args:
        direction: `up` (local to volume) or `down`.
        local: The local files, by relative path.
        local_folders: The local folders, as relative paths.
        remote: The volume's files, by relative path.
        remote_folders: The volume's folders, as relative paths.
        delete: Delete, on the destination side, what the source side lacks.

    Raises:
        ValidationError: A path is a file on one side and a folder on the other.
    """
    source, dest = (local, remote) if direction == "up" else (remote, local)
    source_folders, dest_folders = (
        (local_folders, remote_folders) if direction == "up" else (remote_folders, local_folders)
    )
    for path in source:
        if path in dest_folders:
            raise ValidationError(
                f"{path!r} is a file on one side and a folder on the other: remove one first."
            )
    transfer: list[SyncItem] = []
    skip: list[SyncItem] = []
    for path in sorted(source):
        if direction == "up":
            mine = local[path]
            theirs = remote.get(path)
            reason = "new" if theirs is None else _compare(mine, theirs, "up")
            size = mine.size
        else:
            theirs_r = remote[path]
            mine_l = local.get(path)
            reason = "new" if mine_l is None else _compare(mine_l, theirs_r, "down")
            size = theirs_r.size or 0
        (skip if reason == "same" else transfer).append(SyncItem(path, size, reason))
    deletions: list[str] = []
    if delete:
        doomed = {_top_missing(path, source_folders) for path in dest if path not in source}
        doomed |= {
            _top_missing(folder, source_folders)
            for folder in dest_folders
            if folder not in source_folders
        }
        for path in sorted(doomed):  # a folder deleted whole covers what is under it
            if not any(path.startswith(other + "/") for other in doomed if other != path):
                deletions.append(path)
    return SyncPlan(direction, tuple(transfer), tuple(deletions), tuple(skip))


def scan_local(folder: Path) -> tuple[dict[str, LocalEntry], set[str]]:
    """The regular files (by relative path) and the folders under a local folder.

    Symbolic links are not followed; partial downloads (`PARTIAL_NAME`) are left out. This
    reads the local disk only (both clients call it as is, like the uplink plan).
    """
    files: dict[str, LocalEntry] = {}
    folders: set[str] = set()
    if not folder.exists():
        return files, folders
    if not folder.is_dir():
        raise ValidationError(f"{str(folder)!r} is not a folder.")
    for root, dirs, names in os.walk(folder, followlinks=False):
        rel_root = Path(root).relative_to(folder).as_posix()
        prefix = "" if rel_root == "." else rel_root + "/"
        for name in dirs:
            if not os.path.islink(os.path.join(root, name)):
                folders.add(prefix + name)
        for name in names:
            if PARTIAL_NAME.match(name):
                continue
            st = os.lstat(os.path.join(root, name))
            if stat.S_ISREG(st.st_mode):
                files[prefix + name] = LocalEntry(prefix + name, st.st_size, st.st_mtime)
    return files, folders


def _volume_path(remote_dir: str, path: str) -> str:
    return f"{remote_dir}/{path}" if remote_dir else path


@attrs.frozen
class FetchItem:
    """One file of a folder downlink or a `sync_down`: where it is and where it goes."""

    filepath: str
    folder: Path
    name: str
    size: int


def _fetch_item(remote_dir: str, path: str, local_dir: Path, size: int) -> FetchItem:
    folder, name = posixpath.split(path)
    parts = [p for p in folder.split("/") if p] + [name]
    if any(safe_file_name(part) != part for part in parts):
        raise ValidationError(
            f"Cannot write {path!r} of the volume locally: a name in it is not a safe local "
            "file name."
        )
    return FetchItem(_volume_path(remote_dir, path), local_dir.joinpath(*parts[:-1]), name, size)


def _not_found(remote_dir: str) -> NotFoundError:
    return NotFoundError(f"No folder {remote_dir!r} in the volume.", status_code=404)


@attrs.frozen(kw_only=True)
class SyncJob:
    """A planned sync: the plan, and the calls that carry it out.

    Attributes:
        plan: The decisions.
        batches: Uplink calls (`up`).
        fetches: Files to fetch (`down`).
        remote_deletes: Volume paths to delete (`up`, with `delete=True`).
        local_deletes: Local paths to delete (`down`, with `delete=True`).
    """

    direction: Direction
    local_dir: Path
    remote_dir: str
    plan: SyncPlan
    batches: list[list[UplinkFile]]
    fetches: tuple[FetchItem, ...]
    remote_deletes: tuple[str, ...]
    local_deletes: tuple[Path, ...]
    dry_run: bool

    @property
    def transfer_bytes(self) -> int:
        """The bytes to send or fetch."""
        return sum(item.size for item in self.plan.transfer)

    def delete_local(self) -> None:
        """Remove `local_deletes` (files, and folders with their contents)."""
        for path in self.local_deletes:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def result(self, calls: int) -> SyncResult:
        """The result, once done (or for a dry run)."""
        return SyncResult(
            direction=self.direction,
            local_dir=self.local_dir,
            remote_dir=self.remote_dir,
            transferred=self.plan.transfer,
            deleted=self.plan.delete,
            skipped=self.plan.skip,
            dry_run=self.dry_run,
            calls=calls,
        )


def plan_sync_up(
    local_dir: Path,
    remote_dir: str,
    tree: Sequence[FileNode],
    *,
    delete: bool,
    dry_run: bool,
    max_bytes: int,
) -> SyncJob:
    """Plan a `sync_up`: what to send (batched per volume folder) and what to delete.

    Raises:
        ValidationError: `local_dir` is not a folder, a file cannot be sent, or a path is a
            file on one side and a folder on the other.
        FileTooLargeError: A file to send is over the per-call limit.
    """
    if not local_dir.is_dir():
        raise ValidationError(f"Cannot sync {str(local_dir)!r}: not a local folder.")
    files = collect_tree(local_dir, max_bytes=max_bytes, skip=PARTIAL_NAME)
    by_path = {item.dest: item for item in files}
    local = {path: LocalEntry(path, item.size, item.mtime) for path, item in by_path.items()}
    local_folders: set[str] = set()
    for path in local:
        parts = path.split("/")[:-1]
        local_folders |= {"/".join(parts[: i + 1]) for i in range(len(parts))}
    nodes = find_folder(tree, remote_dir)
    remote, remote_folders = remote_entries(nodes or ())
    plan = plan_sync("up", local, local_folders, remote, remote_folders, delete=delete)
    sends = [by_path[item.path] for item in plan.transfer]
    sends = [
        UplinkFile(item.path, item.size, _volume_path(remote_dir, item.dest_dir), item.mtime)
        if remote_dir
        else item
        for item in sends
    ]
    return SyncJob(
        direction="up",
        local_dir=local_dir,
        remote_dir=remote_dir,
        plan=plan,
        batches=batch_files(sends, max_bytes=max_bytes) if sends else [],
        fetches=(),
        remote_deletes=tuple(_volume_path(remote_dir, path) for path in plan.delete),
        local_deletes=(),
        dry_run=dry_run,
    )


def plan_sync_down(
    remote_dir: str, local_dir: Path, tree: Sequence[FileNode], *, delete: bool, dry_run: bool
) -> SyncJob:
    """Plan a `sync_down`: what to fetch and what to delete locally.

    Raises:
        NotFoundError: No such folder in the volume.
        ValidationError: `local_dir` is a file, a volume name is not a safe local name, or a
            path is a file on one side and a folder on the other.
    """
    nodes = find_folder(tree, remote_dir)
    if nodes is None:
        raise _not_found(remote_dir)
    remote, remote_folders = remote_entries(nodes)
    local, local_folders = scan_local(local_dir)
    plan = plan_sync("down", local, local_folders, remote, remote_folders, delete=delete)
    fetches = tuple(
        _fetch_item(remote_dir, item.path, local_dir, item.size) for item in plan.transfer
    )
    return SyncJob(
        direction="down",
        local_dir=local_dir,
        remote_dir=remote_dir,
        plan=plan,
        batches=[],
        fetches=fetches,
        remote_deletes=(),
        local_deletes=tuple(local_dir.joinpath(*path.split("/")) for path in plan.delete),
        dry_run=dry_run,
    )


def plan_folder_downlink(
    remote_dir: str, local_dir: Path, tree: Sequence[FileNode], *, overwrite: bool
) -> tuple[Path, tuple[FetchItem, ...]]:
    """Plan a folder downlink: the local folder it becomes and each file to fetch.

    The volume folder `a/b` becomes `local_dir/b` (the volume root: `local_dir` itself),
    its tree kept, so files of the same name in different folders do not collide.

    Raises:
        NotFoundError: No such folder in the volume.
        ValidationError: A volume name is not a safe local file name.
        LocalFileExistsError: A local file exists and `overwrite` is False (nothing is
            fetched).
    """
    nodes = find_folder(tree, remote_dir)
    if nodes is None:
        raise _not_found(remote_dir)
    base = local_dir / posixpath.basename(remote_dir) if remote_dir else local_dir
    remote, _ = remote_entries(nodes)
    items = tuple(
        _fetch_item(remote_dir, path, base, entry.size or 0)
        for path, entry in sorted(remote.items())
    )
    if not overwrite:
        existing = [item.folder / item.name for item in items if (item.folder / item.name).exists()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise LocalFileExistsError(
                f"{str(existing[0])!r} exists{more}; pass overwrite=True to replace it."
            )
    return base, items
