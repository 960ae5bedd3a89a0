"""Module-level helpers named like the vendor's example client, on one default client.

`from dphi_em import *` then `uplink(...)`, `run(...)`, `get_token()`... ports a script
written for the vendor's client by changing its import. The default client is built on
first use from the environment (`DPHI_EM_URL`, `DPHI_EM_USERNAME`, `DPHI_EM_PASSWORD`) and
closed at exit; `set_default_client` installs another one.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from em_api_client.models import EmFileNode

from ._client import EMClient
from ._models import NodeStatus, PodState, UplinkResult

__all__ = [
    "close_default_client",
    "delete",
    "downlink",
    "ensure_token",
    "files_list",
    "get_default_client",
    "get_token",
    "image_build",
    "image_list",
    "image_load",
    "namespace_create",
    "nodes_status",
    "pod_status",
    "run",
    "set_default_client",
    "uplink",
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
    if not client._auth.has_token:
        client.get_token()


def uplink(
    filepaths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    dest_path: str = "",
    pod_name: str | None = "",
) -> UplinkResult:
    """Uplink files or folders (see `EMClient.uplink`)."""
    return get_default_client().uplink(filepaths, dest_path, pod_name)


def downlink(
    filepath: str,
    downlink_folder: str | os.PathLike[str] = "downlink/",
    pod_name: str | None = "",
    overwrite: bool = False,
) -> Path:
    """Download a file (see `EMClient.downlink`)."""
    return get_default_client().downlink(filepath, downlink_folder, pod_name, overwrite)


def files_list(pod_name: str | None = "") -> list[EmFileNode]:
    """The file tree of a volume (see `EMClient.files_list`)."""
    return get_default_client().files_list(pod_name)


def delete(filepath: str, pod_name: str | None = "") -> str:
    """Delete a file or folder (see `EMClient.delete`)."""
    return get_default_client().delete(filepath, pod_name)


def image_build(dockerfile: str, image: str, context: str = ".", pod_name: str | None = "") -> str:
    """Build an image (see `EMClient.image_build`)."""
    return get_default_client().image_build(dockerfile, image, context, pod_name)


def image_load(tarfile: str, image: str, pod_name: str | None = "") -> str:
    """Load an image tar (see `EMClient.image_load`)."""
    return get_default_client().image_load(tarfile, image, pod_name)


def image_list() -> list[str]:
    """The user's images (see `EMClient.image_list`)."""
    return get_default_client().image_list()


def namespace_create() -> str:
    """Create the user's namespace (see `EMClient.namespace_create`)."""
    return get_default_client().namespace_create()


def run(
    image: str,
    node: str = "FPGA",
    max_duration: int = 1,
    command: str | None = "",
    scheduled_time: datetime | str | None = None,
    pod_name: str | None = None,
    ports: Sequence[int] | None = None,
    namespace: bool = False,
    args: Sequence[str] | None = None,
    envs: Mapping[str, Any] | None = None,
) -> str:
    """Schedule a pod (see `EMClient.run`)."""
    return get_default_client().run(
        image,
        node=node,
        max_duration=max_duration,
        command=command,
        scheduled_time=scheduled_time,
        pod_name=pod_name,
        ports=ports,
        namespace=namespace,
        args=args,
        envs=envs,
    )


def pod_status(pod_name: str | None = "") -> PodState:
    """A pod's state (see `EMClient.pod_status`)."""
    return get_default_client().pod_status(pod_name)


def wait_for_pod(
    pod_name: str | None = "",
    until: str = "running",
    timeout: float | None = None,
    poll_interval: float | None = None,
) -> PodState:
    """Wait for a pod (see `EMClient.wait_for_pod`)."""
    return get_default_client().wait_for_pod(pod_name, until, timeout, poll_interval)


def nodes_status() -> list[NodeStatus]:
    """The CG2 nodes (see `EMClient.nodes_status`)."""
    return get_default_client().nodes_status()
