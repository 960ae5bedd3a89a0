"""The lean path of the facade's small calls (`_async._lean`, `_transports._http11`).

The framing rules alone (request heads, answer heads, body framing, chunked decoding fed
byte by byte), then every framing case over real sockets against a scripted server with the
transports `EMClient` and `AsyncEMClient` use: `Content-Length`, chunked, up to the end of the
connection, no body; an early close and a server gone before answering; keep-alive reuse
after each (a scripted server with a list of answers gives connection n answer n, so the body
tells which connection answered); and which calls take the lean path at all.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpcore
import httpx
import pytest
from dphi_em import AsyncEMClient, EMClient
from dphi_em._async._lean import AsyncLeanTransport
from dphi_em._sync._lean import LeanTransport
from dphi_em._transports._http11 import (
    BODY_CHUNKED,
    BODY_LENGTH,
    BODY_NONE,
    BODY_UNTIL_CLOSE,
    MAX_HEAD,
    ChunkedReader,
    body_framing,
    head_end,
    keeps_alive,
    parse_head,
    request_head,
)
from dphi_em._transports._network import async_network_transport, network_transport
from support.server import Answer, ScriptedServer, Seen, http_response, json_response, token_answer

KINDS = ["sync", "async"]

# -- the framing rules --------------------------------------------------------------------


def test_a_request_head_is_written_as_h11_writes_it() -> None:
    head = request_head(b"GET", b"/a?b=c", [(b"Host", b"x.test"), (b"Accept", b"*/*")])
    assert head == b"GET /a?b=c HTTP/1.1\r\nHost: x.test\r\nAccept: */*\r\n\r\n"


@pytest.mark.parametrize(
    ("name", "value"),
    [(b"X-A", b"1\r\nX-Injected: 2"), (b"X-A", b"a\nb"), (b"X-A", b"a\x00"), (b"Bad Name", b"v")],
)
def test_a_request_head_refuses_what_would_split_it(name: bytes, value: bytes) -> None:
    with pytest.raises(httpx.LocalProtocolError, match="Illegal header"):
        request_head(b"GET", b"/", [(b"Host", b"x"), (name, value)])


@pytest.mark.parametrize(
    "method",
    [b"GET /admin HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET", b"GE T", b"GET\n", b"G\x00", b""],
)
def test_a_request_head_refuses_a_method_that_is_not_a_token(method: bytes) -> None:
    with pytest.raises(httpx.LocalProtocolError, match="Illegal method characters"):
        request_head(method, b"/", [(b"Host", b"x")])


def test_a_request_head_takes_any_token_method() -> None:
    for method in (b"GET", b"PATCH", b"M-SEARCH", b"X~1"):
        assert request_head(method, b"/", []).startswith(method + b" / HTTP/1.1\r\n")


def test_an_answer_head_is_parsed_with_crlf_or_lf_and_folded_lines() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 3\nX-Long: a\r\n  b\r\nX-Empty:\r\n\r\n"
    assert head_end(raw + b"abc") == len(raw)
    head = parse_head(raw)
    assert (head.minor, head.status, head.reason) == (1, 200, b"OK")
    assert head.headers == [(b"Content-Length", b"3"), (b"X-Long", b"a b"), (b"X-Empty", b"")]
    assert parse_head(b"HTTP/1.0 204\r\n\r\n").reason == b""


def test_an_incomplete_head_waits_and_an_endless_one_is_refused() -> None:
    assert head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n") == -1
    with pytest.raises(httpx.RemoteProtocolError, match="larger than"):
        head_end(b"HTTP/1.1 200 OK\r\n" + b"A: b\r\n" * (MAX_HEAD // 6))


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n folded-first: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        # what h11 refuses too: a status below 100, framing headers other than h11's
        b"HTTP/1.1 099 Odd\r\n\r\n",
        b"HTTP/1.1 000 Odd\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: " + b"1" * 21 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\nContent-Length: x\r\n\r\n",  # checked without a body
        b"HTTP/1.1 100 Continue\r\nTransfer-Encoding: gzip\r\n\r\n",
    ],
)
def test_a_malformed_head_is_a_remote_protocol_error(raw: bytes) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        parse_head(raw)


@pytest.mark.parametrize(
    ("method", "raw", "expected"),
    [
        (b"GET", b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", (BODY_LENGTH, 12)),
        (b"GET", b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", (BODY_LENGTH, 5)),
        (b"GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n", (BODY_CHUNKED, 0)),
        (
            b"GET",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n",
            (BODY_CHUNKED, 0),
        ),
        (b"GET", b"HTTP/1.1 200 OK\r\n\r\n", (BODY_UNTIL_CLOSE, 0)),
        (b"HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", (BODY_NONE, 0)),
        (b"GET", b"HTTP/1.1 204 No Content\r\nContent-Length: 12\r\n\r\n", (BODY_NONE, 0)),
        (b"GET", b"HTTP/1.1 304 Not Modified\r\n\r\n", (BODY_NONE, 0)),
        (b"GET", b"HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", (BODY_LENGTH, 0)),
        (
            b"GET",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
            (BODY_LENGTH, 3),
        ),
    ],
)
def test_the_body_framing_follows_rfc_9112(
    method: bytes, raw: bytes, expected: tuple[int, int]
) -> None:
    assert body_framing(method, parse_head(raw)) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
    ],
)
def test_a_bad_body_framing_is_a_remote_protocol_error(raw: bytes) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        body_framing(b"GET", parse_head(raw))


def test_only_an_http_1_1_answer_without_connection_close_keeps_alive() -> None:
    assert keeps_alive(parse_head(b"HTTP/1.1 200 OK\r\n\r\n"))
    assert not keeps_alive(parse_head(b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\n\r\n"))
    assert not keeps_alive(parse_head(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n"))


CHUNKED = b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"


@pytest.mark.parametrize("step", [1, 2, 3, 7, len(CHUNKED)])
def test_a_chunked_body_is_decoded_whatever_the_pieces(step: int) -> None:
    reader = ChunkedReader()
    data = CHUNKED + b"NEXT"
    body = b""
    for offset in range(0, len(data), step):
        body += b"".join(reader.feed(data[offset : offset + step]))
        if reader.done:
            rest = data[offset + step :]
            break
    assert body == b"hello world"
    assert reader.done
    assert reader.extra + rest == b"NEXT"


def test_a_chunked_body_with_lf_line_ends_and_no_trailers_is_decoded() -> None:
    reader = ChunkedReader()
    assert b"".join(reader.feed(b"3\nabc\n0\n\n")) == b"abc"
    assert reader.done
    assert reader.extra == b""


@pytest.mark.parametrize(
    "data", [b"zz\r\nabc\r\n", b"3\r\nabcX\r\n", b"0\r\nnot a trailer\r\n\r\n", b"3 4\r\n"]
)
def test_a_malformed_chunk_is_a_remote_protocol_error(data: bytes) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        ChunkedReader().feed(data)


# -- every framing case over real sockets, sync and async ---------------------------------

_CHUNKED_ANSWER = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKED


def _gets(kind: str, url: str, count: int, method: str = "GET") -> list[Any]:
    """`count` requests in a row on one client on the facade's network transport: each
    a (status, body) or the exception raised."""
    results: list[Any] = []
    if kind == "sync":
        with httpx.Client(transport=network_transport()) as client:
            for _ in range(count):
                try:
                    response = client.request(method, url)
                    results.append((response.status_code, response.content))
                except httpx.HTTPError as exc:
                    results.append(exc)
        return results

    async def run() -> None:
        async with httpx.AsyncClient(transport=async_network_transport()) as client:
            for _ in range(count):
                try:
                    response = await client.request(method, url)
                    results.append((response.status_code, response.content))
                except httpx.HTTPError as exc:
                    results.append(exc)

    asyncio.run(run())
    return results


def _script(first: Answer, then: Answer) -> Any:
    """A handler answering the first request with `first`, every later one with `then`."""
    answers = [first]

    def script(seen: Seen) -> Answer:
        return answers.pop() if answers else then

    return script


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("first", "body"),
    [
        (http_response(200, b"first"), b"first"),
        (_CHUNKED_ANSWER, b"hello world"),
        (http_response(204, b"", content_length=False), b""),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + http_response(200, b"first"), b"first"),
    ],
    ids=["content-length", "chunked", "no-body", "interim-100"],
)
def test_a_kept_alive_connection_is_reused_after_each_framing(
    kind: str, first: bytes, body: bytes
) -> None:
    # Connection n gets answer n: "second" would mean a new connection.
    with ScriptedServer([first, first, http_response(200, b"second")], keep_alive=True) as server:
        results = _gets(kind, server.url + "em/files/list", 3)
    status = 204 if body == b"" else 200
    assert results == [(status, body)] * 3
    assert len(server.seen) == 3


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "first",
    [
        http_response(200, b"first", content_length=False),  # up to the end of the connection
        http_response(200, b"first", headers={"Connection": "close"}),
        http_response(200, b"first") + b"EXTRA",  # bytes after the answer's end
        b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
    ],
    ids=["until-close", "connection-close", "bytes-after", "http-1.0"],
)
def test_a_connection_that_cannot_carry_another_answer_is_not_reused(
    kind: str, first: bytes
) -> None:
    # Connection n gets answer n, and stays open: reused, the first would answer "first"
    # again (or, after bytes past its end, something unreadable). An answer read up to the
    # end of the connection needs that end: the server closes it.
    script: Any = [first, http_response(200, b"second")]
    if b"Content-Length" not in first:
        script = _script(Answer(first, close=True), Answer(http_response(200, b"second")))
    with ScriptedServer(script, keep_alive=True) as server:
        results = _gets(kind, server.url + "em/files/list", 3)
    assert results == [(200, b"first"), (200, b"second"), (200, b"second")]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("first", "message"),
    [
        (http_response(200, b"abc", headers={"Content-Length": "100"}), "received 3 bytes"),
        (_CHUNKED_ANSWER[:-20], "incomplete chunked read"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "within an answer's head"),
        (b"", "Server disconnected without sending a response"),
    ],
    ids=["content-length", "chunked", "head", "nothing"],
)
def test_an_early_close_is_a_remote_protocol_error_and_the_next_call_reconnects(
    kind: str, first: bytes, message: str
) -> None:
    script = _script(Answer(first, close=True), Answer(http_response(200, b"second")))
    with ScriptedServer(script, keep_alive=True) as server:
        results = _gets(kind, server.url + "em/files/list", 2)
    assert isinstance(results[0], httpx.RemoteProtocolError)
    assert message in str(results[0])
    assert results[1] == (200, b"second")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
            "bad Content-Length",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nhello", "bad Content-Length"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 5\r\n\r\nhello",
            "only chunked",
        ),
        (b"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n", "status 100 to 999"),
    ],
    ids=["two-lengths", "empty-length", "empty-coding", "status-099"],
)
def test_a_malformed_answer_is_a_remote_protocol_error(kind: str, bad: bytes, message: str) -> None:
    # Connection n gets answer n: a connection reused would answer `bad` again.
    with ScriptedServer([bad, http_response(200, b"second")], keep_alive=True) as server:
        results = _gets(kind, server.url + "em/files/list", 2)
    assert isinstance(results[0], httpx.RemoteProtocolError)
    assert message in str(results[0])
    assert results[1] == (200, b"second")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("head", "body", "close"),
    [
        (b"HTTP/1.0 200 OK\r\n\r\n", b"old", True),
        (b"HTTP/1.1 200 OK\r\n\r\n", b"new", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", b"abc", False),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"3\r\nabc\r\n0\r\n\r\n", False),
    ],
    ids=["until-close-1.0", "until-close-1.1", "content-length", "chunked"],
)
def test_a_body_after_a_head_that_came_alone_is_read(
    kind: str, head: bytes, body: bytes, close: bool
) -> None:
    # The server sends the body only once the client has read the head (the response is
    # out): the head came in a read of its own, with no body bytes after it.
    head_read = threading.Event()

    def script(seen: Seen) -> Answer:
        def pieces() -> Any:
            yield head
            assert head_read.wait(30), "the client never read the head"
            yield body

        return Answer(pieces(), close=close)

    expected = b"abc" if body.startswith(b"3\r\n") else body
    with ScriptedServer(script, keep_alive=True) as server:
        url = server.url + "em/nodes/status"
        if kind == "sync":
            with (
                httpx.Client(transport=network_transport()) as client,
                client.stream("GET", url) as response,
            ):
                head_read.set()
                got = response.read()
        else:

            async def run() -> bytes:
                async with (
                    httpx.AsyncClient(transport=async_network_transport()) as client,
                    client.stream("GET", url) as response,
                ):
                    head_read.set()
                    return await response.aread()

            got = asyncio.run(run())
    assert got == expected
    assert server.errors == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("expiry", "answers"), [(0.0, [b"first", b"second"]), (None, [b"first"] * 2)]
)
def test_a_connection_idle_past_the_keep_alive_expiry_is_not_reused(
    kind: str, expiry: float | None, answers: list[bytes]
) -> None:
    # httpx's pool's rule (`Limits.keepalive_expiry`, 5 s by default): a server closing at
    # its own idle timer may do so just as a request on the old connection arrives, and a
    # POST cannot be sent again. Expiry 0: every idle connection is past it; None: never.
    # Connection n gets answer n: "second" means a new connection.
    limits = httpx.Limits(keepalive_expiry=expiry)
    with ScriptedServer(
        [http_response(200, b"first"), http_response(200, b"second")], keep_alive=True
    ) as server:
        url = server.url + "em/files/delete"
        if kind == "sync":
            sync = LeanTransport(limits=limits)
            sync.lean_backend = sync._pool._network_backend
            with httpx.Client(transport=sync) as client:
                got = [client.post(url).content for _ in range(2)]
        else:

            async def run() -> list[bytes]:
                transport = AsyncLeanTransport(limits=limits)
                transport.lean_backend = transport._pool._network_backend
                async with httpx.AsyncClient(transport=transport) as client:
                    return [(await client.post(url)).content for _ in range(2)]

            got = asyncio.run(run())
    assert got == answers
    assert len(server.seen) == 2


# -- which calls take the lean path ----------------------------------------------------------


def _pooled(transport: Any) -> int:
    return len(transport._pool.connections)


@pytest.mark.parametrize("kind", KINDS)
def test_the_facade_s_small_calls_take_the_lean_path_and_transfers_httpx_s(kind: str) -> None:
    listing = json_response(200, {"message": "ok", "data": []})

    def script(seen: Seen) -> Answer:
        if seen.path.startswith("/auth/"):
            return token_answer(seen)
        if seen.path.startswith("/em/files/downlink"):
            return Answer(http_response(200, b"file bytes", content_type="text/plain"))
        return Answer(listing)

    with ScriptedServer(script, keep_alive=True) as server:
        if kind == "sync":
            with EMClient(server.url, "u", "pw") as em:
                assert em.files_list() == []
                lean_only = _pooled(em._transport.inner)
                assert em._transport.inner._idle  # kept alive for the next call
                em.get_token()
                assert em.files_list() == []
                downlink = em._http.get("em/files/downlink", params={"filepath": "a"})
                assert downlink.content == b"file bytes"
                after = _pooled(em._transport.inner)
        else:

            async def run() -> tuple[int, int]:
                async with AsyncEMClient(server.url, "u", "pw") as em:
                    assert await em.files_list() == []
                    lean_only = _pooled(em._transport.inner)
                    assert em._transport.inner._idle
                    downlink = await em._http.get("em/files/downlink", params={"filepath": "a"})
                    assert downlink.content == b"file bytes"
                    return lean_only, _pooled(em._transport.inner)

            lean_only, after = asyncio.run(run())
    assert lean_only == 0  # the login and the listing never used httpx's pool
    assert after == 1  # the downlink did


@pytest.mark.parametrize("kind", KINDS)
def test_a_header_that_would_split_the_request_is_refused_before_sending(kind: str) -> None:
    with ScriptedServer([http_response(200, b"ok")], keep_alive=True) as server:
        if kind == "sync":
            with (
                httpx.Client(transport=network_transport()) as client,
                pytest.raises(httpx.LocalProtocolError),
            ):
                client.get(server.url, headers={"X-A": "1\r\nX-Injected: 2"})
        else:

            async def run() -> None:
                async with httpx.AsyncClient(transport=async_network_transport()) as client:
                    await client.get(server.url, headers={"X-A": "1\r\nX-Injected: 2"})

            with pytest.raises(httpx.LocalProtocolError):
                asyncio.run(run())
    assert server.seen == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_method_that_would_split_the_request_is_refused_before_sending(kind: str) -> None:
    method = "GET /admin HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET"
    with ScriptedServer([http_response(200, b"ok")], keep_alive=True) as server:
        if kind == "sync":
            with (
                httpx.Client(transport=network_transport()) as client,
                pytest.raises(httpx.LocalProtocolError, match="Illegal method characters"),
            ):
                client.request(method, server.url + "em/files/list")
        else:

            async def run() -> None:
                async with httpx.AsyncClient(transport=async_network_transport()) as client:
                    await client.request(method, server.url + "em/files/list")

            with pytest.raises(httpx.LocalProtocolError, match="Illegal method characters"):
                asyncio.run(run())
    assert server.seen == []


class _Redirect(httpcore.NetworkBackend):
    """A backend that records the host names it is asked for and connects to 127.0.0.1."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hosts: list[str] = []

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.hosts.append(host)
        return self.inner.connect_tcp("127.0.0.1", port, *args, **kwargs)


class _AsyncRedirect(httpcore.AsyncNetworkBackend):
    """`_Redirect`'s async twin."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hosts: list[str] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.hosts.append(host)
        return await self.inner.connect_tcp("127.0.0.1", port, *args, **kwargs)


@pytest.mark.parametrize("kind", KINDS)
def test_an_idn_host_is_reached_by_its_idna_2008_name_as_httpx_s_pool_does(kind: str) -> None:
    # "straße" is "xn--strae-oqa" in IDNA 2008 (httpx's Host header and pool) but "strasse"
    # in IDNA 2003 (the resolver's encoding of a unicode name): another host. The transfer
    # after the small call takes its connection only under the same name; a new one would
    # need DNS (none here).
    answers = [http_response(200, b"0"), http_response(200, b"1")]
    with ScriptedServer(answers, keep_alive=True) as server:
        base = server.url.replace("127.0.0.1", "straße.test")
        paths = ["em/files/list", "em/files/downlink"]
        if kind == "sync":
            transport = network_transport()
            redirect = _Redirect(transport.lean_backend)
            transport.lean_backend = redirect
            with httpx.Client(transport=transport, base_url=base) as client:
                bodies = [client.get(path).content for path in paths]
        else:
            async_transport = async_network_transport()
            redirect = _AsyncRedirect(async_transport.lean_backend)
            async_transport.lean_backend = redirect

            async def run() -> list[bytes]:
                async with httpx.AsyncClient(transport=async_transport, base_url=base) as client:
                    return [(await client.get(path)).content for path in paths]

            bodies = asyncio.run(run())
    assert redirect.hosts == ["xn--strae-oqa.test"]
    assert bodies == [b"0", b"0"]  # one connection, handed from the small call to the transfer
    assert server.seen[0].headers["host"].startswith("xn--strae-oqa.test:")


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_in_memory_goes_with_its_head_and_a_streamed_one_through_httpx(kind: str) -> None:
    with ScriptedServer([http_response(200, b"ok")], keep_alive=True) as server:
        if kind == "sync":
            transport = network_transport()
            with httpx.Client(transport=transport) as client:
                assert client.post(server.url, content=b"in memory").content == b"ok"
                lean_only = _pooled(transport)
                assert client.post(server.url, content=iter([b"stre", b"amed"])).content == b"ok"
                after = _pooled(transport)
        else:

            async def streamed() -> Any:
                yield b"stre"
                yield b"amed"

            async def run() -> tuple[int, int]:
                transport = async_network_transport()
                async with httpx.AsyncClient(transport=transport) as client:
                    assert (await client.post(server.url, content=b"in memory")).content == b"ok"
                    lean_only = _pooled(transport)
                    assert (await client.post(server.url, content=streamed())).content == b"ok"
                    return lean_only, _pooled(transport)

            lean_only, after = asyncio.run(run())
    assert [seen.body for seen in server.seen] == [b"in memory", b"streamed"]
    assert server.seen[0].headers["content-length"] == "9"
    assert (lean_only, after) == (0, 1)  # the streamed body went through httpx's pool


@pytest.mark.parametrize("kind", KINDS)
def test_a_transfer_takes_the_small_calls_connection_and_they_follow_it(kind: str) -> None:
    # Connection n answers "n" to everything: one connection, or a round trip more per
    # switch between small calls and transfers on a far link.
    answers = [http_response(200, b"0"), http_response(200, b"1"), http_response(200, b"2")]
    paths = ["em/files/list", "em/files/downlink", "em/files/list", "em/files/downlink"]
    with ScriptedServer(answers, keep_alive=True) as server:
        if kind == "sync":
            transport = network_transport()
            with httpx.Client(transport=transport, base_url=server.url) as client:
                bodies = [client.get(path).content for path in paths]
                pooled, idle = _pooled(transport), len(transport._idle)
        else:

            async def run() -> tuple[list[bytes], int, int]:
                transport = async_network_transport()
                async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
                    bodies = [(await client.get(path)).content for path in paths]
                    return bodies, _pooled(transport), len(transport._idle)

            bodies, pooled, idle = asyncio.run(run())
    assert bodies == [b"0"] * 4
    assert (pooled, idle) == (1, 0)  # the pool holds it now; small calls went through it
