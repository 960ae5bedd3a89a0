"""A small HTTP/1.1 server on 127.0.0.1 that misbehaves on demand, for the fault suite.

Every request it reads is recorded (`server.seen`), then handed to the test's `handler`,
whose `Answer` says which raw bytes to send and whether to close the connection afterwards
(an `Answer` with no bytes and `close=True` drops the connection without answering; `reset`
closes it with a TCP RST). Connections are kept alive otherwise, as a real server does.

```python
def handler(seen: Seen) -> Answer:
    if seen.path.startswith("/auth/"):
        return token_answer()
    return Answer(http_response(423, headers={"Retry-After": "1"}))

with HostileServer(handler) as server:
    EMClient(server.url, "u", "p").files_list()
```
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any

#: The password of the user the hostile server accepts (any user name).
HOSTILE_PASSWORD = "pw-Hostile-5tQ8w"


@dataclasses.dataclass(frozen=True)
class Seen:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass(frozen=True)
class Answer:
    """What to do with one request: send `data`, then close when `close` (RST when `reset`).

    `pace` > 0 sends `data` one byte at a time, that many seconds apart (a trickling server).
    """

    data: bytes = b""
    close: bool = False
    reset: bool = False
    pace: float = 0.0


Handler = Callable[[Seen], Answer]


def http_response(
    status: int,
    body: bytes = b"",
    *,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> bytes:
    """A complete response with an exact Content-Length."""
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Status"
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_response(status: int, data: Any, *, headers: dict[str, str] | None = None) -> bytes:
    return http_response(status, json.dumps(data).encode(), headers=headers)


def fake_jwt(token_type: str, lifetime: float = 3600.0) -> str:
    """A JWT-shaped token (unsigned payload readable, signature fake) with `exp`."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "token_type": token_type,
        "exp": now + round(lifetime),
        "iat": now,
        "jti": uuid.uuid4().hex,
        "user_id": "client1",
    }
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{uuid.uuid4().hex}"


def token_answer(seen: Seen) -> Answer:
    """The answer of a well-behaved `/auth/` (a token pair) or `/auth/refresh` (an access)."""
    if seen.path.rstrip("/") == "/auth/refresh":
        return Answer(json_response(200, {"access": fake_jwt("access")}))
    return Answer(
        json_response(200, {"refresh": fake_jwt("refresh"), "access": fake_jwt("access")})
    )


class HostileServer:
    """An HTTP/1.1 server on 127.0.0.1 and a free port, answering as `handler` says.

    Attributes:
        url: `http://127.0.0.1:PORT/`.
        seen: Every request read, in order (all connections).
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/"

    def requests_to(self, path: str) -> list[Seen]:
        """The requests seen for one path (query string ignored)."""
        with self._lock:
            return [seen for seen in self.seen if seen.path.split("?", 1)[0] == path]

    def __enter__(self) -> HostileServer:
        thread = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopped = True
        # shutdown wakes the thread blocked in accept() (close alone does not, on Linux)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections.append(connection)
            thread = threading.Thread(
                target=self._serve, args=(connection,), name="hostile-conn", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _serve(self, connection: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                request, buffer = _read_request(connection, buffer)
                if request is None:
                    return
                with self._lock:
                    self.seen.append(request)
                answer = self.handler(request)
                if answer.pace > 0:
                    for index in range(len(answer.data)):
                        if self._stopped:
                            return
                        connection.sendall(answer.data[index : index + 1])
                        time.sleep(answer.pace)
                elif answer.data:
                    connection.sendall(answer.data)
                if answer.reset:
                    connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    return
                if answer.close:
                    connection.shutdown(socket.SHUT_RDWR)
                    return
        except OSError:
            return
        finally:
            connection.close()


def _read_request(connection: socket.socket, buffer: bytes) -> tuple[Seen | None, bytes]:
    """The next request on the connection (None when the client closed it)."""
    while b"\r\n\r\n" not in buffer:
        chunk = connection.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body, buffer = _read_chunked(connection, buffer)
    else:
        length = int(headers.get("content-length", "0"))
        while len(buffer) < length:
            chunk = connection.recv(1024 * 1024)
            if not chunk:
                return None, b""
            buffer += chunk
        body, buffer = buffer[:length], buffer[length:]
    return Seen(method, path, headers, body), buffer


def _recv(connection: socket.socket) -> bytes:
    chunk = connection.recv(65536)
    if not chunk:
        raise ConnectionResetError("the client closed mid-body")
    return chunk


def _read_chunked(connection: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
    body = b""
    while True:
        while b"\r\n" not in buffer:
            buffer += _recv(connection)
        size_line, _, buffer = buffer.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        while len(buffer) < size + 2:
            buffer += _recv(connection)
        body += buffer[:size]
        buffer = buffer[size + 2 :]
        if size == 0:
            return body, buffer
