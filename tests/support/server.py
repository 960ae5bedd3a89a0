"""One scripted HTTP/1.1 server on 127.0.0.1, for what a real server will not do on demand.

`ScriptedServer` reads each request (head, then a `Content-Length` or chunked body), records
it (`server.seen`), and answers with the bytes its script gives: a body shorter than its
`Content-Length`, a `206` nobody asked for, a gzip bomb, a stall, bytes after the body, a
connection dropped without an answer or reset. Each connection is served in its own thread.

The script is either a list of raw answers (the n-th connection gets item n; the last
repeats) or a handler `handler(seen: Seen) -> Answer | bytes | Iterable[bytes]`. An iterable
is written piece by piece, so a generator can wait between pieces (on a `threading.Event`
the test sets) and stop early; a piece equal to `RESET` ends the connection with a TCP reset.

With `keep_alive=False` (the default) a connection carries one request: after the answer the
server closes it. With `keep_alive=True` it reads the next request on the same connection, as
a real server does, and closes only when an `Answer` says so (`close`, `reset`).

```python
def handler(seen: Seen) -> Answer:
    if seen.path.startswith("/auth/"):
        return token_answer(seen)
    return Answer(http_response(423, headers={"Retry-After": "1"}))

with ScriptedServer(handler, keep_alive=True) as server:
    EMClient(server.url, "u", HOSTILE_PASSWORD).files_list()

with ScriptedServer([http_response(200, b"abc", headers={"Content-Length": "100"})]) as server:
    httpx.get(server.url + "em/files/downlink")  # the body breaks off after 3 bytes
    assert server.requests[0].startswith(b"GET /em/files/downlink ")
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from types import TracebackType
from typing import Any

__all__ = [
    "HOSTILE_PASSWORD",
    "RESET",
    "Answer",
    "ScriptedServer",
    "Seen",
    "fake_jwt",
    "http_response",
    "json_response",
    "token_answer",
]

#: The password of the user a scripted token endpoint accepts (any user name); unlike any
#: other text, so that a log check can look for it.
HOSTILE_PASSWORD = "pw-Hostile-5tQ8w"

#: A piece that, written by a script, aborts the connection with a TCP reset (RST).
RESET = b"\x00<reset>\x00"

_MAX_HEAD = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Seen:
    """One request as the server read it (`raw`: the head and the body, as received)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    raw: bytes = b""


@dataclasses.dataclass(frozen=True)
class Answer:
    """What to do with one request: send `data` (bytes, or pieces one after the other), then
    close the connection when `close` (with a TCP reset when `reset`).

    `pace` > 0 sends the bytes one at a time, that many seconds apart (a trickling server).
    An `Answer` with no bytes and `close=True` drops the connection without answering.
    """

    data: bytes | Iterable[bytes] = b""
    close: bool = False
    reset: bool = False
    pace: float = 0.0


Reply = Answer | bytes | Iterable[bytes]
Handler = Callable[[Seen], Reply]


def http_response(
    status: int = 200,
    body: bytes = b"",
    *,
    reason: str | None = None,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    content_type: str | None = "application/json",
    content_length: bool = True,
) -> bytes:
    """The raw bytes of an HTTP/1.1 response, written as given (no encoding applied).

    Args:
        status: The status code.
        body: The body.
        reason: The reason phrase (default: the standard one).
        headers: Headers in order; a `Content-Length` or `Content-Type` given here wins.
        content_type: Added for a non-empty body unless `headers` has one (None: never).
        content_length: Add `Content-Length: len(body)` unless `headers` has one.
    """
    if reason is None:
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Status"
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    names = {name.lower() for name, _ in items}
    if content_length and "content-length" not in names:
        items.insert(0, ("Content-Length", str(len(body))))
    if body and content_type and "content-type" not in names:
        items.append(("Content-Type", content_type))
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in items)
    return head.encode("latin-1") + b"\r\n" + body


def json_response(status: int, data: Any, *, headers: dict[str, str] | None = None) -> bytes:
    """A JSON answer with an exact `Content-Length`."""
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


class ScriptedServer:
    """An HTTP/1.1 server on 127.0.0.1 and a free port, answering as its script says.

    Args:
        script: Raw answers (one per connection, the last repeating) or a handler.
        keep_alive: Serve many requests per connection (see the module docstring).

    Attributes:
        url: `http://127.0.0.1:PORT/`.
        seen: Every request read, in order (all connections).
        errors: Exceptions a handler raised (a test may assert it is empty).
        closed: How many connections the server has closed (see `wait_closed`).
    """

    def __init__(self, script: Sequence[bytes] | Handler, *, keep_alive: bool = False) -> None:
        if not callable(script) and not script:
            raise ValueError("ScriptedServer needs at least one answer.")
        self._script = script
        self.keep_alive = keep_alive
        self.seen: list[Seen] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()
        self.closed = 0
        self._closing = threading.Condition(self._lock)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/"

    @property
    def requests(self) -> list[bytes]:
        """The raw requests received (head and body), in order."""
        with self._lock:
            return [seen.raw for seen in self.seen]

    def requests_to(self, path: str) -> list[Seen]:
        """The requests seen for one path (query string ignored)."""
        with self._lock:
            return [seen for seen in self.seen if seen.path.split("?", 1)[0] == path]

    def wait_closed(self, count: int, timeout: float = 30.0) -> None:
        """Return once the server has closed `count` connections (its FIN or RST is sent)."""
        with self._closing:
            if not self._closing.wait_for(lambda: self.closed >= count, timeout):
                raise AssertionError(f"{self.closed} of {count} connections closed in {timeout} s")

    def wait_for(self, condition: Callable[[], object], timeout: float = 30.0) -> None:
        """Return once `condition()` is true, checked each time a request is handled or a
        connection closed (a handler's own records, `seen`, `closed`)."""
        with self._closing:
            if not self._closing.wait_for(condition, timeout):
                raise AssertionError(f"not true within {timeout} s: {condition}")

    def __enter__(self) -> ScriptedServer:
        thread = threading.Thread(target=self._accept, name="scripted-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopped.set()
        # shutdown wakes the thread blocked in accept() (close alone does not, on Linux)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        count = 0
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections.append(connection)
            thread = threading.Thread(
                target=self._serve, args=(connection, count), name="scripted-conn", daemon=True
            )
            count += 1
            thread.start()
            self._threads.append(thread)

    def _answer(self, index: int, seen: Seen) -> Answer:
        if not callable(self._script):
            return Answer(self._script[min(index, len(self._script) - 1)])
        reply = self._script(seen)
        return reply if isinstance(reply, Answer) else Answer(reply)

    def _serve(self, connection: socket.socket, index: int) -> None:
        buffer = b""
        reset = False
        try:
            while True:
                seen, buffer = _read_request(connection, buffer)
                if seen is None:
                    return
                with self._lock:
                    self.seen.append(seen)
                answer = self._answer(index, seen)
                with self._closing:  # `wait_for` looks again
                    self._closing.notify_all()
                reset = answer.reset or not self._send(connection, answer)
                if reset or answer.close or not self.keep_alive:
                    return
        except OSError:
            pass  # the client went away: what a hostile server lives with
        except BaseException as exc:  # a handler's bug: kept for the test to see
            self.errors.append(exc)
        finally:
            if reset:  # SO_LINGER 0: close() sends RST instead of FIN
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_WR)
            connection.close()
            with self._closing:
                self.closed += 1
                self._closing.notify_all()

    def _send(self, connection: socket.socket, answer: Answer) -> bool:
        """Write the answer; False when a `RESET` piece asks to reset the connection."""
        pieces = [answer.data] if isinstance(answer.data, bytes) else answer.data
        for piece in pieces:
            if self._stopped.is_set():
                return True
            if piece == RESET:
                return False
            if answer.pace > 0:
                for offset in range(len(piece)):
                    if self._stopped.is_set():
                        return True
                    connection.sendall(piece[offset : offset + 1])
                    time.sleep(answer.pace)
            elif piece:
                connection.sendall(piece)
        return True


def _read_request(connection: socket.socket, buffer: bytes) -> tuple[Seen | None, bytes]:
    """The next request on the connection (None when the client closed it first)."""
    while b"\r\n\r\n" not in buffer:
        chunk = connection.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
        if len(buffer) > _MAX_HEAD:  # no end of head in sight: take it as it is
            return Seen("", "", {}, b"", raw=buffer), b""
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _ = [*request_line.split(" ", 2), "", ""][:3]
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body, buffer = _read_chunked(connection, buffer)
    else:
        length = int(headers.get("content-length", "0") or 0)
        while len(buffer) < length:
            chunk = connection.recv(1024 * 1024)
            if not chunk:
                break
            buffer += chunk
        body, buffer = buffer[:length], buffer[length:]
    return Seen(method, path, headers, body, raw=head + b"\r\n\r\n" + body), buffer


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
