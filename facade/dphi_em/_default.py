"""Module-level helpers named like the vendor's example client, on one default client.

`from dphi_em import *` then `uplink(...)`, `run(...)`, `get_token()`... ports a script
written for the vendor's client by changing its import. The default client is built on
first use like `EMClient()` (arguments none, so the environment, then the file that
`dphi-em login --save` wrote) and closed at exit; `set_default_client` installs another one.
Each helper is the `EMClient` method of the same operation, with the same parameters and
defaults (checked against the operation table at import).
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from . import _operations as ops
from ._client import EMClient
from ._models import FileNode, NodeStatus, PodState, UplinkResult, Volume
from ._operations import ProgressArg, implements
from ._settings import NodeName
from ._treesync import DownlinkResult, SyncResult

__all__ = [
    "close_default_client",
    "delete",
    "delete_volume",
    "downlink",
    "downlink_folder",
    "ensure_token",
    "files_list",
    "get_default_client",
    "get_token",
    "image_build",
    "image_list",
    "image_load",
    "namespace_create",
    "nodes_status",
    "pod_logs",
    "pod_status",
    "run",
    "set_default_client",
    "sync_down",
    "sync_up",
    "uplink",
    "volumes",
    "wait_for_pod",
]

_lock = threading.Lock()
_default: EMClient | None = None


def get_default_client() -> EMClient:
    """The default client, built from the environment on first use."""
    global _default
    client = _default
    if client is not None and not client.is_closed:
        return client
    with _lock:
        if _default is None or _default.is_closed:
            _default = EMClient()
        return _default


def set_default_client(client: EMClient | None) -> None:
    """Use `client` for the module-level helpers (None: build one from the environment).

    The previous default client is closed unless it is `client`.
    """
    global _default
    with _lock:
        previous, _default = _default, client
    if previous is not None and previous is not client:
        previous.close()


def close_default_client() -> None:
    """Close the default client; the next helper call builds a new one."""
    set_default_client(None)


atexit.register(close_default_client)


def get_token() -> None:
    """Log in now (see `EMClient.get_token`)."""
    get_default_client().get_token()


def ensure_token() -> None:
    """Log in unless a token is held already (the vendor client's helper)."""
    client = get_default_client()
    if not client.has_token:
        client.get_token()


@implements(ops.uplink)
def uplink(
    filepaths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    dest_path: str = "",
    pod_name: str | None = None,
    *,
    progress: ProgressArg = None,
) -> UplinkResult:
    return get_default_client().uplink(filepaths, dest_path, pod_name, progress=progress)


@implements(ops.downlink)
def downlink(
    filepath: str,
    downlink_folder: str | os.PathLike[str] = "downlink/",
    pod_name: str | None = None,
    overwrite: bool = False,
    *,
    progress: ProgressArg = None,
) -> Path:
    return get_default_client().downlink(
        filepath, downlink_folder, pod_name, overwrite, progress=progress
    )


@implements(ops.downlink_folder)
def downlink_folder(
    folder: str,
    downlink_folder: str | os.PathLike[str] = "downlink/",
    pod_name: str | None = None,
    overwrite: bool = False,
    *,
    progress: ProgressArg = None,
) -> DownlinkResult:
    return get_default_client().downlink_folder(
        folder, downlink_folder, pod_name, overwrite, progress=progress
    )


@implements(ops.sync_up)
def sync_up(
    local_dir: str | os.PathLike[str],
    remote_dir: str = "",
    pod_name: str | None = None,
    *,
    delete: bool = False,
    dry_run: bool = False,
    progress: ProgressArg = None,
    checksum: bool = False,
) -> SyncResult:
    return get_default_client().sync_up(
        local_dir,
        remote_dir,
        pod_name,
        delete=delete,
        dry_run=dry_run,
        progress=progress,
        checksum=checksum,
    )


@implements(ops.sync_down)
def sync_down(
    remote_dir: str,
    local_dir: str | os.PathLike[str],
    pod_name: str | None = None,
    *,
    delete: bool = False,
    dry_run: bool = False,
    progress: ProgressArg = None,
    checksum: bool = False,
) -> SyncResult:
    return get_default_client().sync_down(
        remote_dir,
        local_dir,
        pod_name,
        delete=delete,
        dry_run=dry_run,
        progress=progress,
        checksum=checksum,
    )


@implements(ops.files_list)
def files_list(pod_name: str | None = None) -> list[FileNode]:
    return get_default_client().files_list(pod_name)


@implements(ops.delete)
def delete(filepath: str, pod_name: str | None = None) -> str:
    return get_default_client().delete(filepath, pod_name)


@implements(ops.image_build)
def image_build(
    dockerfile: str, image: str, context: str | None = None, pod_name: str | None = None
) -> str:
    return get_default_client().image_build(dockerfile, image, context, pod_name)


@implements(ops.image_load)
def image_load(tarfile: str, image: str, pod_name: str | None = None) -> str:
    return get_default_client().image_load(tarfile, image, pod_name)


@implements(ops.image_list)
def image_list() -> list[str]:
    return get_default_client().image_list()


@implements(ops.namespace_create)
def namespace_create() -> str:
    return get_default_client().namespace_create()


@implements(ops.run)
def run(
    image: str,
    node: NodeName | str = "FPGA",
    max_duration: int = 1,
    command: str | None = None,
    scheduled_time: datetime | str | None = None,
    pod_name: str | None = None,
    ports: Sequence[int] | None = None,
    namespace: bool = False,
    args: Sequence[str] | None = None,
    envs: Mapping[str, Any] | None = None,
    pvc_name: str | None = None,
) -> str:
    return get_default_client().run(
        image,
        node,
        max_duration,
        command,
        scheduled_time,
        pod_name,
        ports,
        namespace,
        args,
        envs,
        pvc_name,
    )


@implements(ops.pod_status)
def pod_status(pod_name: str | None = None) -> PodState:
    return get_default_client().pod_status(pod_name)


@implements(ops.pod_logs)
def pod_logs(pod_name: str | None = None) -> str:
    return get_default_client().pod_logs(pod_name)


@implements(ops.wait_for_pod)
def wait_for_pod(
    pod_name: str | None = None,
    until: str = "running",
    timeout: float | None = None,
    poll_interval: float | None = None,
    check: bool = True,
) -> PodState:
    return get_default_client().wait_for_pod(pod_name, until, timeout, poll_interval, check)


@implements(ops.volumes)
def volumes() -> list[Volume]:
    return get_default_client().volumes()


@implements(ops.delete_volume)
def delete_volume(name: str) -> str:
    return get_default_client().delete_volume(name)


@implements(ops.nodes_status)
def nodes_status() -> list[NodeStatus]:
    return get_default_client().nodes_status()
