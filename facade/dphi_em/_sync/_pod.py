"""`Pod`: a pod handle, bound to one pod name (and so its volume).

Every method is the client method of the same operation with `pod_name` filled in; each is
checked against the operation table at import (`_operations.implements`).
"""

# Generated from _async/_pod.py by scripts/unasync.py: edit that file, not this one.

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _operations as ops
from .._errors import ValidationError
from .._operations import ProgressArg, implements
from .._settings import NodeName
from .._validate import validate_pod_name

if TYPE_CHECKING:
    from .._models import FileNode, PodState, UplinkResult
    from .._treesync import DownlinkResult, SyncResult
    from ._client import EMClient

__all__ = ["Pod"]


def _checked_name(name: str) -> str:
    checked = validate_pod_name(name)
    if checked is None:
        raise ValidationError(f"Invalid pod_name {name!r}: a pod handle needs a name.")
    return checked


class Pod:
    """A handle bound to one pod name, i.e. to one pod and its persistent volume.

    Every method is the `EMClient` method of the same operation with `pod_name` filled
    in (`status` is `pod_status`, `wait` is `wait_for_pod`).

    Args:
        client: The client that sends the requests.
        name: The pod name (validated here).
    """

    __slots__ = ("_client", "_name")

    def __init__(self, client: EMClient, name: str) -> None:
        self._client = client
        self._name = _checked_name(name)

    @property
    def name(self) -> str:
        """The pod name."""
        return self._name

    def __repr__(self) -> str:
        return f"Pod({self._name!r})"

    @implements(ops.uplink, bound=True)
    def uplink(
        self,
        filepaths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        dest_path: str = "",
        *,
        progress: ProgressArg = None,
    ) -> UplinkResult:
        return self._client.uplink(filepaths, dest_path, self._name, progress=progress)

    @implements(ops.downlink, bound=True)
    def downlink(
        self,
        filepath: str,
        downlink_folder: str | os.PathLike[str] = "downlink/",
        overwrite: bool = False,
        *,
        progress: ProgressArg = None,
    ) -> Path:
        return self._client.downlink(
            filepath, downlink_folder, self._name, overwrite, progress=progress
        )

    @implements(ops.downlink_folder, bound=True)
    def downlink_folder(
        self,
        folder: str,
        downlink_folder: str | os.PathLike[str] = "downlink/",
        overwrite: bool = False,
        *,
        progress: ProgressArg = None,
    ) -> DownlinkResult:
        return self._client.downlink_folder(
            folder, downlink_folder, self._name, overwrite, progress=progress
        )

    @implements(ops.sync_up, bound=True)
    def sync_up(
        self,
        local_dir: str | os.PathLike[str],
        remote_dir: str = "",
        *,
        delete: bool = False,
        dry_run: bool = False,
        progress: ProgressArg = None,
        checksum: bool = False,
    ) -> SyncResult:
        return self._client.sync_up(
            local_dir,
            remote_dir,
            self._name,
            delete=delete,
            dry_run=dry_run,
            progress=progress,
            checksum=checksum,
        )

    @implements(ops.sync_down, bound=True)
    def sync_down(
        self,
        remote_dir: str,
        local_dir: str | os.PathLike[str],
        *,
        delete: bool = False,
        dry_run: bool = False,
        progress: ProgressArg = None,
        checksum: bool = False,
    ) -> SyncResult:
        return self._client.sync_down(
            remote_dir,
            local_dir,
            self._name,
            delete=delete,
            dry_run=dry_run,
            progress=progress,
            checksum=checksum,
        )

    @implements(ops.files_list, bound=True)
    def files_list(self) -> list[FileNode]:
        return self._client.files_list(self._name)

    @implements(ops.delete, bound=True)
    def delete(self, filepath: str) -> str:
        return self._client.delete(filepath, self._name)

    @implements(ops.image_build, bound=True)
    def image_build(self, dockerfile: str, image: str, context: str | None = None) -> str:
        return self._client.image_build(dockerfile, image, context, self._name)

    @implements(ops.image_load, bound=True)
    def image_load(self, tarfile: str, image: str) -> str:
        return self._client.image_load(tarfile, image, self._name)

    @implements(ops.run, bound=True)
    def run(
        self,
        image: str,
        node: NodeName | str = "FPGA",
        max_duration: int = 1,
        command: str | None = None,
        scheduled_time: datetime | str | None = None,
        ports: Sequence[int] | None = None,
        namespace: bool = False,
        args: Sequence[str] | None = None,
        envs: Mapping[str, Any] | None = None,
        pvc_name: str | None = None,
    ) -> str:
        return self._client.run(
            image,
            node,
            max_duration,
            command,
            scheduled_time,
            self._name,
            ports,
            namespace,
            args,
            envs,
            pvc_name,
        )

    @implements(ops.pod_status, bound=True)
    def status(self) -> PodState:
        return self._client.pod_status(self._name)

    @implements(ops.pod_logs, bound=True)
    def logs(self) -> str:
        return self._client.pod_logs(self._name)

    @implements(ops.wait_for_pod, bound=True)
    def wait(
        self,
        until: str = "running",
        timeout: float | None = None,
        poll_interval: float | None = None,
        check: bool = True,
    ) -> PodState:
        return self._client.wait_for_pod(self._name, until, timeout, poll_interval, check)
