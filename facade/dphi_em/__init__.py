"""dphi-em: Python client for the DPhi Space CG2 EM API.

```python
from dphi_em import EMClient

with EMClient() as em:  # DPHI_EM_URL, DPHI_EM_USERNAME, DPHI_EM_PASSWORD, or login --save
    em.uplink(["Dockerfile", "echo-test.sh"], dest_path="echo-test")
    em.image_build("echo-test/Dockerfile", "echo-test", "echo-test")
    em.run("echo-test", max_duration=1)
    em.wait_for_pod()
```
`AsyncEMClient` is the same client for asyncio (`async with AsyncEMClient() as em:`).
Every failure raises a subclass of `EMError` (see `dphi_em._errors`). The generated
low-level client is `em.raw`; it shares the facade's auth, timeouts and retries.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from ._async._client import AsyncEMClient
    from ._async._pod import AsyncPod
    from ._base import RetryArg
    from ._config import MAX_UPLINK_BYTES
    from ._default import (
        close_default_client,
        delete,
        delete_volume,
        downlink,
        downlink_folder,
        ensure_token,
        files_list,
        get_default_client,
        get_token,
        image_build,
        image_list,
        image_load,
        namespace_create,
        nodes_status,
        pod_logs,
        pod_status,
        run,
        set_default_client,
        sync_down,
        sync_up,
        uplink,
        volumes,
        wait_for_pod,
    )
    from ._errors import (
        APIError,
        AuthenticationError,
        BadRequestError,
        BuildFailedError,
        BusyError,
        ClientClosedError,
        ConfigurationError,
        ConnectionFailedError,
        EMError,
        FileTooLargeError,
        ForbiddenPathError,
        ImageLoadFailedError,
        IncompleteDownloadError,
        LocalFileExistsError,
        LogsUnavailableError,
        NoFilesError,
        NotFoundError,
        PodFailedError,
        RequestTimeoutError,
        RevisionError,
        ServerError,
        TransportError,
        UplinkTooLargeError,
        ValidationError,
        WaitTimeoutError,
        raise_for_response,
    )
    from ._models import FileNode, NodeStatus, PodState, UplinkResult, Volume, iter_files
    from ._operations import ProgressArg
    from ._progress import ProgressCallback
    from ._retry import RetryPolicy
    from ._revision import API_REVISIONS, ApiRevision
    from ._settings import (
        DEFAULT_URL,
        ENV_PASSWORD,
        ENV_URL,
        ENV_USERNAME,
        NODES,
        POD_NAME_RULE,
        NodeName,
    )
    from ._sync._client import EMClient
    from ._sync._pod import Pod
    from ._treesync import DownlinkResult, SyncItem, SyncResult
    from ._validate import validate_pod_name
    from ._waiting import FATAL_WAITING_REASONS

__version__ = "0.1.0"

#: Where each public name lives. Importing `dphi_em` imports none of them (so that
#: `dphi-em --help` does not pay for httpx and the generated client): each is imported on
#: first use (PEP 562).
_LAZY: dict[str, str] = {
    "API_REVISIONS": "._revision",
    "ApiRevision": "._revision",
    "DEFAULT_URL": "._settings",
    "ENV_PASSWORD": "._settings",
    "ENV_URL": "._settings",
    "ENV_USERNAME": "._settings",
    "FATAL_WAITING_REASONS": "._waiting",
    "MAX_UPLINK_BYTES": "._config",
    "NODES": "._settings",
    "POD_NAME_RULE": "._settings",
    "APIError": "._errors",
    "AsyncEMClient": "._async._client",
    "AsyncPod": "._async._pod",
    "AuthenticationError": "._errors",
    "BadRequestError": "._errors",
    "BuildFailedError": "._errors",
    "BusyError": "._errors",
    "ClientClosedError": "._errors",
    "ConfigurationError": "._errors",
    "ConnectionFailedError": "._errors",
    "EMClient": "._sync._client",
    "EMError": "._errors",
    "FileNode": "._models",
    "FileTooLargeError": "._errors",
    "ForbiddenPathError": "._errors",
    "ImageLoadFailedError": "._errors",
    "IncompleteDownloadError": "._errors",
    "LocalFileExistsError": "._errors",
    "LogsUnavailableError": "._errors",
    "NoFilesError": "._errors",
    "NodeName": "._settings",
    "NodeStatus": "._models",
    "NotFoundError": "._errors",
    "Pod": "._sync._pod",
    "PodFailedError": "._errors",
    "PodState": "._models",
    "ProgressArg": "._operations",
    "ProgressCallback": "._progress",
    "RequestTimeoutError": "._errors",
    "RevisionError": "._errors",
    "RetryArg": "._base",
    "RetryPolicy": "._retry",
    "ServerError": "._errors",
    "TransportError": "._errors",
    "UplinkResult": "._models",
    "UplinkTooLargeError": "._errors",
    "Volume": "._models",
    "ValidationError": "._errors",
    "WaitTimeoutError": "._errors",
    "close_default_client": "._default",
    "delete": "._default",
    "delete_volume": "._default",
    "downlink": "._default",
    "downlink_folder": "._default",
    "DownlinkResult": "._treesync",
    "SyncItem": "._treesync",
    "SyncResult": "._treesync",
    "sync_down": "._default",
    "sync_up": "._default",
    "ensure_token": "._default",
    "files_list": "._default",
    "get_default_client": "._default",
    "get_token": "._default",
    "image_build": "._default",
    "image_list": "._default",
    "image_load": "._default",
    "iter_files": "._models",
    "namespace_create": "._default",
    "nodes_status": "._default",
    "pod_logs": "._default",
    "pod_status": "._default",
    "raise_for_response": "._errors",
    "run": "._default",
    "set_default_client": "._default",
    "uplink": "._default",
    "validate_pod_name": "._validate",
    "volumes": "._default",
    "wait_for_pod": "._default",
}

__all__ = [
    "API_REVISIONS",
    "DEFAULT_URL",
    "ENV_PASSWORD",
    "ENV_URL",
    "ENV_USERNAME",
    "FATAL_WAITING_REASONS",
    "MAX_UPLINK_BYTES",
    "NODES",
    "POD_NAME_RULE",
    "APIError",
    "ApiRevision",
    "AsyncEMClient",
    "AsyncPod",
    "AuthenticationError",
    "BadRequestError",
    "BuildFailedError",
    "BusyError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectionFailedError",
    "DownlinkResult",
    "EMClient",
    "EMError",
    "FileNode",
    "FileTooLargeError",
    "ForbiddenPathError",
    "ImageLoadFailedError",
    "IncompleteDownloadError",
    "LocalFileExistsError",
    "LogsUnavailableError",
    "NoFilesError",
    "NodeName",
    "NodeStatus",
    "NotFoundError",
    "Pod",
    "PodFailedError",
    "PodState",
    "ProgressArg",
    "ProgressCallback",
    "RequestTimeoutError",
    "RetryArg",
    "RetryPolicy",
    "RevisionError",
    "ServerError",
    "SyncItem",
    "SyncResult",
    "TransportError",
    "UplinkResult",
    "UplinkTooLargeError",
    "ValidationError",
    "Volume",
    "WaitTimeoutError",
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
    "iter_files",
    "namespace_create",
    "nodes_status",
    "pod_logs",
    "pod_status",
    "raise_for_response",
    "run",
    "set_default_client",
    "sync_down",
    "sync_up",
    "uplink",
    "validate_pod_name",
    "volumes",
    "wait_for_pod",
]


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
