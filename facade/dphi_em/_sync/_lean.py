"""`LeanTransport`: httpx's transport, with a lean path for the facade's small calls.

A call that is not a transfer (`_transports._bounds.is_transfer`), to an `http://` server
reached without a proxy, with its body in memory, is written in one piece on a kept-alive
connection of its own and its answer read with `_transports._http11`, without httpcore's
pool and h11 (about 0.7 ms of client CPU a call on loopback, most of what the facade paid
above the socket). Everything else (uplinks, downlinks, TLS, proxies, streamed bodies) goes
to httpx's transport, which this class is.

What the lean path keeps of httpcore's:

- **Sockets and timeouts**: connections come from the pool's own network backend, without
  its wide-read wrapper (`_backend`; `TCP_NODELAY` set by the backend), with the request's
  connect, read and write timeouts, each read and write cut to the call's deadline as the
  wrapper does (`time_left`); httpcore's errors are raised as httpx's.
- **Reuse**: an idle connection is reused when its last answer was read to its end (see
  `_http11`); one the server closed meanwhile (readable while idle) is dropped before
  anything is written and the request goes on a new connection, and so is one idle longer
  than the keep-alive expiry (httpx's `Limits`, 5 s by default, as its pool: a server
  closing at its own idle timer may do so just as the request arrives). At most `MAX_IDLE`
  connections are kept; the facade sends one request at a time, so one is the rule.
- **One connection**: a transfer takes the lean path's idle connection into httpx's pool
  (`HandoffBackend`), and while the pool holds an idle one the small calls go through
  the pool too: calls and transfers that alternate never pay a second connection's set-up.
- **Failures**: a server that closes before answering is a `RemoteProtocolError` ("Server
  disconnected without sending a response."), a body cut short another; a connection whose
  answer was not read to its end (closed early, cancelled, failed) is closed, never reused.
"""

# Generated from _async/_lean.py by scripts/unasync.py: edit that file, not this one.

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx

from .._transports._bounds import DEADLINE_MESSAGE, is_transfer, time_left
from .._transports._http11 import (
    BODY_CHUNKED,
    BODY_LENGTH,
    BODY_NONE,
    ChunkedReader,
    Head,
    body_framing,
    head_end,
    keeps_alive,
    parse_head,
    request_head,
)

__all__ = ["MAX_IDLE", "HandoffBackend", "LeanTransport"]

logger = logging.getLogger("dphi_em")

#: Most idle connections the lean path keeps.
MAX_IDLE = 4
#: Bytes asked of the socket per read: a small answer's all (asking for `READ_SIZE`, 1 MiB,
#: as the transfers' wide reads do, cost about 40 us a read in allocating and shrinking).
_READ = 64 * 1024

#: httpcore's errors and the httpx errors raised for them (as httpx's transport maps them).
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
)


def _as_httpx(exc: Exception, *, limited: bool = False) -> httpx.TransportError | None:
    """The httpx error for httpcore's `exc` (None: not one of them); a timeout that the
    call's deadline set (`limited`) says so."""
    for source, target in _ERRORS:
        if isinstance(exc, source):
            if limited and issubclass(target, httpx.TimeoutException):
                return target(DEADLINE_MESSAGE)
            return target(str(exc))
    return None


@contextlib.contextmanager
def _mapped(*, limited: bool = False) -> Iterator[None]:
    """httpcore's errors raised inside as httpx's (`_as_httpx`), chained."""
    try:
        yield
    except Exception as exc:
        mapped = _as_httpx(exc, limited=limited)
        if mapped is None:
            raise
        raise mapped from exc


def _read(stream: httpcore.NetworkStream, timeout: float | None) -> bytes:
    """What the socket holds (b"": the server closed), waiting no longer than `timeout` nor
    the call's deadline (`time_left`); httpcore's errors as httpx's."""
    timeout, limited = time_left(timeout, httpx.ReadTimeout)
    with _mapped(limited=limited):
        return stream.read(_READ, timeout)


def _write(stream: httpcore.NetworkStream, data: bytes, timeout: float | None) -> None:
    """`_read`'s twin: all of `data` written, under `timeout` and the call's deadline."""
    timeout, limited = time_left(timeout, httpx.WriteTimeout)
    with _mapped(limited=limited):
        stream.write(data, timeout)


class _Connection:
    """One kept-alive socket of the lean path, the (host, port) it leads to, and since when
    it is idle (`time.monotonic()`)."""

    __slots__ = ("idle_since", "stream", "target")

    def __init__(self, stream: httpcore.NetworkStream, target: tuple[str, int]) -> None:
        self.stream = stream
        self.target = target
        self.idle_since = 0.0


class LeanTransport(httpx.HTTPTransport):
    """httpx's transport (same arguments), with the lean path of the module docstring.

    Args:
        **kwargs: httpx's transport's arguments.

    Attributes:
        lean_backend: The network backend of the lean path's connections (None, the
            default: no lean path; `_transports._network` sets it when no proxy is used).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lean_backend: httpcore.NetworkBackend | None = None
        # httpx's pool's rule, kept here too: a connection idle longer than this is not
        # reused (a server may close it just as the request arrives; uvicorn's timer is 5 s).
        limits = kwargs.get("limits")
        self._keepalive_expiry = (limits if limits is not None else httpx.Limits()).keepalive_expiry
        self._idle: list[_Connection] = []
        self._closed = False

    def _lean_body(self, request: httpx.Request) -> bytes | None:
        """The body of a request for the lean path, or None: not one for it (no lean
        backend, not `http://`, a transfer, a streamed body, or framing of its own)."""
        if self.lean_backend is None or request.url.scheme != "http" or is_transfer(request):
            return None
        if not isinstance(request.stream, httpx.ByteStream):
            return None
        try:
            body = request.content
        except httpx.RequestNotRead:
            return None
        length = None
        for name, value in request.headers.raw:
            lowered = name.lower()
            if lowered == b"content-length":
                length = value
            elif lowered == b"transfer-encoding":
                return None
        if length == b"%d" % len(body) or (length is None and not body):
            return body
        return None  # a length not the body's: httpx's transport says so

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = self._lean_body(request)
        if body is None:
            return super().handle_request(request)
        with _mapped():  # a connect's errors (reads and writes map their own)
            return self._lean(request, body)

    def _lean(self, request: httpx.Request, body: bytes) -> httpx.Response:
        url = request.url
        data = request_head(request.method.encode(), url.raw_path, request.headers.raw) + body
        timeouts = request.extensions.get("timeout", {})
        # The host as httpcore connects to it and the Host header names it (IDNA 2008, the
        # pool's key too: `HandoffBackend`), not `url.host` (unicode: the resolver would
        # encode it IDNA 2003, another name for some hosts).
        target = (url.raw_host.decode("ascii"), url.port or 80)
        connection = self._take_open(target)
        if connection is None and self._pool_has_idle(url):
            # A transfer took this path's connection (`HandoffBackend`): keep using it,
            # through httpx's pool, rather than open another (a round trip on a far link).
            return super().handle_request(request)
        try:
            if connection is None:
                connection = self._connect(target, timeouts.get("connect"))
            _write(connection.stream, data, timeouts.get("write"))
            return self._answer(request, connection, timeouts.get("read"))
        except BaseException:
            if connection is not None:
                connection.stream.close()
            raise

    def _take_open(self, target: tuple[str, int]) -> _Connection | None:
        """An idle connection to `target` the server has not closed, or None."""
        connection = self._take(target)
        expiry = self._keepalive_expiry
        if (
            connection is not None
            and expiry is not None
            and time.monotonic() - connection.idle_since > expiry
        ):
            logger.debug("a kept-alive connection was idle past its expiry; reconnecting")
            connection.stream.close()
            connection = None
        if connection is not None and connection.stream.get_extra_info("is_readable"):
            # An idle connection is readable only when the server closed it (or sent what
            # nobody asked for): nothing was written; the request goes on another one.
            logger.debug("a kept-alive connection was closed by the server; reconnecting")
            connection.stream.close()
            connection = None
        return connection

    def _pool_has_idle(self, url: httpx.URL) -> bool:
        """Whether httpx's pool holds an idle connection that could carry a request to
        `url` (httpcore's public connection interface: `is_idle`, `can_handle_request`)."""
        connections = getattr(getattr(self, "_pool", None), "connections", None)
        if not connections:
            return False
        origin = httpcore.Origin(b"http", url.raw_host, url.port or 80)
        return any(c.is_idle() and c.can_handle_request(origin) for c in connections)

    def _take(self, target: tuple[str, int]) -> _Connection | None:
        """The last idle connection if it leads to `target` (else it stays), or None."""
        try:
            connection = self._idle.pop()  # one step: two threads never take the same one
        except IndexError:
            return None
        if connection.target == target:
            return connection
        self._idle.append(connection)  # another server (a raw call's absolute URL)
        return None

    def _connect(self, target: tuple[str, int], timeout: float | None) -> _Connection:
        backend = self.lean_backend
        assert backend is not None  # `_lean_body` checked it
        stream = backend.connect_tcp(target[0], target[1], timeout=timeout)
        return _Connection(stream, target)

    def _answer(
        self, request: httpx.Request, connection: _Connection, timeout: float | None
    ) -> httpx.Response:
        stream = connection.stream
        method = request.method.encode()
        buffer = b""
        while True:
            end = head_end(buffer)
            if end < 0:
                data = _read(stream, timeout)
                if not data:
                    if buffer:
                        raise httpx.RemoteProtocolError("the server closed within an answer's head")
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response."
                    )
                buffer += data
                continue
            head = parse_head(buffer[:end])
            buffer = buffer[end:]
            if 100 <= head.status < 200 and head.status != 101:
                continue  # an interim answer: the real one follows
            break
        if head.status == 101:
            raise httpx.RemoteProtocolError("the server switched protocols, unasked")
        kind, length = body_framing(method, head)
        reuse = keeps_alive(head) and b"close" not in _connection_values(request)
        body = _LeanBody(self, connection, head, kind, length, buffer, reuse, timeout)
        return httpx.Response(
            head.status,
            headers=head.headers,
            stream=body,
            extensions={
                "http_version": b"HTTP/1.%d" % head.minor,
                "reason_phrase": head.reason,
                "network_stream": stream,
            },
        )

    def _release(self, connection: _Connection) -> bool:
        """Put `connection` on the idle list; False: the list is full."""
        if self._closed or len(self._idle) >= MAX_IDLE:
            return False
        connection.idle_since = time.monotonic()
        self._idle.append(connection)
        return True

    def close(self) -> None:
        """Close the idle lean connections and httpx's pool."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.stream.close()
        super().close()


def _connection_values(request: httpx.Request) -> list[bytes]:
    return [
        part.strip().lower()
        for key, value in request.headers.raw
        if key.lower() == b"connection"
        for part in value.split(b",")
    ]


class _LeanBody(httpx.SyncByteStream):
    """An answer's body read from its lean connection; the connection goes back to the idle
    list once the body is read to its end (when it may be reused), else it is closed."""

    def __init__(
        self,
        owner: LeanTransport,
        connection: _Connection,
        head: Head,
        kind: int,
        length: int,
        buffer: bytes,
        reuse: bool,
        timeout: float | None,
    ) -> None:
        self._owner = owner
        self._connection: _Connection | None = connection
        self._head = head
        self._kind = kind
        self._length = length
        self._buffer = buffer
        self._reuse = reuse
        self._timeout = timeout

    def __iter__(self) -> Iterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        buffer, self._buffer = self._buffer, b""
        extra = b""
        if self._kind == BODY_NONE:
            extra = buffer
        elif self._kind == BODY_LENGTH:
            left = self._length
            while True:
                if buffer:
                    piece = buffer[:left]
                    extra = buffer[left:]
                    left -= len(piece)
                    if piece:
                        yield piece
                if left <= 0:
                    break
                buffer = _read(connection.stream, self._timeout)
                if not buffer:
                    raise httpx.RemoteProtocolError(
                        "peer closed connection without sending complete message body: "
                        f"received {self._length - left} bytes, expected {self._length}"
                    )
        elif self._kind == BODY_CHUNKED:
            reader = ChunkedReader()
            while True:
                for piece in reader.feed(buffer):
                    yield piece
                if reader.done:
                    extra = reader.extra
                    break
                buffer = _read(connection.stream, self._timeout)
                if not buffer:
                    raise httpx.RemoteProtocolError(
                        "peer closed connection without sending complete message body: "
                        "incomplete chunked read"
                    )
        else:  # until the server closes
            self._reuse = False
            while True:  # the head may have come alone: read on whatever `buffer` holds
                if buffer:
                    yield buffer
                buffer = _read(connection.stream, self._timeout)
                if not buffer:
                    break
        self._connection = None
        if not (self._reuse and not extra and self._owner._release(connection)):
            connection.stream.close()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:  # not read to its end: the connection's state is unknown
            connection.stream.close()


class HandoffBackend(httpcore.NetworkBackend):
    """The network backend of httpx's pool beside a lean path: a new connection to a server
    is the lean path's idle one when it has one (open), else a new socket. So a client
    whose small calls and transfers alternate keeps one connection, as with the pool alone
    (and `LeanTransport` sends through the pool while the pool holds it).

    Args:
        inner: The backend that opens sockets (the lean path's own).
        lean: The transport whose idle connections are handed over.
    """

    def __init__(self, inner: httpcore.NetworkBackend, lean: LeanTransport) -> None:
        self._inner = inner
        self._lean = lean

    def connect_tcp(
        self, host: str, port: int, *args: Any, **kwargs: Any
    ) -> httpcore.NetworkStream:
        """The lean path's idle connection to (`host`, `port`), or the inner backend's."""
        connection = self._lean._take_open((host, port))
        if connection is not None:
            return connection.stream
        return self._inner.connect_tcp(host, port, *args, **kwargs)

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        """The inner backend's `connect_unix_socket` (same arguments)."""
        return self._inner.connect_unix_socket(*args, **kwargs)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
