"""What a facade call builds once per client (`_transports._calls`), over real sockets, with
`EMClient` and `AsyncEMClient`: the request URL httpx would build, built once; cookies kept
and sent back as httpx does, without `http.cookiejar` for answers that set none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from dphi_em._generated import files_list_request
from dphi_em._transports._calls import CookieCutter, RequestUrls, cut_cookie_cost
from support.clients import KINDS, make_client  # noqa: F401 (the fixture)
from support.server import Answer, ScriptedServer, Seen, json_response, token_answer

LISTING = {"data": [{"name": "a.txt", "type": "file", "size": "3", "time": None}]}


def _listing_server(cookie: str | None = None) -> ScriptedServer:
    """Answers logins and listings (keep-alive); the first listing sets `cookie` if given."""
    listed: list[int] = []

    def handler(seen: Seen) -> Answer:
        if seen.path.startswith("/auth/"):
            return token_answer(seen)
        listed.append(1)
        headers = {"Set-Cookie": cookie} if cookie and len(listed) == 1 else None
        return Answer(json_response(200, LISTING, headers=headers))

    return ScriptedServer(handler, keep_alive=True)


def _listings(server: ScriptedServer) -> list[Seen]:
    return [seen for seen in server.seen if seen.path.startswith("/em/files/list")]


@pytest.mark.parametrize("kind", KINDS)
def test_the_request_line_is_the_one_httpx_builds(
    kind: str,
    make_client: Callable[..., Any],  # noqa: F811 (the fixture imported above)
) -> None:
    with _listing_server() as server:
        em = make_client(kind, server.url, api="2025-11")
        for pod in ("pod-a", "pod-b", "pod-a", None):
            assert [node.name for node in em.files_list(pod)] == ["a.txt"]
        plain = httpx.Client(base_url=server.url)
        expected = [
            plain.build_request(**files_list_request(pod)).url.raw_path.decode()
            for pod in ("pod-a", "pod-b", "pod-a", None)
        ]
        assert [seen.path for seen in _listings(server)] == expected


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_base_url_or_client_params_are_followed(
    kind: str,
    make_client: Callable[..., Any],  # noqa: F811 (the fixture imported above)
) -> None:
    with _listing_server() as first, _listing_server() as second:
        em = make_client(kind, first.url, api="2025-11")
        em.files_list("pod-a")
        em.http_client.base_url = second.url
        em.files_list("pod-a")
        em.http_client.params = {"trace": "1"}
        em.files_list("pod-a")
        assert [seen.path for seen in _listings(first)] == ["/em/files/list?pod_name=pod-a"]
        assert [seen.path for seen in _listings(second)] == [
            "/em/files/list?pod_name=pod-a",
            "/em/files/list?trace=1&pod_name=pod-a",
        ]


@pytest.mark.parametrize("kind", KINDS)
def test_cookies_set_by_an_answer_are_sent_back(
    kind: str,
    make_client: Callable[..., Any],  # noqa: F811 (the fixture imported above)
) -> None:
    with _listing_server(cookie="route=b7; Path=/") as server:
        em = make_client(kind, server.url, api="2025-11")
        assert isinstance(em.http_client.cookies, CookieCutter)
        em.files_list("pod-a")  # sets the cookie
        em.files_list("pod-a")  # sets none: the cookie stays
        em.files_list("pod-a")
        cookies = [seen.headers.get("cookie") for seen in _listings(server)]
        assert cookies == [None, "route=b7", "route=b7"]
        assert em.http_client.cookies.get("route") == "b7"


def test_without_a_set_cookie_the_jar_is_not_asked() -> None:
    class Jar(httpx.Cookies):
        asked = 0

        def extract_cookies(self, response: httpx.Response) -> None:
            Jar.asked += 1

    request = httpx.Request("GET", "http://127.0.0.1/em/files/list/")
    plain = httpx.Response(200, headers={"Content-Type": "application/json"}, request=request)
    setting = httpx.Response(200, headers={"SET-COOKIE2": "a=1"}, request=request)
    cutter = type("Cutter", (CookieCutter, Jar), {})()
    cutter.extract_cookies(plain)
    assert Jar.asked == 0
    cutter.extract_cookies(setting)
    assert Jar.asked == 1


def test_the_cookie_store_keeps_the_cookies_it_replaces() -> None:
    http = httpx.Client(cookies={"kept": "1"})
    cut_cookie_cost(http)
    assert isinstance(http.cookies, CookieCutter)
    assert dict(http.cookies) == {"kept": "1"}
    http.cookies = {"other": "2"}  # httpx's setter: a plain store again, still working
    assert dict(http.cookies) == {"other": "2"}


def test_request_urls_builds_each_url_once_and_leaves_the_rest_alone() -> None:
    http = httpx.Client(base_url="http://127.0.0.1:9/api")
    urls = RequestUrls()
    request = {"method": "GET", "url": "/em/files/list/", "params": {"pod_name": "a b"}}
    first = urls.resolve(http, request)
    assert first["url"] == http.build_request(**request).url
    assert "params" not in first
    assert request["params"] == {"pod_name": "a b"}
    assert urls.resolve(http, dict(request))["url"] is first["url"]
    for other in (
        {"method": "GET", "url": "/x", "params": {"n": 1}},  # httpx's own encoding of 1
        {"method": "GET", "url": "/x", "params": {"n": ["a", "b"]}},
        {"method": "GET", "url": "/x", "params": [("n", "a")]},
        {"method": "GET", "url": httpx.URL("http://127.0.0.1:9/x")},
    ):
        assert urls.resolve(http, other) is other
    http.params = {"trace": "1"}
    assert urls.resolve(http, request) is request


def _fields(request: httpx.Request) -> tuple[Any, ...]:
    return (request.method, request.url, request.headers.raw, request.extensions, request.content)


def test_request_urls_build_copies_what_httpx_builds() -> None:
    http = httpx.Client(base_url="http://127.0.0.1:9/api", headers={"User-Agent": "t"})
    urls = RequestUrls()
    request = {"method": "get", "url": "/em/files/list/", "params": {"pod_name": "a"}}
    first, second = urls.build(http, request), urls.build(http, request)
    assert _fields(first) == _fields(second) == _fields(http.build_request(**request))
    first.headers["Authorization"] = "Bearer one"  # as the auth does, on each request
    first.extensions["timeout"]["read"] = 1.0
    third = urls.build(http, request)
    assert "Authorization" not in third.headers
    assert _fields(third) == _fields(http.build_request(**request))
    http.headers["X-Trace"] = "1"
    assert urls.build(http, request).headers["X-Trace"] == "1"
    http.timeout = httpx.Timeout(3.0)
    assert urls.build(http, request).extensions["timeout"]["read"] == 3.0
    http.cookies.set("route", "b7")
    assert urls.build(http, request).headers["Cookie"] == "route=b7"
    with_body = {"method": "post", "url": "/em/files/list/", "json": {"pod_name": "a"}}
    assert _fields(urls.build(http, with_body)) == _fields(http.build_request(**with_body))


@pytest.mark.parametrize("kind", KINDS)
def test_the_clients_headers_are_followed_between_calls(
    kind: str,
    make_client: Callable[..., Any],  # noqa: F811 (the fixture imported above)
) -> None:
    with _listing_server() as server:
        em = make_client(kind, server.url, api="2025-11")
        em.files_list("pod-a")
        em.http_client.headers["X-Trace"] = "7"
        em.files_list("pod-a")
        seen = _listings(server)
        assert [s.headers.get("x-trace") for s in seen] == [None, "7"]
        assert all(s.headers.get("authorization", "").startswith("Bearer ") for s in seen)
