"""The real transports: httpx's, on connections that read 1 MiB at a time, with a lean
path for small calls.

`network_transport()` and `async_network_transport()` build httpx's transports, whose
connections read the socket `READ_SIZE` bytes at a time instead of httpcore's 64 KiB (a
1 GiB download then takes 1,024 trips through httpcore and httpx instead of 16,384; see
`make bench`). httpx takes no network-backend argument, so the pool's backend attribute
(`_network_backend`, httpcore 1.0) is wrapped after construction; tests fail if it moves.
Written twice by hand: the async one also puts plain TCP on `_aio_backend`. Both are
`_lean`'s transports: a small call to an `http://` server without a proxy goes around
httpcore's pool and h11, on the same backend, and hands its idle connection to the pool
when a transfer needs one (`HandoffBackend`).
"""

from __future__ import annotations

import ssl
from typing import Any

import httpcore
import httpx

from .._async._backend import AsyncWideReadBackend
from .._async._lean import AsyncHandoffBackend, AsyncLeanTransport
from .._sync._backend import WideReadBackend
from .._sync._lean import HandoffBackend, LeanTransport

__all__ = ["async_network_transport", "environment_proxy", "network_transport"]


def environment_proxy(url: httpx.URL | str | None) -> str | None:
    """The proxy that `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` choose for
    `url`, as `httpx.Client` chooses it when it builds its own transports (None: direct).

    Uses httpx's own reading of the environment (`httpx._utils`), so the rules are httpx's
    exactly; should it move, no proxy is used (and `tests/faults/test_client_holes.py`
    fails).
    """
    if url is None:
        return None
    try:
        from httpx._utils import URLPattern, get_environment_proxies
    except ImportError:  # pragma: no cover - an httpx without them
        return None
    target = httpx.URL(str(url))
    patterns = sorted(
        ((URLPattern(key), proxy) for key, proxy in get_environment_proxies().items()),
        key=lambda item: item[0],
    )
    for pattern, proxy in patterns:
        if pattern.matches(target):
            return proxy
    return None


def _tls_verify(verify: Any, url: httpx.URL | str | None, proxy: Any) -> Any:
    """`verify` as given, except for a client that will never speak TLS.

    httpx builds a verifying SSL context, loading the whole CA bundle (about 50 ms, most of
    an `EMClient()`'s construction), even for an `http://` server. When neither the server
    nor its proxy is `https://`, the transport gets an SSL context without any CA instead:
    nothing is loaded, and a TLS connection through it (an absolute `https://` URL sent on
    `http_client`) fails verification rather than passing unverified.
    """
    if verify is not True or url is None:
        return verify
    proxy_url = getattr(proxy, "url", None)
    if httpx.URL(str(url)).scheme == "https" or (
        proxy_url is not None and httpx.URL(str(proxy_url)).scheme == "https"
    ):
        return verify
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, and trusts no CA


def network_transport(
    *, verify: Any = True, url: httpx.URL | str | None = None
) -> httpx.HTTPTransport:
    """httpx's transport, its connection pool on a `WideReadBackend`, with the lean path
    for small calls when no proxy is used (`LeanTransport`).

    httpx takes no network backend argument, so the pool's is wrapped after construction;
    should a future httpx or httpcore keep it elsewhere, this returns the plain transport
    (and `tests/unit/test_facade_transport.py` fails).

    Args:
        verify: TLS verification, as for httpx.
        url: The server address; the environment's proxy for it is used
            (`environment_proxy`), as httpx does for the transports it builds itself.
    """
    proxy = environment_proxy(url)
    transport = LeanTransport(verify=_tls_verify(verify, url, proxy), proxy=proxy)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.ConnectionPool) and isinstance(backend, httpcore.NetworkBackend):
        if proxy is None:
            transport.lean_backend = backend
            backend = HandoffBackend(backend, transport)
        pool._network_backend = WideReadBackend(backend)
    return transport


def async_network_transport(
    *, verify: Any = True, url: httpx.URL | str | None = None
) -> httpx.AsyncHTTPTransport:
    """httpx's async transport, its connection pool on an `AsyncWideReadBackend` over an
    `AsyncioSocketBackend` (`_aio_backend`: plain TCP on asyncio read straight from the
    socket, 1 MiB at a time; TLS, Unix sockets and trio on the pool's own backend).

    Same patch as `network_transport`, same fallback, same proxy choice, same tests.
    """
    proxy = environment_proxy(url)
    transport = AsyncLeanTransport(verify=_tls_verify(verify, url, proxy), proxy=proxy)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and isinstance(
        backend, httpcore.AsyncNetworkBackend
    ):
        from .._aio_backend import AsyncioSocketBackend

        sockets: httpcore.AsyncNetworkBackend = AsyncioSocketBackend(backend)
        if proxy is None:
            transport.lean_backend = sockets
            sockets = AsyncHandoffBackend(sockets, transport)
        pool._network_backend = AsyncWideReadBackend(sockets)
    return transport
