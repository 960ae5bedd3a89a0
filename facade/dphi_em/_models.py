"""Typed results: small attrs classes of our own (no generated `Unset`, no `type_`).

The adapter (`_generated`) turns the generated models into these; nothing here imports the
generated package, so a generator upgrade cannot change the public types.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Literal

import attrs
from dateutil import parser as dateparser

__all__ = [
    "FileNode",
    "FileNodeType",
    "NodeStatus",
    "PodState",
    "PodStateKind",
    "UplinkResult",
    "Volume",
    "iter_files",
]

FileNodeType = Literal["file", "directory"]
PodStateKind = Literal["waiting", "running", "terminated", "unknown"]


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dateparser.isoparse(value)
    except (ValueError, OverflowError):
        return None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@functools.lru_cache(maxsize=4096)
def _file_time(value: str | None) -> datetime | None:
    """`YYYY-MM-DD-HH-MM` (the EM's format, its local time) as a naive datetime.

    Sliced by hand and cached (a listing's entries share few distinct minutes): `strptime`
    cost more than the rest of a listing's parsing together.
    """
    if not value:
        return None
    if len(value) == 16 and value[4] == value[7] == value[10] == value[13] == "-":
        try:
            return datetime(
                int(value[0:4]),
                int(value[5:7]),
                int(value[8:10]),
                int(value[11:13]),
                int(value[14:16]),
            )
        except ValueError:
            return None
    return _time(value)


def _int(value: Any) -> int | None:
    if isinstance(value, str):
        return int(value) if value.isascii() and value.isdigit() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


@attrs.frozen(kw_only=True)
class FileNode:
    """One entry of `files_list()`: a file, or a directory with its `contents`.

    Attributes:
        name: The entry's name (no folder part).
        type: `file` or `directory`.
        size: Bytes (the server sends a string; None when it sent none or garbage).
        modified: The modification time (minute precision, the EM's local time).
        hash: The EM's signed 64-bit content hash (files only; algorithm unpublished).
        contents: A directory's entries (empty for a file).
    """

    name: str
    type: FileNodeType
    size: int | None = None
    modified: datetime | None = None
    hash: int | None = None
    contents: tuple[FileNode, ...] = ()

    @property
    def is_dir(self) -> bool:
        """Whether this entry is a directory."""
        return self.type == "directory"

    @classmethod
    def from_wire(
        cls,
        *,
        name: str,
        type: str,
        size: Any = None,
        time: Any = None,
        hash: Any = None,
        contents: tuple[FileNode, ...] = (),
    ) -> FileNode:
        """Build from the server's fields (strings for size and time)."""
        return cls(
            name=name,
            type="directory" if type == "directory" else "file",
            size=_int(size),
            modified=_file_time(time if isinstance(time, str) else None),
            hash=hash if isinstance(hash, int) and not isinstance(hash, bool) else None,
            contents=contents,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileNode:
        """Build from one entry of the server's `files/list` tree (as JSON), recursively.

        Raises:
            ValueError: An entry without a string `name` or with a `type` other than `file`
                and `directory`, or `contents` that is not a list.
        """
        # `from_wire`'s conversions, inline and by exact type: a listing builds one entry
        # per file (JSON gives only str, int, bool, float, None, list and dict).
        get = data.get
        name = get("name")
        kind = get("type", "file")
        contents = get("contents")
        if not isinstance(name, str) or kind not in ("file", "directory"):
            raise ValueError(f"not a file tree entry: name {name!r}, type {kind!r}")
        if contents is not None and not isinstance(contents, list):
            raise ValueError(f"contents of {name!r} is not a list")
        size = get("size")
        if type(size) is str:
            size = int(size) if size.isascii() and size.isdigit() else None
        elif type(size) is not int:
            size = _int(size)
        time = get("time")
        hash = get("hash")
        if cls is not FileNode:  # a subclass: its own `__init__`
            return cls(
                name=name,
                type=kind,
                size=size,
                modified=_file_time(time) if isinstance(time, str) else None,
                hash=hash if isinstance(hash, int) and not isinstance(hash, bool) else None,
                contents=tuple([cls.from_dict(c) for c in contents]) if contents else (),
            )
        # The fields set through their slots: attrs' frozen `__init__` costs twice as much
        # (its checks are the ones above; `test_file_node_fast_build` compares the two).
        node = _new(FileNode)
        _set_name(node, name)
        _set_type(node, kind)
        _set_size(node, size)
        _set_modified(node, _file_time(time) if isinstance(time, str) else None)
        _set_hash(node, hash if isinstance(hash, int) and not isinstance(hash, bool) else None)
        _set_contents(node, tuple([FileNode.from_dict(c) for c in contents]) if contents else ())
        return node

    def to_dict(self) -> dict[str, Any]:
        """A plain dict: integers for sizes, ISO 8601 times, nested `contents`."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "size": self.size,
            "modified": self.modified.isoformat() if self.modified else None,
        }
        if self.type == "file":
            out["hash"] = self.hash
        else:
            out["contents"] = [node.to_dict() for node in self.contents]
        return out


_new = object.__new__
_set_name, _set_type, _set_size, _set_modified, _set_hash, _set_contents = (
    FileNode.__dict__[field].__set__
    for field in ("name", "type", "size", "modified", "hash", "contents")
)


@attrs.frozen(kw_only=True)
class UplinkResult:
    """What an uplink sent.

    Attributes:
        file_count: Files uplinked (the server's count, summed over the calls).
        total_bytes: Bytes of file content sent.
        calls: HTTP calls made (more than one when the set was split).
        paths: The destination of each file in the volume, relative to its root.
    """

    file_count: int
    total_bytes: int
    calls: int
    paths: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the fields."""
        return {
            "file_count": self.file_count,
            "total_bytes": self.total_bytes,
            "calls": self.calls,
            "paths": list(self.paths),
        }


@attrs.frozen(kw_only=True)
class PodState:
    """A pod's container state (Kubernetes `ContainerState`).

    Attributes:
        kind: `waiting`, `running` or `terminated` (`unknown` if the server said none).
        reason: E.g. `ContainerCreating`, `ImagePullBackOff`, `Completed`.
        message: The server's detail, if any.
        started_at: When the container started (running, terminated).
        finished_at: When it stopped (terminated).
        exit_code: Its exit code (terminated).
        warnings: What the emulator warns about the pod (e.g. an amd64 image, which the arm64
            CG2 cannot run); the EM sends none.
        raw: The state object as the server sent it.
    """

    kind: PodStateKind
    reason: str | None = None
    message: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    warnings: tuple[str, ...] = ()
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> PodState:
        """Build from the `data.state` object of `GET /em/pod/status`."""
        for kind in ("terminated", "running", "waiting"):
            detail = state.get(kind)
            if isinstance(detail, Mapping):
                exit_code = detail.get("exitCode")
                return cls(
                    kind=kind,
                    reason=_opt_str(detail.get("reason")),
                    message=_opt_str(detail.get("message")),
                    started_at=_time(detail.get("startedAt")),
                    finished_at=_time(detail.get("finishedAt")),
                    exit_code=exit_code if isinstance(exit_code, int) else None,
                    raw=dict(state),
                )
        return cls(kind="unknown", raw=dict(state))

    def to_dict(self) -> dict[str, Any]:
        """A plain dict; times as ISO 8601 strings."""
        return {
            "kind": self.kind,
            "reason": self.reason,
            "message": self.message,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "exit_code": self.exit_code,
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }


@attrs.frozen(kw_only=True)
class NodeStatus:
    """One CG2 node.

    Attributes:
        name: `fpga`, `gpu`, `mpu1`...
        ready: Whether the node can take a pod (the server's `"True"`).
        status: The server's status string.
    """

    name: str
    ready: bool
    status: str

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the fields."""
        return {"name": self.name, "ready": self.ready, "status": self.status}


@attrs.frozen(kw_only=True)
class Volume:
    """One of the user's volumes (an EM of the January 2026 revision lists them).

    Attributes:
        name: The name that addresses it (a pod's name; "" for the default volume).
        default: Whether it is the default volume.
        size: Bytes of its files, when the server says.
        file_count: Files it holds, when the server says.
    """

    name: str
    default: bool = False
    size: int | None = None
    file_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the fields."""
        return {
            "name": self.name,
            "default": self.default,
            "size": self.size,
            "file_count": self.file_count,
        }


def iter_files(tree: Iterable[FileNode], prefix: str = "") -> Iterator[tuple[str, FileNode]]:
    """Walk a `files_list()` tree depth first, yielding `(path, node)` for every file.

    Args:
        tree: The list returned by `files_list()`.
        prefix: Prepended to every path.
    """
    for node in tree:
        path = f"{prefix}{node.name}"
        if node.is_dir:
            yield from iter_files(node.contents, path + "/")
        else:
            yield path, node
