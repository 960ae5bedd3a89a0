"""Raw sockets on both sides of the wire, to tell which side bounds a transfer.

`python sink.py serve FILE`: a minimal HTTP/1.1 server (thread per connection, keep-alive)
that does no work of its own: it drains an uplink body into one reused buffer and answers
what the EM answers, serves FILE for any downlink in 1 MiB writes, and hands out a dummy
JWT at `/auth/`. Clients measured against it show their own ceiling.

`python sink.py up|down|list JSON`: a raw-socket client of the emulator that does no work of
its own: `up` writes a body laid out beforehand (small files in memory, big ones in 1 MiB
writes from one buffer); `down` reads the body into one reused buffer and discards it; `list`
sends the same `GET /em/files/list` again and again on one keep-alive socket. Measured
against the emulator, they show the emulator's own capacity (or per-call floor). They print
a `_child` report.

Standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import socketserver
import sys
import time
from typing import Any
from urllib.parse import quote, urlsplit

from _child import emit, measure

__all__ = ["main"]

_BUFFER = 4 * 1024 * 1024
_CHUNK = 1024 * 1024
_HEAD_LIMIT = 64 * 1024
_BOUNDARY = "dphi-em-bench-0123456789abcdef"


class _Closed(Exception):
    """The peer closed the connection between requests."""


def _send_file_bytes(sock: socket.socket, path: str) -> int:
    """Send a file in 1 MiB writes from one reused buffer; return the bytes sent.

    Not `socket.sendfile`: on loopback it delivers so fast that the receiver's queue fills
    and the kernel spends the receiver's CPU collapsing it (the facade used 1.5-3x the CPU
    per GiB against a `sendfile` source than against the emulator), which is no property of
    a client. A plain write loop is what servers (the emulator included) do.
    """
    sent = 0
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as file:
        while count := file.readinto(buffer):
            sock.sendall(view[:count])
            sent += count
    return sent


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def dummy_jwt(lifetime: float = 3600.0) -> str:
    """An unsigned-looking JWT whose payload says it lives `lifetime` seconds."""
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"exp": now + int(lifetime), "iat": now}).encode())
    return f"{header}.{payload}.{_b64(b'bench')}"


def _read_head(sock: socket.socket, pending: bytearray) -> bytes:
    """Read up to the end of the headers; leave what follows in `pending`."""
    while True:
        end = pending.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(pending[:end])
            del pending[: end + 4]
            return head
        if len(pending) > _HEAD_LIMIT:
            raise ValueError("request head too long")
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed
        pending += chunk


def _drain(sock: socket.socket, pending: bytearray, length: int, buffer: memoryview) -> None:
    """Read and discard `length` body bytes (the first of them may already be in `pending`)."""
    taken = min(length, len(pending))
    del pending[:taken]
    remaining = length - taken
    while remaining:
        got = sock.recv_into(buffer, min(remaining, len(buffer)))
        if not got:
            raise _Closed
        remaining -= got


def _json_response(body: dict[str, Any], *, close: bool) -> bytes:
    data = json.dumps(body).encode()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: {'close' if close else 'keep-alive'}\r\n\r\n"
    )
    return head.encode("ascii") + data


class _Handler(socketserver.BaseRequestHandler):
    server: _SinkServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        pending = bytearray()
        buffer = memoryview(bytearray(_BUFFER))
        try:
            while self._one_request(sock, pending, buffer):
                pass
        except (_Closed, ConnectionError):
            return

    def _one_request(self, sock: socket.socket, pending: bytearray, buffer: memoryview) -> bool:
        head = _read_head(sock, pending)
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            sock.sendall(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n")
            return False
        length = int(headers.get("content-length", "0") or "0")
        if length and headers.get("expect", "").lower() == "100-continue":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        _drain(sock, pending, length, buffer)
        path = urlsplit(target).path.replace("//", "/")
        if method == "POST" and path.startswith("/auth"):
            token = dummy_jwt()
            sock.sendall(_json_response({"access": token, "refresh": token}, close=close))
        elif method == "POST" and path == "/em/files/uplink":
            data = {"file_count": 1, "total_size_kb": length / 1024}
            body = {"message": "Successfully uplinked files", "data": data}
            sock.sendall(_json_response(body, close=close))
        elif method == "GET" and path == "/em/files/downlink":
            self._send_file(sock, close=close)
        else:
            sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        return not close

    def _send_file(self, sock: socket.socket, *, close: bool) -> None:
        path = self.server.file
        size = os.stat(path).st_size
        name = os.path.basename(path)
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {size}\r\n"
            f"Content-Disposition: attachment; filename*=utf-8''{quote(name)}\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
        )
        sock.sendall(head.encode("ascii"))
        if _send_file_bytes(sock, path) != size:
            raise _Closed


class _SinkServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, file: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.file = file


def serve(file: str) -> None:
    """Serve until killed; print `port N` once listening."""
    with _SinkServer(file) as server:
        print(f"port {server.server_address[1]}", flush=True)
        server.serve_forever()


# -- raw clients of the emulator ------------------------------------------------------------


def _connect(url: str) -> tuple[socket.socket, str]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    sock = socket.create_connection((host, parts.port or 80))
    return sock, f"{host}:{parts.port or 80}"


def _read_response(sock: socket.socket, buffer: memoryview) -> tuple[int, dict[str, str], int]:
    """Read a `Connection: close` response; return its status, headers and body size."""
    pending = bytearray()
    while True:
        head = _read_head(sock, pending)
        status = int(head.split(b" ", 2)[1])
        if status != 100:
            break
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = len(pending)
    if status != 200:
        buffer[:body] = pending
    while True:
        got = sock.recv_into(buffer[body:] if status != 200 else buffer)
        if not got:
            break
        body += got
    return status, headers, body


def _part_head(name: str) -> bytes:
    return (
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()


def _connect_nodelay(url: str) -> tuple[socket.socket, str]:
    sock, host = _connect(url)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock, host


def raw_uplink(url: str, token: str, batches: list[list[str]], dest: str) -> dict[str, Any]:
    """Uplink each batch of files under `dest` in one call on its own connection; fail
    unless every answer is 200.

    The bodies are laid out before the timed region: files up to 1 MiB are read into one
    buffer with their part heads; larger ones are sent in 1 MiB writes.
    """
    field = (
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="dest_path"\r\n\r\n{dest}\r\n'
    ).encode()
    plans: list[tuple[list[bytes | tuple[str, int]], int]] = []
    for batch in batches:
        pieces: list[bytes | tuple[str, int]] = []
        pending = bytearray(field)
        for path in batch:
            size = os.stat(path).st_size
            pending += _part_head(os.path.basename(path))
            if size <= _BUFFER // 4:
                with open(path, "rb") as source:
                    pending += source.read()
            else:
                pieces += [bytes(pending), (path, size)]
                pending = bytearray()
            pending += b"\r\n"
        pieces.append(bytes(pending + f"--{_BOUNDARY}--\r\n".encode()))
        length = sum(len(p) if isinstance(p, bytes) else p[1] for p in pieces)
        plans.append((pieces, length))
    buffer = memoryview(bytearray(_BUFFER))

    def send(pieces: list[bytes | tuple[str, int]], length: int) -> None:
        sock, host = _connect_nodelay(url)
        with sock:
            head = (
                f"POST /em/files/uplink HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\n"
                f"Content-Type: multipart/form-data; boundary={_BOUNDARY}\r\n"
                f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
            ).encode()
            sock.sendall(head)
            for piece in pieces:
                if isinstance(piece, bytes):
                    sock.sendall(piece)
                    continue
                if _send_file_bytes(sock, piece[0]) != piece[1]:
                    raise RuntimeError(f"{piece[0]} changed size")
            status, _, body = _read_response(sock, buffer)
        if status != 200:
            raise RuntimeError(f"uplink answered {status}: {bytes(buffer[:body])[:300]!r}")

    def work() -> dict[str, Any]:
        for pieces, length in plans:
            send(pieces, length)
        return {"calls": len(plans)}

    return measure(work)


def raw_downlink(url: str, token: str, filepath: str) -> dict[str, Any]:
    """Downlink `filepath`, discarding the body; fail unless all `Content-Length` arrived."""
    buffer = memoryview(bytearray(_BUFFER))

    def work() -> dict[str, Any]:
        sock, host = _connect_nodelay(url)
        with sock:
            head = (
                f"GET /em/files/downlink?filepath={quote(filepath)} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\nAccept-Encoding: identity\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            sock.sendall(head)
            status, headers, body = _read_response(sock, buffer)
        if status != 200 or str(body) != headers.get("content-length"):
            raise RuntimeError(f"downlink answered {status} with {body} bytes: {headers}")
        return {"bytes": body}

    return measure(work)


def raw_list(url: str, token: str, pod_name: str, calls: int) -> dict[str, Any]:
    """`calls` sequential `GET /em/files/list` on one keep-alive socket: the emulator's floor."""
    buffer = memoryview(bytearray(_BUFFER))

    def work() -> dict[str, Any]:
        sock, host = _connect_nodelay(url)
        request = (
            f"GET /em/files/list?pod_name={quote(pod_name)} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
        pending = bytearray()
        with sock:
            for _ in range(calls):
                sock.sendall(request)
                head = _read_head(sock, pending)
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"list answered {head[:100]!r}")
                match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if match is None:
                    raise RuntimeError("list answered without Content-Length")
                _drain(sock, pending, int(match.group(1)), buffer)
        return {"calls": calls}

    return measure(work)


def main(argv: list[str]) -> int:
    """`serve FILE`, or `up`, `down` or `list` and JSON (url, token; batches and dest,
    filepath, or pod_name and calls)."""
    command = argv[0]
    if command == "serve":
        serve(argv[1])
        return 0
    args = json.loads(argv[1])
    if command == "up":
        emit(raw_uplink(args["url"], args["token"], args["batches"], args["dest"]))
    elif command == "down":
        emit(raw_downlink(args["url"], args["token"], args["filepath"]))
    elif command == "list":
        emit(raw_list(args["url"], args["token"], args["pod_name"], args["calls"]))
    else:
        print(f"unknown command {command!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
