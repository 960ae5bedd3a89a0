"""Module-level helpers named like the vendor's example client, on one default client.

`from dphi_em import *` then `uplink(...)`, `run(...)`, `get_token()`... ports a script
written for the vendor's client by changing its import. The default client is built on
first use like `EMClient()` (arguments none, so the environment, then the file that
`dphi-em login --save` wrote) and closed at exit; `set_default_client` installs another one.
Each helper is the `EMClient` method of the same operation, bound in one line
(`uplink = _on_default(EMClient.uplink)`): the same parameters, defaults, types and doc.
"""

from __future__ import annotations

import atexit
import inspect
import threading
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from ._operations import OPERATIONS
from ._sync._client import EMClient

#: A helper for each operation of the table (bound below), and the default client's own.
_OWN = ["close_default_client", "ensure_token", "get_default_client", "set_default_client"]
__all__ = sorted([*OPERATIONS, *_OWN])

_P = ParamSpec("_P")
_R = TypeVar("_R")

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


def _on_default(method: Callable[Concatenate[EMClient, _P], _R]) -> Callable[_P, _R]:
    """The module helper of an `EMClient` method: the same call, on the default client.

    It has the method's name, doc, operation (`_operations.implements`) and signature
    (without `self`), so the table's checks and `help()` see what they see on the client.
    """

    def helper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        return method(get_default_client(), *args, **kwargs)

    signature = inspect.signature(method)
    helper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[1:]
    )
    helper.__name__ = helper.__qualname__ = method.__name__
    helper.__doc__ = method.__doc__
    helper.__operation__ = method.__operation__  # type: ignore[attr-defined]
    return helper


uplink = _on_default(EMClient.uplink)
downlink = _on_default(EMClient.downlink)
downlink_folder = _on_default(EMClient.downlink_folder)
sync_up = _on_default(EMClient.sync_up)
sync_down = _on_default(EMClient.sync_down)
files_list = _on_default(EMClient.files_list)
delete = _on_default(EMClient.delete)
image_build = _on_default(EMClient.image_build)
image_load = _on_default(EMClient.image_load)
image_list = _on_default(EMClient.image_list)
namespace_create = _on_default(EMClient.namespace_create)
run = _on_default(EMClient.run)
pod_status = _on_default(EMClient.pod_status)
pod_logs = _on_default(EMClient.pod_logs)
wait_for_pod = _on_default(EMClient.wait_for_pod)
volumes = _on_default(EMClient.volumes)
delete_volume = _on_default(EMClient.delete_volume)
nodes_status = _on_default(EMClient.nodes_status)
