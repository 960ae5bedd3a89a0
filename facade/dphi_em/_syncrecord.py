"""The sync record: what the last `sync_up` or `sync_down` of a folder pair left on each side.

The EM lists a file's size, its time to the minute (in a zone it does not say) and a hash
of an unpublished algorithm, so a listing alone cannot tell whether a local file and the
volume's copy hold the same bytes. As rclone's `bisync` and Unison do, each sync keeps a
record of every file it sent, fetched or found unchanged: its relative path, the local
size, `mtime_ns` and SHA-256, and the volume's size, time and hash as listed after. The
next sync compares each side with the record, so a change on either side is seen whatever
its size; a file without a record entry is transferred (nothing proves the two copies
equal). A local file whose size and `mtime_ns` are those recorded is taken as unchanged
without reading it, unless it was modified within `RACY_NS` of the record being written
(git's "racily clean" rule: a coarse file-system clock could hide an edit made just after
the sync); `checksum=True` re-hashes every local file instead.

Where it lives: one small JSON file per folder pair, `<state dir>/sync/<digest>.json`,
the digest naming the server, the volume, the volume folder and the local folder's absolute
path. The state dir is `$XDG_STATE_HOME/dphi-em` (by default `~/.local/state/dphi-em`),
created with mode 0700. The file is written atomically (a temporary file, then a rename),
so a crash leaves the old record or the new one. A record that is missing, unreadable,
of another version or not of this folder pair is ignored: every file present on both
sides is then transferred again, and the record rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ._settings import APP_NAME

__all__ = ["RACY_NS", "RECORD_VERSION", "Seen", "SyncRecord", "file_sha256", "state_dir"]

#: The record file format's version (another version is ignored).
RECORD_VERSION = 1
#: A file modified this close to (or after) the record's writing is re-hashed next time.
RACY_NS = 2_000_000_000
_READ = 1024 * 1024


def state_dir() -> Path:
    """`$XDG_STATE_HOME/dphi-em`, by default `~/.local/state/dphi-em`."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / APP_NAME


def file_sha256(path: Path) -> str:
    """The SHA-256 of a local file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_READ):
            digest.update(chunk)
    return digest.hexdigest()


@attrs.frozen
class Seen:
    """One file as the last sync left it: the local side, then the volume's listing."""

    size: int
    mtime_ns: int
    sha256: str
    remote_size: int | None
    remote_time: str | None
    remote_hash: int | None

    def to_json(self) -> list[Any]:
        return [
            self.size,
            self.mtime_ns,
            self.sha256,
            self.remote_size,
            self.remote_time,
            self.remote_hash,
        ]

    @classmethod
    def from_json(cls, value: Any) -> Seen | None:
        if not isinstance(value, list) or len(value) != 6:
            return None
        size, mtime_ns, sha, r_size, r_time, r_hash = value
        ints = (size, mtime_ns)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
            return None
        if not isinstance(sha, str) or not all(
            v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in (r_size, r_hash)
        ):
            return None
        if r_time is not None and not isinstance(r_time, str):
            return None
        return cls(size, mtime_ns, sha, r_size, r_time, r_hash)


class SyncRecord:
    """The record of one folder pair (see the module docs).

    Args:
        server: The EM's address.
        volume: The pod name whose volume it is (None: the default volume).
        remote_dir: The volume folder ("" is the root).
        local_dir: The local folder.
    """

    def __init__(self, server: str, volume: str | None, remote_dir: str, local_dir: Path) -> None:
        self.pair = [server, volume or "", remote_dir, str(Path(os.path.abspath(local_dir)))]
        key = json.dumps(self.pair).encode("utf-8", "surrogatepass")
        self.path = state_dir() / "sync" / f"{hashlib.sha256(key).hexdigest()[:32]}.json"
        self.entries: dict[str, Seen] = {}
        self.written_ns = 0

    @classmethod
    def load(cls, server: str, volume: str | None, remote_dir: str, local_dir: Path) -> SyncRecord:
        """The record of this pair; empty when missing or unusable (never an error)."""
        record = cls(server, volume, remote_dir, local_dir)
        try:
            doc = json.loads(record.path.read_text("utf-8"))
        except (OSError, ValueError):
            return record
        if (
            not isinstance(doc, dict)
            or doc.get("version") != RECORD_VERSION
            or doc.get("pair") != record.pair
            or not isinstance(doc.get("files"), dict)
            or not isinstance(doc.get("written_ns"), int)
        ):
            return record
        for path, value in doc["files"].items():
            seen = Seen.from_json(value)
            if isinstance(path, str) and seen is not None:
                record.entries[path] = seen
        record.written_ns = doc["written_ns"]
        return record

    def stat_unchanged(self, path: str, size: int, mtime_ns: int) -> bool:
        """Whether a local file's size and mtime are those recorded, and not racy."""
        seen = self.entries.get(path)
        return (
            seen is not None
            and (seen.size, seen.mtime_ns) == (size, mtime_ns)
            and mtime_ns < self.written_ns - RACY_NS
        )

    def save(self, entries: Mapping[str, Seen]) -> None:
        """Write `entries` as the new record, atomically (a failure to write is ignored:
        the next sync then transfers what it cannot prove unchanged)."""
        doc = {
            "version": RECORD_VERSION,
            "pair": self.pair,
            "written_ns": time.time_ns(),
            "files": {path: seen.to_json() for path, seen in sorted(entries.items())},
        }
        folder = self.path.parent
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, temp = tempfile.mkstemp(prefix=".sync-", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as file:
                    json.dump(doc, file, separators=(",", ":"))
                os.replace(temp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
