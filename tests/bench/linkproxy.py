"""An emulated network link on loopback: a TCP proxy that adds delay and caps bandwidth.

The kernel here has no `netem`, so the bench's link rows reach the emulator through this
proxy: `python linkproxy.py --target 127.0.0.1:PORT --rtt-ms 20 --mbit 50` listens on a free
port of 127.0.0.1 (printed as `port N`) and forwards every connection to the target.

Each direction of each connection is one pipe of two threads:

- the **reader** takes at most 16 KiB at a time from its socket and stamps the chunk with
  the time it leaves the link: a **token bucket** (rate `mbit`, burst 16 KiB, one bucket per
  direction of the link, shared by all connections as on one real link) says when the
  chunk's bytes have passed, and the one-way delay (`rtt_ms / 2`) is added to that;
- the **writer** sleeps until that time and writes the chunk to the other socket.

A new connection pays one RTT before its first byte travels: the kernel completes the
client's TCP handshake with the proxy on loopback at once, so the proxy holds the client's
first bytes until one RTT after it accepted the connection (a real handshake's SYN and
SYN-ACK), then delays them like any other.

The two are separated by a queue of at most `QUEUE_BYTES` (the link's buffer): when it is
full the reader stops reading, so TCP's flow control reaches the sender as on a slow link.
Chunks are delayed in order and the delay does not add up (the writer sleeps until an
absolute time). An end of stream travels like a chunk (after the same delay) and becomes a
`shutdown(SHUT_WR)` of the other socket; an error on either socket closes both at once;
when both directions have ended, both sockets are closed.

It terminates TCP on each side (like any user-space proxy): slow start, congestion window
and ACK clocking of the real path are not emulated, only delay and rate. Standard library
only; `LinkProxy` is also used in-process by its unit test.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import socket
import sys
import threading
import time
from collections.abc import Sequence

__all__ = ["LinkProxy", "TokenBucket", "main"]

#: Largest chunk read, queued and released at once (2.6 ms of a 50 Mbit/s link).
CHUNK = 16 * 1024
#: Most bytes queued in one direction of one connection before the reader waits.
QUEUE_BYTES = 512 * 1024


class TokenBucket:
    """When bytes may leave a link of `rate` bytes per second with a burst of `burst` bytes.

    Kept as "virtual time" (the GCRA form of a token bucket): `release(n)` reserves `n`
    bytes and returns the moment they have passed, without sleeping; the caller waits.

    Args:
        rate: Bytes per second; 0 or less means no cap.
        burst: Bytes that may pass at once after an idle spell.
    """

    def __init__(self, rate: float, burst: int = CHUNK) -> None:
        self.rate = rate
        self.burst = burst
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = time.monotonic()

    def release(self, size: int, now: float | None = None) -> float:
        """Reserve `size` bytes; the `time.monotonic()` moment they have all passed."""
        if now is None:
            now = time.monotonic()
        if self.rate <= 0:
            return now
        with self._lock:
            elapsed = max(0.0, now - self._last)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._last = max(self._last, now)
            self._tokens -= size
            if self._tokens >= 0:
                return now
            return now + -self._tokens / self.rate


class _Pipe:
    """One direction of one connection: a reader thread, a queue, a writer thread."""

    def __init__(
        self, conn: _Connection, src: socket.socket, dst: socket.socket, up: bool, not_before: float
    ) -> None:
        self.conn = conn
        #: No byte leaves the link before this moment (the handshake, for the client's side).
        self.not_before = not_before
        self.src = src
        self.dst = dst
        self.bucket = conn.proxy.up if up else conn.proxy.down
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.queued = 0
        self.cond = threading.Condition()
        self.threads = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._write, daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _read(self) -> None:
        delay = self.conn.proxy.delay
        try:
            while True:
                with self.cond:
                    while self.queued >= QUEUE_BYTES and not self.conn.broken:
                        self.cond.wait()
                    if self.conn.broken:
                        return
                data = self.src.recv(CHUNK)
                due = max(self.bucket.release(len(data)), self.not_before) + delay
                with self.cond:
                    self.queue.append((due, data))
                    self.queued += len(data)
                    self.cond.notify_all()
                if not data:
                    return
        except OSError:
            self.conn.break_both()

    def _write(self) -> None:
        try:
            while True:
                with self.cond:
                    while not self.queue and not self.conn.broken:
                        self.cond.wait()
                    if self.conn.broken:
                        return
                    due, data = self.queue.popleft()
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                if not data:
                    with contextlib.suppress(OSError):
                        self.dst.shutdown(socket.SHUT_WR)
                    return
                self.dst.sendall(data)
                with self.cond:
                    self.queued -= len(data)
                    self.cond.notify_all()
                self.conn.proxy.count(len(data))
        except OSError:
            self.conn.break_both()
        finally:
            self.conn.pipe_done()

    def wake(self) -> None:
        with self.cond:
            self.cond.notify_all()


class _Connection:
    """A client socket, its upstream socket, and a pipe each way."""

    def __init__(self, proxy: LinkProxy, client: socket.socket, server: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.server = server
        self.broken = False
        self._lock = threading.Lock()
        self._open_pipes = 2
        established = time.monotonic() + 2 * proxy.delay  # SYN out, SYN-ACK back
        self.pipes = [
            _Pipe(self, client, server, up=True, not_before=established),
            _Pipe(self, server, client, up=False, not_before=0.0),
        ]

    def start(self) -> None:
        for pipe in self.pipes:
            pipe.start()

    def break_both(self) -> None:
        """An error on one side: drop both sockets now (the other side sees it at once)."""
        with self._lock:
            if self.broken:
                return
            self.broken = True
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for pipe in self.pipes:
            pipe.wake()
        self.proxy.forget(self)

    def pipe_done(self) -> None:
        """A writer ended; when both have, close both sockets."""
        with self._lock:
            self._open_pipes -= 1
            last = self._open_pipes == 0
        if last:
            self.close()

    def close(self) -> None:
        self.broken = True
        for pipe in self.pipes:
            pipe.wake()
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.close()
        self.proxy.forget(self)


class LinkProxy:
    """A delay-and-bandwidth TCP proxy on 127.0.0.1 in front of `target`.

    Args:
        target: `(host, port)` every connection is forwarded to.
        rtt_ms: Round-trip time added: each direction is delayed by half of it.
        mbit: Bandwidth cap of each direction in Mbit/s (10^6 bits); 0 means none.
        port: Port to listen on (0: a free one; see `port`).

    Use as a context manager, or `start()` / `close()`.
    """

    def __init__(self, target: tuple[str, int], rtt_ms: float, mbit: float, port: int = 0) -> None:
        self.target = target
        self.delay = rtt_ms / 2000
        rate = mbit * 1e6 / 8
        self.up = TokenBucket(rate)
        self.down = TokenBucket(rate)
        self.forwarded = 0
        self._count_lock = threading.Lock()
        self._connections: set[_Connection] = set()
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._closed = False

    def start(self) -> LinkProxy:
        self._thread.start()
        return self

    def __enter__(self) -> LinkProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def open_connections(self) -> int:
        """Connections not yet closed on both sides."""
        with self._count_lock:
            return len(self._connections)

    def count(self, size: int) -> None:
        with self._count_lock:
            self.forwarded += size

    def forget(self, conn: _Connection) -> None:
        with self._count_lock:
            self._connections.discard(conn)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(self, client, server)
            with self._count_lock:
                self._connections.add(conn)
            conn.start()

    def close(self) -> None:
        """Stop listening and drop every open connection."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._count_lock:
            connections = list(self._connections)
        for conn in connections:
            conn.break_both()
            conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until killed; print `port N` once listening."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--rtt-ms", type=float, default=20.0, help="round-trip time added")
    parser.add_argument("--mbit", type=float, default=50.0, help="cap per direction, Mbit/s")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: free)")
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    proxy = LinkProxy((host, int(port)), args.rtt_ms, args.mbit, args.port).start()
    print(f"link proxy: rtt {args.rtt_ms} ms, {args.mbit} Mbit/s; port {proxy.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        proxy.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
