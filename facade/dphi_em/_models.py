"""Typed results. The file tree reuses the generated model; the rest are small attrs classes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Literal

import attrs
from dateutil import parser as dateparser
from em_api_client.models import EmFileNode, EmFileNodeType
from em_api_client.types import Unset

__all__ = [
    "FileNode",
    "NodeStatus",
    "PodState",
    "PodStateKind",
    "UplinkResult",
    "iter_files",
]

#: One entry of `files_list()`: a file, or a directory with `contents`.
FileNode = EmFileNode

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
        raw: The state object as the server sent it.
    """

    kind: PodStateKind
    reason: str | None = None
    message: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
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


def iter_files(tree: list[EmFileNode], prefix: str = "") -> Iterator[tuple[str, EmFileNode]]:
    """Walk a `files_list()` tree depth first, yielding `(path, node)` for every file.

    Args:
        tree: The list returned by `files_list()`.
        prefix: Prepended to every path.
    """
    for node in tree:
        path = f"{prefix}{node.name}"
        if node.type_ == EmFileNodeType.DIRECTORY:
            if not isinstance(node.contents, Unset):
                yield from iter_files(node.contents, path + "/")
        else:
            yield path, node
