"""A downlink body read straight from its socket (`_fastbody`), over real sockets.

A small keep-alive HTTP/1.1 server on 127.0.0.1 answers `/auth/` with a token and each
downlink with scripted bytes; it counts connections, so the tests see whether the client
reused its connection. Every framing case, for `EMClient` and `AsyncEMClient`:

- `Content-Length`: the body after the first chunk is read directly (checked with a spy on
  `DirectBody`), the file is byte-exact, and the next calls reuse the connection;
- chunked: the ordinary path, same file, connection reused;
- early close: `IncompleteDownloadError`, every byte that arrived is in the partial file,
  and the next downlink resumes it (`Range`) on a new connection;
- bytes after the body: never taken for the next answer (a new connection);
- a stall: the read timeout fires; the partial file is kept;
- TLS-free plumbing checks: the connection found behind a response is the one that carried
  it, and h11's internals the module relies on are where it expects them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dphi_em import AsyncEMClient, EMClient, EMError, IncompleteDownloadError, _fastbody
from dphi_em._download import PARTIAL_NAME
from dphi_em._fastbody import DirectBody

MIB = 1024 * 1024
CLOSE = b"\x00<close>\x00"

Handler = Callable[[str, dict[str, str]], list[bytes]]


def _token() -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    now = int(time.time())
    payload = b64(json.dumps({"exp": now + 3600, "iat": now}).encode())
    return f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{payload}.{b64(b's')}"


def answer(body: bytes, status: str = "200 OK", **headers: str) -> bytes:
    head = f"HTTP/1.1 {status}\r\n" + "".join(
        f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items()
    )
    return head.encode("latin-1") + b"\r\n" + body


def chunked(body: bytes, size: int = 256 * 1024) -> bytes:
    pieces = [
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    ]
    return b"".join(pieces) + b"0\r\n\r\n"


class KeepAliveServer:
    """Serves many requests per connection; `handler(path, headers)` gives the answer's
    pieces (`CLOSE` closes the connection there). Counts connections."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/"
        self.connections = 0
        self.requests: list[tuple[int, str, dict[str, str]]] = []
        self.release = threading.Event()  # what a stalled answer waits for
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        self.release.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
        self._listener.close()
        for sock in list(self._socks):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=10)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            self._socks.append(sock)
            thread = threading.Thread(
                target=self._serve, args=(sock, self.connections), daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket, number: int) -> None:
        pending = b""
        with sock:
            try:
                while True:
                    while b"\r\n\r\n" not in pending:
                        data = sock.recv(65536)
                        if not data:
                            return
                        pending += data
                    head, _, pending = pending.partition(b"\r\n\r\n")
                    lines = head.decode("latin-1").split("\r\n")
                    headers = {}
                    for line in lines[1:]:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                    length = int(headers.get("content-length", "0"))
                    while len(pending) < length:
                        pending += sock.recv(65536)
                    pending = pending[length:]
                    target = urllib.parse.urlsplit(lines[0].split(" ")[1])
                    path = target.path
                    query = urllib.parse.parse_qs(target.query)
                    self.requests.append((number, path, headers))
                    if path.startswith("/auth"):
                        token = _token()
                        body = json.dumps({"access": token, "refresh": token}).encode()
                        pieces = [answer(body, Content_Length=str(len(body)))]
                    else:
                        pieces = self._handler(query.get("filepath", [path])[0], headers)
                    for piece in pieces:
                        if piece == CLOSE:
                            sock.shutdown(socket.SHUT_WR)
                            return
                        if piece == b"stall":
                            self.release.wait()
                            return
                        sock.sendall(piece)
            except OSError:
                return


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], KeepAliveServer]]:
    servers: list[KeepAliveServer] = []

    def start(handler: Handler) -> KeepAliveServer:
        server = KeepAliveServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The bytes left to read each time a body was taken over (sync or async)."""
    taken: list[int] = []
    copy_to, acopy_to = DirectBody.copy_to, DirectBody.acopy_to

    def sync(self: DirectBody, sink: Any) -> None:
        taken.append(self.remaining)
        copy_to(self, sink)

    async def aio(self: DirectBody, sink: Any) -> None:
        taken.append(self.remaining)
        await acopy_to(self, sink)

    monkeypatch.setattr(DirectBody, "copy_to", sync)
    monkeypatch.setattr(DirectBody, "acopy_to", aio)
    return taken


def run(kind: str, url: str, calls: Callable[[Any], Any], **kwargs: Any) -> Any:
    """`calls(client)` with an `EMClient`, or awaited with an `AsyncEMClient`."""
    kwargs.setdefault("retry", False)
    if kind == "sync":
        with EMClient(url, "u", "p", **kwargs) as em:
            return calls(em)

    async def main() -> Any:
        async with AsyncEMClient(url, "u", "p", **kwargs) as em:
            return await calls(em)

    return asyncio.run(main())


def downlinks(names: list[str], folder: Path, kind: str) -> Callable[[Any], Any]:
    """Downlink each name into `folder`, in order (then return their paths)."""
    if kind == "sync":
        return lambda em: [em.downlink(n, folder, overwrite=True) for n in names]

    async def calls(em: Any) -> list[Path]:
        return [await em.downlink(n, folder, overwrite=True) for n in names]

    return calls


KINDS = ["sync", "async"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_content_length_body_is_read_directly_and_the_connection_reused(
    kind: str, serve: Callable[[Handler], KeepAliveServer], spy: list[int], tmp_path: Path
) -> None:
    tmp_path = tmp_path / "dl"  # (the tests' HOME is under tmp_path too)
    bodies = {f"f{i}.bin": os.urandom(5 * MIB + 12345 * i) for i in range(3)}
    bodies["small.bin"] = b"tiny"

    def handler(filepath: str, headers: dict[str, str]) -> list[bytes]:
        body = bodies[filepath]
        return [answer(body, Content_Length=str(len(body)))]

    server = serve(handler)
    names = ["f0.bin", "f1.bin", "small.bin", "f2.bin"]
    paths = run(kind, server.url, downlinks(names, tmp_path, kind))
    for name, path in zip(names, paths, strict=True):
        assert _digest(path.read_bytes()) == _digest(bodies[name])
    assert server.connections == 1  # the login and every downlink on one connection
    assert len(spy) == 3  # the three big bodies went direct, the 4-byte one had no rest
    assert all(0 < left < 5 * MIB + 30000 for left in spy)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _downlink_error(kind: str, url: str, name: str, folder: Path, **kwargs: Any) -> EMError:
    with pytest.raises(EMError) as caught:
        run(kind, url, downlinks([name], folder, kind), **kwargs)
    return caught.value


@pytest.mark.parametrize("kind", KINDS)
def test_a_chunked_body_goes_the_ordinary_way(
    kind: str, serve: Callable[[Handler], KeepAliveServer], spy: list[int], tmp_path: Path
) -> None:
    tmp_path = tmp_path / "dl"  # (the tests' HOME is under tmp_path too)
    body = os.urandom(3 * MIB + 7)

    def handler(filepath: str, headers: dict[str, str]) -> list[bytes]:
        return [answer(chunked(body), Transfer_Encoding="chunked")]

    server = serve(handler)
    paths = run(kind, server.url, downlinks(["a.bin", "b.bin"], tmp_path, kind))
    assert [_digest(p.read_bytes()) for p in paths] == [_digest(body)] * 2
    assert spy == []
    assert server.connections == 1


@pytest.mark.parametrize("kind", KINDS)
def test_an_early_close_keeps_every_byte_that_arrived_and_the_next_downlink_resumes(
    kind: str, serve: Callable[[Handler], KeepAliveServer], spy: list[int], tmp_path: Path
) -> None:
    tmp_path = tmp_path / "dl"  # (the tests' HOME is under tmp_path too)
    body = os.urandom(5 * MIB)
    cut = 3 * MIB + 1000
    ranges: list[str | None] = []

    def handler(filepath: str, headers: dict[str, str]) -> list[bytes]:
        asked = headers.get("range")
        ranges.append(asked)
        tags = {"ETag": '"v1"', "Accept_Ranges": "bytes"}
        if asked is None:  # the first answer breaks off after `cut` bytes
            return [answer(body[:cut], Content_Length=str(len(body)), **tags), CLOSE]
        start = int(asked.removeprefix("bytes=").rstrip("-"))
        rest = body[start:]
        return [
            answer(
                rest,
                "206 Partial Content",
                Content_Length=str(len(rest)),
                Content_Range=f"bytes {start}-{len(body) - 1}/{len(body)}",
                **tags,
            )
        ]

    server = serve(handler)
    error = _downlink_error(kind, server.url, "big.bin", tmp_path)
    assert isinstance(error, IncompleteDownloadError)
    assert f"after {cut} bytes" in str(error)
    assert len(spy) == 1  # the cut happened on the direct path
    [partial] = [
        p for p in tmp_path.iterdir() if PARTIAL_NAME.match(p.name) and p.suffix == ".part"
    ]
    assert partial.read_bytes() == body[:cut]  # every byte that arrived, none lost
    [path] = run(kind, server.url, downlinks(["big.bin"], tmp_path, kind))
    assert _digest(path.read_bytes()) == _digest(body)
    assert ranges == [None, f"bytes={cut}-"]
    assert server.connections == 2  # the cut connection was not reused
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]


@pytest.mark.parametrize("kind", KINDS)
def test_bytes_after_the_body_are_never_taken_for_the_next_answer(
    kind: str, serve: Callable[[Handler], KeepAliveServer], spy: list[int], tmp_path: Path
) -> None:
    tmp_path = tmp_path / "dl"  # (the tests' HOME is under tmp_path too)
    first, second = os.urandom(2 * MIB + 3), os.urandom(2 * MIB + 5)
    stray = answer(b"stray", Content_Length="5")

    def handler(filepath: str, headers: dict[str, str]) -> list[bytes]:
        if filepath == "one.bin":
            return [answer(first, Content_Length=str(len(first))) + stray]
        return [answer(second, Content_Length=str(len(second)))]

    server = serve(handler)
    one, two = run(kind, server.url, downlinks(["one.bin", "two.bin"], tmp_path, kind))
    assert one.read_bytes() == first
    assert two.read_bytes() == second
    assert len(spy) == 2
    numbers = [number for number, path, _ in server.requests if path.endswith("downlink")]
    assert numbers[0] != numbers[1]  # the connection holding stray bytes was dropped


@pytest.mark.parametrize("kind", KINDS)
def test_a_stalled_body_times_out_and_keeps_its_partial_file(
    kind: str, serve: Callable[[Handler], KeepAliveServer], spy: list[int], tmp_path: Path
) -> None:
    tmp_path = tmp_path / "dl"  # (the tests' HOME is under tmp_path too)
    body = os.urandom(4 * MIB)
    sent = 2 * MIB + 17

    def handler(filepath: str, headers: dict[str, str]) -> list[bytes]:
        head = answer(
            body[:sent], Content_Length=str(len(body)), ETag='"v1"', Accept_Ranges="bytes"
        )
        return [head, b"stall"]

    server = serve(handler)
    started = time.monotonic()
    error = _downlink_error(kind, server.url, "slow.bin", tmp_path, timeout=0.5)
    assert time.monotonic() - started < 30
    assert "tim" in str(error).lower()
    assert len(spy) == 1
    [partial] = [p for p in tmp_path.iterdir() if p.suffix == ".part"]
    assert partial.read_bytes() == body[:sent]


def test_the_connection_found_is_the_one_that_carried_the_response(
    serve: Callable[[Handler], KeepAliveServer],
) -> None:
    """`_h11_connection` walks httpx's and httpcore's streams to the HTTP/1.1 connection
    whose network stream the response names; h11 expects the rest of the body there (this
    fails, rather than the fast path silently going away, if httpx, httpcore or h11 move)."""
    import h11
    from dphi_em._sync._transport import RetryTransport
    from dphi_em._transports._network import network_transport

    body = os.urandom(3 * MIB)
    server = serve(lambda f, h: [answer(body, Content_Length=str(len(body)))])
    with (
        httpx.Client(transport=RetryTransport(network_transport(), None)) as http,
        http.stream("GET", server.url + "em/files/downlink?filepath=x") as response,
    ):
        chunks = response.iter_raw()
        first = next(chunks)
        connection = _fastbody._h11_connection(response)
        assert connection is not None
        assert connection._network_stream is response.extensions["network_stream"]
        assert connection._h11_state.their_state is h11.SEND_BODY
        rest = DirectBody.take_over(response, len(first))
        assert rest is not None
        assert rest.remaining == len(body) - len(first)
        assert DirectBody.take_over(response, len(first) + 1) is None  # counts must agree
        got = bytearray(first)

        class Sink:
            def account(self, chunk: Any) -> None:
                pass

            def store_many(self, chunks: list[Any]) -> None:
                for chunk in chunks:
                    got.extend(chunk)

        rest.copy_to(Sink())
        assert list(chunks) == []  # h11 saw the end of the body
        assert bytes(got) == body
    assert connection._h11_state.our_state is h11.IDLE  # back in the pool, ready for reuse


def test_a_cancelled_async_downlink_keeps_a_true_prefix_and_the_next_one_resumes(
    serve: Callable[[Handler], KeepAliveServer], spy: list[int], tmp_path: Path
) -> None:
    """The task is cancelled while the direct path waits on the socket: the running write
    finishes, what arrived is written after it, in order, and the partial file is kept."""
    tmp_path = tmp_path / "dl"
    body = os.urandom(12 * MIB)
    sent = 6 * MIB + 99
    all_sent = threading.Event()

    def handler(filepath: str, headers: dict[str, str]) -> list[bytes]:
        tags = {"ETag": '"v1"', "Accept_Ranges": "bytes"}
        asked = headers.get("range")
        if asked is None:

            def pieces() -> Iterator[bytes]:
                yield answer(body[:sent], Content_Length=str(len(body)), **tags)
                all_sent.set()
                yield b"stall"

            return list(pieces())
        start = int(asked.removeprefix("bytes=").rstrip("-"))
        rest = body[start:]
        span = f"bytes {start}-{len(body) - 1}/{len(body)}"
        return [answer(rest, "206 Partial Content", Content_Length=str(len(rest)),
                       Content_Range=span, **tags)]  # fmt: skip

    server = serve(handler)

    async def cut() -> None:
        async with AsyncEMClient(server.url, "u", "p", retry=False) as em:
            task = asyncio.ensure_future(em.downlink("big.bin", tmp_path))
            await asyncio.get_running_loop().run_in_executor(None, all_sent.wait)
            while not spy:  # the direct path has taken over (a loop turn at a time)
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(cut())
    [partial] = [p for p in tmp_path.iterdir() if p.suffix == ".part"]
    kept = partial.read_bytes()
    assert 0 < len(kept) <= sent
    assert kept == body[: len(kept)]  # a true prefix: writes finished in order
    [path] = run("async", server.url, downlinks(["big.bin"], tmp_path, "async"))
    assert _digest(path.read_bytes()) == _digest(body)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]


def _endless(block: bytes, count: int) -> Callable[[str, dict[str, str]], Iterator[bytes]]:
    """A handler sending `block` `count` times as one body (until the client goes away)."""

    def handler(filepath: str, headers: dict[str, str]) -> Iterator[bytes]:
        length = str(len(block) * count)
        yield answer(b"", Content_Length=length, ETag='"v1"', Accept_Ranges="bytes")
        for _ in range(count):
            yield block

    return handler


def test_a_cancelled_async_downlink_stops_while_the_body_still_flows(
    serve: Callable[[Handler], KeepAliveServer], spy: list[int], tmp_path: Path
) -> None:
    """Cancelled while bytes keep arriving (the reading thread never waits on the socket):
    it stops at its next read, long before the end, and keeps a true prefix."""
    tmp_path = tmp_path / "dl"
    block, count = os.urandom(MIB), 512
    server = serve(_endless(block, count))  # type: ignore[arg-type]
    flowing = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done >= 4 * MIB:
            flowing.set()

    async def cut() -> None:
        async with AsyncEMClient(server.url, "u", "p", retry=False) as em:
            task = asyncio.ensure_future(em.downlink("big.bin", tmp_path, progress=progress))
            await asyncio.get_running_loop().run_in_executor(None, flowing.wait)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(cut())
    assert spy
    [partial] = [p for p in tmp_path.iterdir() if p.suffix == ".part"]
    kept = partial.read_bytes()
    assert 4 * MIB <= len(kept) < len(block) * count
    whole, rest = divmod(len(kept), MIB)
    assert kept == block * whole + block[:rest]


def test_an_error_of_a_progress_callback_on_the_direct_path_is_raised(
    serve: Callable[[Handler], KeepAliveServer], spy: list[int], tmp_path: Path
) -> None:
    """The reading thread's counts reach the callback on the loop; what it raises ends the
    downlink with that error (not the loop's exception handler), the bytes read kept."""
    tmp_path = tmp_path / "dl"
    block = os.urandom(MIB)
    server = serve(_endless(block, 64))  # type: ignore[arg-type]

    class Enough(Exception):
        pass

    def progress(done: int, total: int | None) -> None:
        if done >= 3 * MIB:
            raise Enough(done)

    async def main() -> None:
        async with AsyncEMClient(server.url, "u", "p", retry=False) as em:
            await em.downlink("big.bin", tmp_path, progress=progress)

    with pytest.raises(Enough):
        asyncio.run(main())
    assert spy
    kept = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.suffix == ".part")
    assert len(kept) < 64 * MIB
    whole, rest = divmod(len(kept), MIB)
    assert kept == block * whole + block[:rest]
