"""The bench's emulated link (`tests/bench/linkproxy.py`): it delays, it caps, it forwards
bytes exactly, and it closes both sides. Real sockets on 127.0.0.1; about 2 s in all."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from linkproxy import LinkProxy, TokenBucket


class Upstream:
    """A TCP server on 127.0.0.1: a connection whose first byte is `E` echoes; others record.

    The mode is the connection's, chosen by its first byte only: a recorded payload may
    contain `E` anywhere, even at the start of a later read.
    """

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self.closed = threading.Event()
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        got = bytearray()
        echo: bool | None = None
        try:
            while data := conn.recv(65536):
                if echo is None:
                    echo = data[:1] == b"E"  # echo mode: one-byte pings
                if echo:
                    conn.sendall(data)
                    continue
                got += data
        except OSError:
            pass
        self.received.append(bytes(got))
        self.closed.set()
        conn.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


def connect(proxy: LinkProxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def test_a_round_trip_takes_the_rtt(upstream: Upstream) -> None:
    with LinkProxy(("127.0.0.1", upstream.port), rtt_ms=60, mbit=0) as proxy:
        started = time.perf_counter()
        sock = connect(proxy)
        sock.sendall(b"E")
        assert sock.recv(1) == b"E"
        first = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(3):
            sock.sendall(b"E")
            assert sock.recv(1) == b"E"
        per_round = (time.perf_counter() - started) / 3
        sock.close()
    # 30 ms each way: a round trip can't be faster than 60 ms; on a new connection, the
    # handshake's round trip comes first.
    assert per_round >= 0.058
    assert first >= 0.118


def test_bytes_arrive_exactly_and_at_the_capped_rate(upstream: Upstream) -> None:
    payload = os.urandom(1_000_000)
    with LinkProxy(("127.0.0.1", upstream.port), rtt_ms=0, mbit=8) as proxy:  # 1 MB/s
        sock = connect(proxy)
        started = time.perf_counter()
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        assert upstream.closed.wait(10)
        elapsed = time.perf_counter() - started
        sock.close()
    assert hashlib.sha256(upstream.received[0]).digest() == hashlib.sha256(payload).digest()
    # 1 MB at 1 MB/s (less the 16 KiB burst): it can't have passed in less than 0.95 s.
    assert elapsed >= 0.95


def test_the_bucket_releases_bytes_at_its_rate() -> None:
    bucket = TokenBucket(rate=1000, burst=100)
    now = time.monotonic()
    assert bucket.release(100, now) == now  # the burst passes at once
    assert bucket.release(500, now) == pytest.approx(now + 0.5)
    assert bucket.release(500, now) == pytest.approx(now + 1.0)  # queued behind the first
    assert TokenBucket(rate=0).release(10**9, now) == now  # no cap


def test_a_client_closing_closes_the_upstream_side(upstream: Upstream) -> None:
    with LinkProxy(("127.0.0.1", upstream.port), rtt_ms=10, mbit=0) as proxy:
        sock = connect(proxy)
        sock.sendall(b"hello")
        sock.close()
        assert upstream.closed.wait(5)
        assert upstream.received == [b"hello"]
        deadline = time.monotonic() + 5
        while proxy.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proxy.open_connections == 0  # both of its sockets closed, its threads ended


def test_an_upstream_closing_closes_the_client_side(upstream: Upstream) -> None:
    with LinkProxy(("127.0.0.1", upstream.port), rtt_ms=10, mbit=0) as proxy:
        sock = connect(proxy)
        sock.sendall(b"E")
        assert sock.recv(1) == b"E"
        deadline = time.monotonic() + 5
        while not upstream.accepted and time.monotonic() < deadline:
            time.sleep(0.01)
        upstream.accepted[0].shutdown(socket.SHUT_RDWR)
        sock.settimeout(5)
        assert sock.recv(1) == b""  # end of stream, not a hang
        sock.close()


def test_a_proxy_without_its_target_drops_the_client() -> None:
    unused = socket.create_server(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()
    with LinkProxy(("127.0.0.1", port), rtt_ms=0, mbit=0) as proxy:
        sock = connect(proxy)
        sock.settimeout(5)
        data = b""
        with contextlib.suppress(ConnectionResetError):  # a reset or an end: dropped either way
            data = sock.recv(1)  # a hang would time out and fail
        assert data == b""
        sock.close()
