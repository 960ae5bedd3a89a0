"""What a call costs the client once per client, not once per call.

httpx builds a request's URL three times (the path parsed, joined to the base URL, the query
merged in: each a full `urlparse`) and, after every response, wraps request and response for
`http.cookiejar` to look for cookies. For the facade's small calls (a listing: a few ms on
loopback) these were about a quarter of the client's CPU. Both are cut here with httpx's own
objects, so what is sent is what httpx would send:

- `RequestUrls`: the absolute URL of a facade request (its path and plain string query
  parameters) is built once by httpx itself (`build_request`) and then given to httpx as an
  absolute `httpx.URL`, which httpx takes as it is (no parsing, no joining).
- `CookieCutter`: httpx's cookie store, which hands a response to `http.cookiejar` only when
  the response sets a cookie (`Set-Cookie`, `Set-Cookie2`): the jar looks at nothing else.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["CookieCutter", "RequestUrls", "cut_cookie_cost"]

#: Distinct (path, query) URLs kept per client (then the cache starts again).
_MOST_URLS = 256
_SETS_COOKIES = (b"set-cookie", b"set-cookie2")


class RequestUrls:
    """The absolute URLs of one client's requests, built once each by httpx.

    A request (the keyword arguments of `httpx.AsyncClient.request`) whose `url` is a
    relative path and whose `params` (if any) map strings to strings is given the absolute
    URL httpx builds for it, query included, and no `params`. Any other request is left as it
    is, as is every request while the client has `params` of its own (httpx would merge them
    again). A new `base_url` on the client starts the cache again.
    """

    __slots__ = ("_base", "_urls")

    def __init__(self) -> None:
        self._base: httpx.URL | None = None
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}

    def resolve(
        self, http: httpx.Client | httpx.AsyncClient, request: dict[str, Any]
    ) -> dict[str, Any]:
        """`request` with its URL built (see the class docstring), or `request` itself."""
        url = request.get("url")
        params = request.get("params")
        if type(url) is not str or http.params:
            return request
        if params:
            if not isinstance(params, dict):
                return request
            query = tuple(params.items())
            for name, value in query:
                if type(name) is not str or type(value) is not str:
                    return request
        else:
            query = ()
        base = http.base_url
        if base is not self._base:
            self._urls.clear()
            self._base = base
        key = (url, query)
        built = self._urls.get(key)
        if built is None:
            built = http.build_request("GET", url, params=params or None).url
            if len(self._urls) >= _MOST_URLS:
                self._urls.clear()
            self._urls[key] = built
        resolved = dict(request)
        resolved["url"] = built
        resolved.pop("params", None)
        return resolved


class CookieCutter(httpx.Cookies):
    """httpx's cookie store, skipping `http.cookiejar` for responses that set no cookie."""

    def extract_cookies(self, response: httpx.Response) -> None:
        for name, _ in response.headers.raw:
            if name.lower() in _SETS_COOKIES:
                super().extract_cookies(response)
                return


def cut_cookie_cost(http: httpx.Client | httpx.AsyncClient) -> None:
    """Give `http` a `CookieCutter` holding its cookies.

    httpx takes a cookie store as a copy (`cookies=`, the `cookies` setter), so the store is
    put in httpx 0.28's attribute (`_cookies`); should it move, `http` keeps its own store
    (and `tests/unit/test_facade_transport.py` fails).
    """
    current = getattr(http, "_cookies", None)
    if isinstance(current, httpx.Cookies) and not isinstance(current, CookieCutter):
        http._cookies = CookieCutter(current.jar)
