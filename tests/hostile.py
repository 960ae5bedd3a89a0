"""A scripted HTTP server on 127.0.0.1, for what a real server will not do on demand.

`HostileServer` answers each connection with bytes you script: a body shorter than its
`Content-Length`, a `206` nobody asked for, a gzip body, a stall, bytes after the body, a
connection closed mid-header. It parses nothing it does not need: it reads one request (the
head and a `Content-Length` body), records it, writes the scripted bytes, then closes the
connection. Each connection is served in its own thread.

```python
from hostile import HostileServer, http_response

with HostileServer([http_response(b"abc", headers={"Content-Length": "100"})]) as server:
    httpx.get(server.url + "em/files/downlink")  # the body breaks off after 3 bytes
    assert server.requests[0].startswith(b"GET /em/files/downlink ")
```

A script is either a list (the n-th connection gets item n; the last item repeats) or a
callable `handler(request: bytes) -> bytes | Iterable[bytes]`. An iterable is written piece
by piece, so a generator can pause between pieces (`time.sleep`, or wait on a
`threading.Event` the test sets) and stop early; returning stops the answer and closes the
connection. A piece equal to `RESET` closes with a TCP reset instead of a clean close.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType

__all__ = ["RESET", "HostileServer", "http_response"]

#: A piece that, written by a script, aborts the connection with a TCP reset (RST).
RESET = b"\x00<reset>\x00"

Script = Sequence[bytes] | Callable[[bytes], "bytes | Iterable[bytes]"]

_MAX_HEAD = 64 * 1024


def http_response(
    body: bytes = b"",
    *,
    status: int = 200,
    reason: str = "OK",
    headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    content_length: bool = True,
) -> bytes:
    """The raw bytes of an HTTP/1.1 response.

    Args:
        body: The body, written as is (no encoding applied).
        status: The status code.
        reason: The reason phrase.
        headers: Headers in order; a `Content-Length` given here wins over the body's.
        content_length: Add `Content-Length: len(body)` unless `headers` has one.

    Returns:
        The status line, the headers and the body.
    """
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    if content_length and not any(k.lower() == "content-length" for k, _ in items):
        items.append(("Content-Length", str(len(body))))
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in items)
    return head.encode("latin-1") + b"\r\n" + body


class HostileServer:
    """An HTTP server on 127.0.0.1 and a free port that writes scripted bytes.

    Args:
        responses: A list of raw answers (one per connection, the last repeating) or a
            callable `handler(request) -> bytes | Iterable[bytes]` (see the module docs).

    Attributes:
        url: `http://127.0.0.1:PORT/`.
        requests: The raw requests received (head and body), in order.
        errors: Exceptions a handler raised (a test may assert it is empty).
    """

    def __init__(self, responses: Script) -> None:
        if not callable(responses) and not responses:
            raise ValueError("HostileServer needs at least one response.")
        self._script = responses
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[bytes] = []
        self.errors: list[BaseException] = []
        self.url = ""

    def __enter__(self) -> HostileServer:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.1)
        self._listener = listener
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        accept = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        count = 0
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._connections.append(conn)
            thread = threading.Thread(
                target=self._serve, args=(conn, count), name=f"hostile-{count}", daemon=True
            )
            count += 1
            thread.start()
            self._threads.append(thread)

    def _answer(self, index: int, request: bytes) -> Iterable[bytes]:
        if callable(self._script):
            answer = self._script(request)
            return [answer] if isinstance(answer, bytes) else answer
        return [self._script[min(index, len(self._script) - 1)]]

    def _serve(self, conn: socket.socket, index: int) -> None:
        reset = False
        try:
            request = _read_request(conn)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
            for piece in self._answer(index, request):
                if self._stopping.is_set():
                    return
                if piece == RESET:
                    reset = True
                    return
                conn.sendall(piece)
        except OSError:
            pass  # the client went away: what a hostile server lives with
        except BaseException as exc:  # a handler's bug: keep it for the test to see
            self.errors.append(exc)
        finally:
            if reset:  # SO_LINGER 0: close() sends RST instead of FIN
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_WR)
            conn.close()


def _read_request(conn: socket.socket) -> bytes | None:
    """One request: the head up to the blank line, then a `Content-Length` body if any."""
    conn.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > _MAX_HEAD:
            return data
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(min(65536, length - len(body)))
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body
