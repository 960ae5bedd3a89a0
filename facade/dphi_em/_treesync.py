"""Folders and sync: the planner, the sync record's use, and the result types.

The clients list the volume (`files_list`), then ask this module what to do (the local
walk, the hashing and the sync record are here too, blocking: `AsyncEMClient` runs them in
a worker thread); they only loop over the answer (uplink batches, downlinks, deletes), then
call `SyncJob.finish` to write the record.

What sync compares (the rules the README states; `docs/_snippets/sync-rules.md`):

- **Changes**: a file missing on the other side is sent (or fetched); so is one whose size
  differs. Otherwise each side is compared with the sync record that the last sync of this
  folder pair left (`_syncrecord`): the local size, `mtime_ns` and SHA-256, and the
  volume's size, time and hash as listed. A change on either side since then, whatever its
  size, makes the source's copy go over the destination's (reasons `local-changed`,
  `remote-changed`); a file the record does not hold is transferred (`unrecorded`: nothing
  proves the two copies equal). A local file whose size and `mtime_ns` are unchanged is
  not read again, unless `checksum=True`, which re-hashes every local file.
- **Links**: symbolic links under the local folder are not followed, in either direction
  (rsync's default): `sync_up` does not send them nor what they point to, and `sync_down`
  never writes through them (a volume path that is, or goes through, a local link is not
  fetched); each is reported in `skipped` with the reason `link`, and `delete=True` leaves
  them, and the volume paths they hide, alone. The local folder given may itself be a link.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import attrs

from ._download import PARTIAL_NAME, safe_file_name
from ._errors import LocalFileExistsError, NotFoundError, ValidationError
from ._models import FileNode
from ._syncrecord import Seen, SyncRecord, file_sha256
from ._uplink import UplinkFile, batch_files, check_uplink_file

__all__ = [
    "DownlinkResult",
    "FetchItem",
    "LocalEntry",
    "LocalTree",
    "RemoteEntry",
    "SyncItem",
    "SyncJob",
    "SyncPlan",
    "SyncResult",
    "normalize_remote_dir",
    "plan_folder_downlink",
    "plan_sync",
    "plan_sync_job",
    "remote_entries",
    "scan_local",
    "walk_local",
]

Direction = Literal["up", "down"]


@attrs.frozen
class LocalEntry:
    """A local file: its path relative to the synced folder (`/`-separated), size, mtime."""

    path: str
    size: int
    mtime: float
    mtime_ns: int = 0


@attrs.frozen
class RemoteEntry:
    """A file of the volume, relative to the synced folder: size, time and hash as listed."""

    path: str
    size: int | None
    modified: datetime | None
    hash: int | None = None

    @property
    def time(self) -> str | None:
        """The listed time as the record keeps it."""
        return None if self.modified is None else self.modified.isoformat()


@attrs.frozen
class SyncItem:
    """One file of a sync: its relative path, size in bytes and why it is (not) sent.

    `reason` is `new` (the destination lacks it), `size` (the sizes differ),
    `local-changed` or `remote-changed` (that side changed since the last sync),
    `unrecorded` (no record of an earlier sync: nothing proves the copies equal), `same`, or
    `link` (a local symbolic link, or a volume path through one: not followed, skipped).
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
        skipped: The files found the same on both sides, and the local links skipped
            (reason `link`).
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
            files[path] = RemoteEntry(path, node.size, node.modified, node.hash)
    return files, folders


LocalSame = Callable[[LocalEntry, Seen], bool]


def _stat_same(local: LocalEntry, seen: Seen) -> bool:
    return (local.size, local.mtime_ns) == (seen.size, seen.mtime_ns)


def _compare(
    local: LocalEntry, remote: RemoteEntry, seen: Seen | None, local_same: LocalSame
) -> str:
    if remote.size != local.size:
        return "size"
    if seen is None:
        return "unrecorded"
    if not local_same(local, seen):
        return "local-changed"
    if (remote.size, remote.time, remote.hash) != (
        seen.remote_size,
        seen.remote_time,
        seen.remote_hash,
    ):
        return "remote-changed"
    return "same"


def _under(path: str, links: Iterable[str]) -> str | None:
    """The link among `links` that `path` is, or goes through; None if none."""
    for link in links:
        if path == link or path.startswith(link + "/"):
            return link
    return None


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
    seen: Mapping[str, Seen] | None = None,
    local_same: LocalSame = _stat_same,
    links: Iterable[str] = (),
) -> SyncPlan:
    """Decide a sync (see the module docs for what is compared).

    Args:
        direction: `up` (local to volume) or `down`.
        local: The local files, by relative path.
        local_folders: The local folders, as relative paths.
        remote: The volume's files, by relative path.
        remote_folders: The volume's folders, as relative paths.
        delete: Delete, on the destination side, what the source side lacks.
        seen: The sync record's entries (None or empty: no record).
        local_same: Whether a local file is unchanged since its record entry (by default,
            the same size and `mtime_ns`; the clients hash when those differ).
        links: The local symbolic links (relative paths): skipped, never deleted, and no
            volume path through one is fetched or deleted.

    Raises:
        ValidationError: A path is a file on one side and a folder on the other.
    """
    record = seen or {}
    link_set = sorted(set(links))
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
    skip: list[SyncItem] = [SyncItem(link, 0, "link") for link in link_set if direction == "up"]
    for path in sorted(source):
        if direction == "up":
            mine = local[path]
            theirs = remote.get(path)
            if theirs is None:
                reason = "new"
            else:
                reason = _compare(mine, theirs, record.get(path), local_same)
            size = mine.size
        else:
            theirs_r = remote[path]
            mine_l = local.get(path)
            size = theirs_r.size or 0
            if _under(path, link_set) is not None:
                skip.append(SyncItem(path, size, "link"))
                continue
            if mine_l is None:
                reason = "new"
            else:
                reason = _compare(mine_l, theirs_r, record.get(path), local_same)
        (skip if reason == "same" else transfer).append(SyncItem(path, size, reason))
    deletions: list[str] = []
    if delete:
        doomed = {_top_missing(path, source_folders) for path in dest if path not in source}
        doomed |= {
            _top_missing(folder, source_folders)
            for folder in dest_folders
            if folder not in source_folders
        }
        doomed = {path for path in doomed if _under(path, link_set) is None}
        for link in link_set:  # a folder holding a link is not deleted whole
            parts = link.split("/")
            doomed -= {"/".join(parts[:depth]) for depth in range(1, len(parts))}
        for path in sorted(doomed):  # a folder deleted whole covers what is under it
            if not any(path.startswith(other + "/") for other in doomed if other != path):
                deletions.append(path)
    return SyncPlan(direction, tuple(transfer), tuple(deletions), tuple(skip))


@attrs.frozen
class LocalTree:
    """A local folder's regular files, folders and symbolic links (relative paths)."""

    files: dict[str, LocalEntry]
    folders: set[str]
    links: tuple[str, ...]


def walk_local(folder: Path) -> LocalTree:
    """Walk a local folder without following symbolic links (blocking).

    Regular files are listed with their size and modification time; partial downloads
    (`PARTIAL_NAME`) are left out; a link (to a file or a folder) is listed in `links`;
    other kinds of files (sockets, devices) are left out. A missing folder is empty.

    Raises:
        ValidationError: `folder` is not a folder, or a folder under it cannot be read.
    """
    files: dict[str, LocalEntry] = {}
    folders: set[str] = set()
    links: list[str] = []
    if not folder.exists():
        return LocalTree(files, folders, ())
    if not folder.is_dir():
        raise ValidationError(f"{str(folder)!r} is not a folder.")
    pending = [("", str(folder))]
    while pending:
        prefix, where = pending.pop()
        try:
            entries = os.scandir(where)
        except OSError as exc:
            raise ValidationError(f"Cannot read the folder {where!r}: {exc.strerror}.") from exc
        with entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_symlink():
                    links.append(rel)
                elif entry.is_dir(follow_symlinks=False):
                    folders.add(rel)
                    pending.append((rel + "/", entry.path))
                elif entry.is_file(follow_symlinks=False) and not PARTIAL_NAME.match(entry.name):
                    st = entry.stat(follow_symlinks=False)
                    files[rel] = LocalEntry(rel, st.st_size, st.st_mtime, st.st_mtime_ns)
    return LocalTree(files, folders, tuple(sorted(links)))


def scan_local(folder: Path) -> tuple[dict[str, LocalEntry], set[str]]:
    """The regular files (by relative path) and the folders under a local folder.

    Symbolic links are not followed (see `walk_local`, which also lists them).
    """
    tree = walk_local(folder)
    return tree.files, tree.folders


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


class _Hashes:
    """Local SHA-256s, computed once each, and the rule that says a local file is unchanged."""

    def __init__(self, root: Path, record: SyncRecord, *, checksum: bool) -> None:
        self.root = root
        self.record = record
        self.checksum = checksum
        self.digests: dict[str, str] = {}

    def of(self, path: str) -> str:
        digest = self.digests.get(path)
        if digest is None:
            digest = self.digests[path] = file_sha256(self.root.joinpath(*path.split("/")))
        return digest

    def same(self, local: LocalEntry, seen: Seen) -> bool:
        if not self.checksum and self.record.stat_unchanged(local.path, local.size, local.mtime_ns):
            return True
        return local.size == seen.size and self.of(local.path) == seen.sha256


@attrs.define(kw_only=True)
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
    local: dict[str, LocalEntry] = attrs.Factory(dict)
    remote: dict[str, RemoteEntry] = attrs.Factory(dict)
    hashes: _Hashes | None = None

    @property
    def transfer_bytes(self) -> int:
        """The bytes to send or fetch."""
        return sum(item.size for item in self.plan.transfer)

    def delete_local(self) -> None:
        """Remove `local_deletes` (files, and folders with their contents; a link itself,
        never what it points to). Blocking: `AsyncEMClient` runs it in a worker thread."""
        for path in self.local_deletes:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def finish(self, tree: Sequence[FileNode] | None = None) -> None:
        """Write the sync record once the calls are done (blocking: hashes fetched files).

        Args:
            tree: For `up`: the volume's listing after the uplinks (None when nothing was
                sent: the listing planned with holds).
        """
        hashes = self.hashes
        if hashes is None or self.dry_run:
            return
        remote = self.remote
        if tree is not None:
            nodes = find_folder(tree, self.remote_dir)
            remote = remote_entries(nodes or ())[0]
        entries: dict[str, Seen] = {}
        kept = [item.path for item in self.plan.skip if item.reason == "same"]
        moved = [item.path for item in self.plan.transfer]
        for path in kept + moved:
            theirs = remote.get(path)
            if theirs is None:
                continue
            if self.direction == "down" and path in moved:
                try:
                    st = os.lstat(self.local_dir.joinpath(*path.split("/")))
                except OSError:
                    continue
                hashes.digests.pop(path, None)
                mine = LocalEntry(path, st.st_size, st.st_mtime, st.st_mtime_ns)
            else:
                mine = self.local[path]
            try:
                digest = hashes.of(path)
            except OSError:
                continue
            entries[path] = Seen(
                mine.size, mine.mtime_ns, digest, theirs.size, theirs.time, theirs.hash
            )
        hashes.record.save(entries)

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


def _record(
    server: str | None, volume: str | None, remote_dir: str, local_dir: Path, checksum: bool
) -> _Hashes:
    record = (
        SyncRecord.load(server, volume, remote_dir, local_dir)
        if server is not None
        else SyncRecord("", volume, remote_dir, local_dir)  # no server: no record kept
    )
    return _Hashes(local_dir, record, checksum=checksum)


def _plan(
    direction: Direction,
    walked: LocalTree,
    local_folders: set[str],
    remote: Mapping[str, RemoteEntry],
    remote_folders: set[str],
    hashes: _Hashes,
    *,
    delete: bool,
) -> SyncPlan:
    """`plan_sync` with the sync record and the local walk's links."""
    return plan_sync(
        direction,
        walked.files,
        local_folders,
        remote,
        remote_folders,
        delete=delete,
        seen=hashes.record.entries,
        local_same=hashes.same,
        links=walked.links,
    )


def plan_sync_job(
    direction: Direction,
    local_dir: Path,
    remote_dir: str,
    tree: Sequence[FileNode],
    *,
    delete: bool,
    dry_run: bool,
    max_bytes: int,
    server: str | None = None,
    volume: str | None = None,
    checksum: bool = False,
) -> SyncJob:
    """Plan a `sync_up` (what to send, batched per volume folder, and what to delete) or a
    `sync_down` (what to fetch and what to delete locally).

    Blocking (walks and hashes local files): `AsyncEMClient` runs it in a worker thread.

    Args:
        max_bytes: The per-call limit of an uplink (`up`).
        server: The EM's address, naming the sync record (None: no record is read or kept).
        volume: The pod name (None: the default volume), naming the record.
        checksum: Re-hash every local file rather than trust an unchanged size and mtime.

    Raises:
        ValidationError: `up`: `local_dir` is not a folder or a file cannot be sent;
            `down`: `local_dir` is a file or a volume name is not a safe local name; either:
            a path is a file on one side and a folder on the other.
        FileTooLargeError: `up`: a file to send is over the per-call limit.
        NotFoundError: `down`: no such folder in the volume.
    """
    up = direction == "up"
    if up:
        if not local_dir.is_dir():
            raise ValidationError(f"Cannot sync {str(local_dir)!r}: not a local folder.")
        walked = walk_local(local_dir)
        nodes = find_folder(tree, remote_dir) or ()
        local_folders: set[str] = set()  # those holding files: an empty folder is not sent
        for path in walked.files:
            parts = path.split("/")[:-1]
            local_folders |= {"/".join(parts[: i + 1]) for i in range(len(parts))}
    else:
        found = find_folder(tree, remote_dir)
        if found is None:
            raise _not_found(remote_dir)
        nodes = found
        walked = walk_local(local_dir)
        local_folders = set(walked.folders)
    remote, remote_folders = remote_entries(nodes)
    hashes = _record(server, volume, remote_dir, local_dir, checksum)
    plan = _plan(direction, walked, local_folders, remote, remote_folders, hashes, delete=delete)
    sends: list[UplinkFile] = []
    fetches: tuple[FetchItem, ...] = ()
    deletes = plan.delete
    if up:
        record = server is not None and not dry_run
        sends = _sends(plan, local_dir, remote_dir, max_bytes, hashes if record else None)
    else:
        fetches = tuple(_fetch_item(remote_dir, i.path, local_dir, i.size) for i in plan.transfer)
    return SyncJob(
        direction=direction,
        local_dir=local_dir,
        remote_dir=remote_dir,
        plan=plan,
        batches=batch_files(sends, max_bytes=max_bytes) if sends else [],
        fetches=fetches,
        remote_deletes=tuple(_volume_path(remote_dir, p) for p in deletes) if up else (),
        local_deletes=() if up else tuple(local_dir.joinpath(*p.split("/")) for p in deletes),
        dry_run=dry_run,
        local=walked.files,
        remote=remote,
        hashes=hashes if server is not None else None,
    )


def _sends(
    plan: SyncPlan, local_dir: Path, remote_dir: str, max_bytes: int, hashes: _Hashes | None
) -> list[UplinkFile]:
    """The files an `up` plan sends, checked; each hashed first into `hashes` when given
    (the sync record: a later edit then shows as a change)."""
    sends: list[UplinkFile] = []
    for item in plan.transfer:
        file_path = local_dir.joinpath(*item.path.split("/"))
        try:
            st = os.lstat(file_path)
        except OSError as exc:
            raise ValidationError(f"Cannot uplink {str(file_path)!r}: {exc.strerror}.") from exc
        check_uplink_file(file_path, st, max_bytes)
        if hashes is not None:
            hashes.of(item.path)
        folder = posixpath.dirname(item.path)
        sends.append(
            UplinkFile(file_path, st.st_size, _volume_path(remote_dir, folder), st.st_mtime)
        )
    return sends


def _through_link(root: Path, parts: Sequence[str]) -> Path | None:
    """The first existing symbolic link among `root/parts[0]`, `root/parts[0]/parts[1]`..."""
    path = root
    for part in parts:
        path = path / part
        if os.path.islink(path):
            return path
        if not os.path.lexists(path):
            return None
    return None


def plan_folder_downlink(
    remote_dir: str, local_dir: Path, tree: Sequence[FileNode], *, overwrite: bool
) -> tuple[Path, tuple[FetchItem, ...]]:
    """Plan a folder downlink: the local folder it becomes and each file to fetch.

    The volume folder `a/b` becomes `local_dir/b` (the volume root: `local_dir` itself),
    its tree kept, so files of the same name in different folders do not collide. Nothing
    is written through a symbolic link under `local_dir` (`local_dir` itself may be one).

    Raises:
        NotFoundError: No such folder in the volume.
        ValidationError: A volume name is not a safe local file name, or a file would be
            written through a local symbolic link (nothing is fetched).
        LocalFileExistsError: A local file exists and `overwrite` is False (nothing is
            fetched).
    """
    nodes = find_folder(tree, remote_dir)
    if nodes is None:
        raise _not_found(remote_dir)
    top = posixpath.basename(remote_dir)
    base = local_dir / top if remote_dir else local_dir
    remote, _ = remote_entries(nodes)
    items = tuple(
        _fetch_item(remote_dir, path, base, entry.size or 0)
        for path, entry in sorted(remote.items())
    )
    for path in sorted(remote):
        folders = path.split("/")[:-1]
        link = _through_link(local_dir, ([top] if remote_dir else []) + folders)
        if link is not None:
            raise ValidationError(
                f"Cannot write {path!r} of the volume through the local symbolic link "
                f"{str(link)!r}: links are not followed. Remove the link, or downlink into "
                "another folder."
            )
    if not overwrite:
        existing = [item.folder / item.name for item in items if (item.folder / item.name).exists()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise LocalFileExistsError(
                f"{str(existing[0])!r} exists{more}; pass overwrite=True to replace it."
            )
    return base, items
