"""What a call costs the client once per client, not once per call.

httpx builds a request's URL three times (the path parsed, joined to the base URL, the query
merged in: each a full `urlparse`) and, after every response, wraps request and response for
`http.cookiejar` to look for cookies. For the facade's small calls (a listing: a few ms on
loopback) these were about a quarter of the client's CPU. Both are cut here with httpx's own
objects, so what is sent is what httpx would send:

- `RequestUrls`: the absolute URL of a facade request (its path and plain string query
  parameters) is built once by httpx itself (`build_request`) and then given to httpx as an
  absolute `httpx.URL`, which httpx takes as it is (no parsing, no joining).
- `RequestUrls.build`: a facade request with no body, headers or options of its own (a
  listing, a status) is a copy of the `httpx.Request` httpx built for it the first time
  (its headers and extensions copied, so what the auth adds to one is not in the next),
  while the client's headers, timeout and (empty) cookies are the ones it was built with:
  `build_request` merges the client's headers, cookies and timeout anew each time, about
  50 us a call.
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

    __slots__ = ("_base", "_built", "_urls")

    def __init__(self) -> None:
        self._base: httpx.URL | None = None
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}
        self._built: dict[tuple[str, httpx.URL], _Built] = {}

    def build(
        self, http: httpx.Client | httpx.AsyncClient, request: dict[str, Any]
    ) -> httpx.Request:
        """The `httpx.Request` httpx builds for `request` (keyword arguments of
        `httpx.AsyncClient.request`): a copy of the one built before for a request of only
        a method and a URL (see the module docstring), else built anew."""
        request = self.resolve(http, request)
        url = request.get("url")
        method = request.get("method")
        if len(request) != 2 or type(url) is not httpx.URL or type(method) is not str:
            return http.build_request(**request)
        key = (method, url)
        headers = http.headers.raw
        timeout = http.timeout
        built = self._built.get(key)
        if (
            built is None
            or built.headers != headers
            or built.timeout is not timeout
            or http.cookies.jar
        ):
            template = http.build_request(method, url)
            if http.cookies.jar or not isinstance(template.stream, httpx.ByteStream):
                return template  # a Cookie header, or a body: built each time
            if len(self._built) >= _MOST_URLS:
                self._built.clear()
            built = self._built[key] = _Built(template, headers, timeout)
            template = built.copy()
            return template
        return built.copy()

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


class _Built:
    """A request built by httpx, with the client's headers and timeout it was built with."""

    __slots__ = ("headers", "template", "timeout")

    def __init__(
        self, template: httpx.Request, headers: list[tuple[bytes, bytes]], timeout: httpx.Timeout
    ) -> None:
        self.template = template
        self.headers = headers
        self.timeout = timeout

    def copy(self) -> httpx.Request:
        """A request equal to the template, with headers and extensions of its own."""
        template = self.template
        request = _new_request(httpx.Request)
        request.__dict__.update(template.__dict__)
        request.headers = httpx.Headers(template.headers)
        request.extensions = {
            name: dict(value) if type(value) is dict else value
            for name, value in template.extensions.items()
        }
        return request


_new_request = object.__new__


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
