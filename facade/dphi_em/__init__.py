"""dphi-em: Python client for the DPhi Space CG2 EM API.

```python
from dphi_em import EMClient

with EMClient() as em:  # DPHI_EM_URL, DPHI_EM_USERNAME, DPHI_EM_PASSWORD
    em.uplink(["Dockerfile", "echo-test.sh"], dest_path="echo-test")
    em.image_build("echo-test/Dockerfile", "echo-test", "echo-test")
    em.run("echo-test", max_duration=1)
    em.wait_for_pod()
```
Every failure raises a subclass of `EMError` (see `dphi_em._errors`). The generated
low-level client is `em.raw`; it shares the facade's auth, timeouts and retries.
"""

from ._client import FATAL_WAITING_REASONS, EMClient, ProgressArg, RetryArg
from ._config import DEFAULT_URL, ENV_PASSWORD, ENV_URL, ENV_USERNAME, MAX_UPLINK_BYTES
from ._default import (
    close_default_client,
    delete,
    downlink,
    ensure_token,
    files_list,
    get_default_client,
    get_token,
    image_build,
    image_list,
    image_load,
    namespace_create,
    nodes_status,
    pod_status,
    run,
    set_default_client,
    uplink,
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
    NoFilesError,
    NotFoundError,
    PodFailedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    UplinkTooLargeError,
    ValidationError,
    WaitTimeoutError,
    raise_for_response,
)
from ._models import FileNode, NodeStatus, PodState, UplinkResult, iter_files
from ._transfer import ProgressCallback
from ._transport import RetryPolicy
from ._volumes import POD_NAME_RULE, Pod, validate_pod_name

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL",
    "ENV_PASSWORD",
    "ENV_URL",
    "ENV_USERNAME",
    "FATAL_WAITING_REASONS",
    "MAX_UPLINK_BYTES",
    "POD_NAME_RULE",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BuildFailedError",
    "BusyError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectionFailedError",
    "EMClient",
    "EMError",
    "FileNode",
    "FileTooLargeError",
    "ForbiddenPathError",
    "ImageLoadFailedError",
    "IncompleteDownloadError",
    "LocalFileExistsError",
    "NoFilesError",
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
    "ServerError",
    "TransportError",
    "UplinkResult",
    "UplinkTooLargeError",
    "ValidationError",
    "WaitTimeoutError",
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
    "iter_files",
    "namespace_create",
    "nodes_status",
    "pod_status",
    "raise_for_response",
    "run",
    "set_default_client",
    "uplink",
    "validate_pod_name",
    "wait_for_pod",
]
