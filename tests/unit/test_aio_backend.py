"""`AsyncioSocketBackend` (the async client's socket reads) over real sockets on 127.0.0.1:
what it reads and writes, the end of a stream, a cut connection, read and write timeouts,
cancellation mid-read, socket options, TLS through httpcore's own stream, and the async
transport of `AsyncEMClient` built on it (a scripted server for what a real one won't do).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from dphi_em._aio_backend import AsyncioSocketBackend, AsyncioSocketStream
from dphi_em._transports._bounds import READ_SIZE
from dphi_em._transports._network import async_network_transport
from support.server import RESET, ScriptedServer, Seen, http_response

MIB = 1024 * 1024


class Peer:
    """A listening socket on 127.0.0.1; `serve(fn)` runs `fn(conn)` for the next connection
    in a thread (the connection is closed after it, unless `fn` returned "keep")."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.conns: list[socket.socket] = []
        self.errors: list[BaseException] = []

    def serve(self, fn: Callable[[socket.socket], Any]) -> None:
        def run() -> None:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # close() came first: no client connected (EBADF on 3.13)
                return
            self.conns.append(conn)
            try:
                fn(conn)
            except OSError:
                pass
            except BaseException as exc:
                self.errors.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=10)


@pytest.fixture
def peer() -> Iterator[Peer]:
    server = Peer()
    yield server
    server.close()
    assert server.errors == []


def _reset(conn: socket.socket) -> None:
    """Close `conn` with a TCP reset (RST)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


async def _connect(port: int, **kwargs: Any) -> httpcore.AsyncNetworkStream:
    return await AsyncioSocketBackend().connect_tcp("127.0.0.1", port, timeout=10, **kwargs)


def test_reads_what_the_peer_sent_in_pieces_up_to_the_size_asked_then_the_end(
    peer: Peer,
) -> None:
    payload = os.urandom(5 * MIB + 123)
    received = threading.Event()

    def send(conn: socket.socket) -> None:
        request = conn.recv(100)
        assert request == b"hello"
        received.set()
        conn.sendall(payload)
        conn.shutdown(socket.SHUT_WR)

    peer.serve(send)

    async def run() -> list[bytes]:
        stream = await _connect(peer.port)
        assert isinstance(stream, AsyncioSocketStream)
        await stream.write(b"hello", timeout=10)
        pieces = []
        while piece := await stream.read(READ_SIZE, timeout=10):
            pieces.append(piece)
        assert await stream.read(READ_SIZE, timeout=10) == b""  # the end stays the end
        await stream.aclose()
        return pieces

    pieces = asyncio.run(run())
    assert received.is_set()
    assert b"".join(pieces) == payload
    assert max(len(p) for p in pieces) <= READ_SIZE


def test_a_read_waits_no_longer_than_its_timeout(peer: Peer) -> None:
    silent = threading.Event()
    peer.serve(lambda conn: silent.wait(10))  # accepts, never sends

    async def run() -> None:
        stream = await _connect(peer.port)
        try:
            with pytest.raises(httpcore.ReadTimeout):
                await stream.read(READ_SIZE, timeout=0.2)
        finally:
            await stream.aclose()
            silent.set()

    asyncio.run(run())


def test_a_connection_reset_mid_body_is_a_read_error(peer: Peer) -> None:
    def half_then_reset(conn: socket.socket) -> None:
        conn.sendall(b"x" * 1000)
        conn.recv(10)  # the client's go-ahead: it read the first bytes
        _reset(conn)

    peer.serve(half_then_reset)

    async def run() -> None:
        stream = await _connect(peer.port)
        got = b""
        while len(got) < 1000:
            got += await stream.read(READ_SIZE, timeout=10)
        await stream.write(b"go", timeout=10)

        async def drain() -> None:
            while await stream.read(READ_SIZE, timeout=10):
                pass

        with pytest.raises(httpcore.ReadError):
            await drain()
        await stream.aclose()

    asyncio.run(run())


def test_writing_to_a_reset_connection_is_a_write_error(peer: Peer) -> None:
    reset = threading.Event()

    def reset_at_once(conn: socket.socket) -> None:
        conn.recv(1)  # the client is connected
        _reset(conn)
        reset.set()

    peer.serve(reset_at_once)

    async def run() -> None:
        stream = await _connect(peer.port)
        await stream.write(b"!", timeout=10)
        await asyncio.to_thread(reset.wait, 10)

        async def keep_writing() -> None:
            for _ in range(100):  # the first send may still be accepted by the kernel
                await stream.write(b"y" * 65536, timeout=10)

        with pytest.raises(httpcore.WriteError):
            await keep_writing()
        await stream.aclose()

    asyncio.run(run())


def test_a_write_the_peer_does_not_read_waits_no_longer_than_its_timeout(peer: Peer) -> None:
    stop = threading.Event()
    peer.serve(lambda conn: stop.wait(10))  # never reads: the socket buffers fill up

    async def run() -> None:
        stream = await _connect(peer.port)
        try:
            with pytest.raises(httpcore.WriteTimeout):
                await stream.write(b"z" * (256 * MIB), timeout=0.3)
        finally:
            await stream.aclose()
            stop.set()

    asyncio.run(run())


def test_a_read_cancelled_while_waiting_loses_nothing_and_the_stream_goes_on(peer: Peer) -> None:
    go = threading.Event()

    def later(conn: socket.socket) -> None:
        go.wait(10)
        conn.sendall(b"after the cancel")
        conn.shutdown(socket.SHUT_WR)

    peer.serve(later)

    async def run() -> bytes:
        stream = await _connect(peer.port)
        reading = asyncio.create_task(stream.read(READ_SIZE, timeout=None))
        await asyncio.sleep(0.05)  # the read is waiting on the socket
        assert not reading.done()
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        go.set()
        data = b""
        while piece := await stream.read(READ_SIZE, timeout=10):
            data += piece
        await stream.aclose()
        await stream.aclose()  # idempotent
        return data

    assert asyncio.run(run()) == b"after the cancel"


def test_a_read_of_a_closed_stream_is_a_read_error(peer: Peer) -> None:
    peer.serve(lambda conn: conn.recv(1))

    async def run() -> None:
        stream = await _connect(peer.port)
        await stream.aclose()
        assert stream.get_extra_info("is_readable") is True  # nothing more to send on it
        with pytest.raises(httpcore.ReadError):
            await stream.read(READ_SIZE, timeout=1)
        with pytest.raises(httpcore.WriteError):
            await stream.write(b"x", timeout=1)

    asyncio.run(run())


def test_connect_sets_tcp_nodelay_the_callers_options_and_the_local_address(
    peer: Peer,
) -> None:
    peer.serve(lambda conn: conn.recv(1))

    async def run() -> None:
        stream = await _connect(
            peer.port,
            local_address="127.0.0.1",
            socket_options=[(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)],
        )
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", peer.port)
        assert stream.get_extra_info("ssl_object") is None
        await stream.aclose()

    asyncio.run(run())


def test_a_refused_connection_is_a_connect_error() -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    async def run() -> None:
        with pytest.raises(httpcore.ConnectError):
            await AsyncioSocketBackend().connect_tcp("127.0.0.1", port, timeout=10)
        with pytest.raises(httpcore.ConnectError):  # a name, resolved in a thread
            await AsyncioSocketBackend().connect_tcp("localhost", port, timeout=10)

    asyncio.run(run())


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the TLS test")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_start_tls_continues_on_httpcores_own_stream(
    peer: Peer, tls_files: tuple[Path, Path]
) -> None:
    cert, key = tls_files
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    def tls_echo(conn: socket.socket) -> None:
        with server_context.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"secret:" + tls.recv(100))

    peer.serve(tls_echo)

    async def run() -> tuple[bytes, Any]:
        stream = await _connect(peer.port)
        client_context = ssl.create_default_context(cafile=str(cert))
        secure = await stream.start_tls(client_context, server_hostname="127.0.0.1", timeout=10)
        await secure.write(b"hello", timeout=10)
        data = await secure.read(READ_SIZE, timeout=10)
        ssl_object = secure.get_extra_info("ssl_object")
        await secure.aclose()
        await stream.aclose()  # handed over: closing the plain stream does nothing more
        return data, ssl_object

    data, ssl_object = asyncio.run(run())
    assert data == b"secret:hello"
    assert ssl_object is not None


def test_a_failed_tls_handshake_is_a_connect_error(peer: Peer) -> None:
    peer.serve(lambda conn: conn.sendall(b"not TLS at all\r\n\r\n" * 10))

    async def run() -> None:
        stream = await _connect(peer.port)
        with pytest.raises(httpcore.ConnectError):
            await stream.start_tls(ssl.create_default_context(), "127.0.0.1", timeout=10)

    asyncio.run(run())


# -- through httpx: the transport AsyncEMClient uses --------------------------------------


def _inner_stream(response: httpx.Response) -> Any:
    stream = response.extensions["network_stream"]
    return getattr(stream, "_inner", stream)  # under the wide-read wrapper


def test_the_async_transport_reads_through_the_asyncio_socket_backend() -> None:
    body = os.urandom(3 * MIB)
    with ScriptedServer([http_response(200, body)]) as server:

        async def run() -> tuple[bytes, Any]:
            transport = async_network_transport()
            async with (
                httpx.AsyncClient(transport=transport) as client,
                client.stream("GET", server.url) as response,
            ):
                data = b"".join([chunk async for chunk in response.aiter_raw()])
                return data, _inner_stream(response)

        data, stream = asyncio.run(run())
    assert data == body
    assert isinstance(stream, AsyncioSocketStream)


def test_a_body_cut_by_a_reset_is_an_httpx_read_error() -> None:
    head = http_response(200, b"", headers={"Content-Length": str(4 * MIB)})
    with ScriptedServer(lambda seen: [head, b"a" * MIB, RESET]) as server:

        async def run() -> int:
            received = 0
            transport = async_network_transport()
            async with (
                httpx.AsyncClient(transport=transport) as client,
                client.stream("GET", server.url) as response,
            ):
                async for chunk in response.aiter_raw():
                    received += len(chunk)
            return received

        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            asyncio.run(run())


def test_a_stalled_answer_is_an_httpx_read_timeout() -> None:
    stop = threading.Event()

    def stall(seen: Seen) -> Iterator[bytes]:
        yield http_response(200, b"", headers={"Content-Length": "10"})
        stop.wait(10)

    with ScriptedServer(stall) as server:

        async def run() -> None:
            transport = async_network_transport()
            timeout = httpx.Timeout(10, read=0.3)
            async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
                response = await client.get(server.url)
                response.raise_for_status()

        try:
            with pytest.raises(httpx.ReadTimeout):
                asyncio.run(run())
        finally:
            stop.set()
