"""A downlink body of known length read straight from its socket into a reused buffer.

Through httpx, every MiB of a download is copied four times in Python before it reaches the
file: `socket.recv` makes a new bytes object, h11's receive buffer appends it to a bytearray
(`ReceiveBuffer.__iadd__`), slices it out again (`maybe_extract_at_most`), and httpcore makes
bytes of the slice (`bytes(event.data)`). That cost about as much CPU as the socket reads and
the file writes together, so the client spent twice curl's CPU per byte (issue 22).

`DirectBody` takes over the rest of a body after httpx has delivered its first chunk, when
the response is framed by `Content-Length` on a plain TCP connection of httpcore's HTTP/1.1
pool: it reads with `recv_into` into one buffer (two for the async client, one being written
while the other fills) and hands memoryviews of it to the file (`os.writev`, no copy in
Python). Then it tells h11 those bytes were consumed (the `Content-Length` reader's remaining
count), so the body ends exactly as if h11 had read it: httpcore sees the end of the message
and the connection goes back to the pool for the next request (keep-alive).

When anything differs, the body goes the ordinary way (`iter_raw`) and nothing here runs:
chunked or close-delimited bodies, TLS, HTTP/2, a proxy tunnel, another event loop's
stream, a `Content-Encoding` (the file holds the bytes sent, as with `iter_raw`), a body
already read, or an httpcore/h11 whose internals moved (`tests/unit/test_fastbody.py` fails
then, so the fallback is never silent for long).

Failures are those of the ordinary path: a body that ends early is
`httpx.RemoteProtocolError` (h11's own message), a socket error `httpx.ReadError`, no byte
within the read timeout `httpx.ReadTimeout`. The bytes that arrived before are counted and
written first (a resume continues from them); h11 is left expecting the rest, so closing
the response closes the connection instead of reusing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import httpx

__all__ = ["BUFFER_SIZE", "DirectBody", "Sink", "now_or_none", "settle"]

_T = TypeVar("_T")

#: Bytes read before they are handed to the file: progress and writes go per MiB.
BUFFER_SIZE = 1024 * 1024
#: The async client fills one buffer while a worker thread writes the other: 4 MiB each, so
#: a GiB costs 256 thread hops.
ASYNC_BUFFER_SIZE = 4 * 1024 * 1024
#: How deep to look for the HTTP/1.1 connection behind a response's stream (our gated
#: stream, httpx's, httpcore's pool stream, its connection stream).
_DEPTH = 8
_LINKS = ("_stream", "_httpcore_stream", "_connection")
#: Most bytes a socket wait asks the kernel to gather before it wakes the reader
#: (`SO_RCVLOWAT`): one wake-up per 256 KiB instead of one per TCP segment burst.
_LOW_WATER = 256 * 1024


def now_or_none(call: Callable[[], _T], error: Callable[[str], Exception]) -> _T | None:
    """`call()`, one call on a non-blocking socket; None when it would block.

    Raises:
        Exception: An `OSError` of the socket, as `error(message)`.
    """
    try:
        return call()
    except (BlockingIOError, InterruptedError):
        return None
    except OSError as exc:
        raise error(str(exc)) from exc


class Sink(Protocol):
    """Where the body goes: `DownloadTarget` (`account`, then `store_many`)."""

    def account(self, chunk: bytes | bytearray | memoryview) -> None: ...

    def store_many(self, chunks: list[Any]) -> None: ...


def _h11_connection(response: httpx.Response) -> Any:
    """The HTTP/1.1 connection (httpcore's `HTTP11Connection`) carrying `response`, or None."""
    node: Any = response.stream
    for _ in range(_DEPTH):
        if node is None:
            return None
        if hasattr(node, "_h11_state") and hasattr(node, "_network_stream"):
            return node
        node = next((getattr(node, name) for name in _LINKS if hasattr(node, name)), None)
    return None


def _reader(connection: Any, remaining: int) -> Any:
    """h11's `Content-Length` reader of the response, when it expects exactly `remaining`
    more bytes and holds none of them; else None."""
    try:
        import h11
        from h11._readers import ContentLengthReader
    except ImportError:  # pragma: no cover - an h11 without it
        return None
    state = connection._h11_state
    if not isinstance(state, h11.Connection) or state.their_state is not h11.SEND_BODY:
        return None
    if state.trailing_data != (b"", False):  # bytes (or the end) h11 has not handed out yet
        return None
    reader = getattr(state, "_reader", None)
    if type(reader) is not ContentLengthReader or getattr(reader, "_remaining", None) != remaining:
        return None
    return reader


class DirectBody:
    """The rest of one response body, to be read straight from its socket.

    Built by `take_over` (sync) or `atake_over` (async) once httpx has delivered some of
    the body; None when the body must go the ordinary way (see the module docs).

    Attributes:
        remaining: Body bytes still to read.
    """

    def __init__(self, sock: socket.socket, reader: Any, remaining: int, timeout: Any) -> None:
        self._sock = sock
        self._reader = reader
        self.remaining = remaining
        self._timeout: float | None = timeout if isinstance(timeout, (int, float)) else None

    # ---- finding it

    @classmethod
    def _find(cls, response: httpx.Response, received: int, key: str) -> DirectBody | None:
        length = response.headers.get("Content-Length")
        if length is None or not length.isdigit():
            return None
        remaining = int(length) - received
        if remaining <= 0:
            return None
        if response.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
            return None
        network = response.extensions.get("network_stream")
        connection = _h11_connection(response)
        if network is None or connection is None or connection._network_stream is not network:
            return None
        sock = network.get_extra_info(key)
        if type(sock) is not socket.socket:  # TLS (ssl.SSLSocket), or not ours to read
            return None
        reader = _reader(connection, remaining)
        if reader is None:
            return None
        timeout = response.request.extensions.get("timeout", {}).get("read")
        return cls(sock, reader, remaining, timeout)

    @classmethod
    def take_over(cls, response: httpx.Response, received: int) -> DirectBody | None:
        """The rest of `response`'s body (`httpx.Client`), `received` bytes of it delivered.

        The socket is httpcore's own blocking one (`get_extra_info("socket")`), which
        httpcore itself reads with `recv`.
        """
        return cls._find(response, received, "socket")

    @classmethod
    def atake_over(cls, response: httpx.Response, received: int) -> DirectBody | None:
        """As `take_over`, for `httpx.AsyncClient` on `_aio_backend`'s streams only (a
        socket no asyncio transport reads: `get_extra_info(DIRECT_SOCKET)`)."""
        from ._aio_backend import DIRECT_SOCKET

        return cls._find(response, received, DIRECT_SOCKET)

    # ---- reading it

    def _consumed(self, count: int) -> None:
        self.remaining -= count
        self._reader._remaining -= count

    def _early_end(self) -> httpx.RemoteProtocolError:
        done = self._reader._length - self._reader._remaining
        return httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            f"(received {done} bytes, expected {self._reader._length})"
        )

    def copy_to(self, sink: Sink) -> None:
        """Read the rest into `sink`, a buffer at a time (blocking socket).

        Raises:
            httpx.RemoteProtocolError: The connection closed before the end.
            httpx.ReadError: The connection broke.
            httpx.ReadTimeout: Nothing arrived within the read timeout.
        """
        sock = self._sock
        view = memoryview(bytearray(min(BUFFER_SIZE, self.remaining)))
        sock.settimeout(self._timeout)
        while self.remaining:
            want = min(len(view), self.remaining)
            filled = 0
            try:
                while filled < want:
                    count = sock.recv_into(view[filled:want])
                    if not count:
                        raise self._early_end()
                    filled += count
            except TimeoutError as exc:
                raise httpx.ReadTimeout(str(exc) or "timed out") from exc
            except OSError as exc:
                raise httpx.ReadError(str(exc)) from exc
            finally:
                if filled:  # what arrived is kept, also when the body breaks off
                    self._consumed(filled)
                    sink.account(view[:filled])
                    sink.store_many([view[:filled]])

    async def acopy_to(self, sink: Sink) -> None:
        """Read the rest into `sink` on the running loop (non-blocking socket); each filled
        buffer is written in a worker thread (the loop's executor) while the next one fills.

        Args:
            sink: Counts on the loop (`account`), writes in the thread (`store_many`).

        Raises:
            As `copy_to`. A cancelled task lets the running write finish; the bytes read
            meanwhile are written too (for a resume), then the cancellation propagates.
        """
        loop = asyncio.get_running_loop()

        def start(chunk: memoryview) -> asyncio.Future[None]:
            return loop.run_in_executor(None, sink.store_many, [chunk])

        size = min(ASYNC_BUFFER_SIZE, self.remaining)
        views = [memoryview(bytearray(size)), memoryview(bytearray(size))]
        writing: asyncio.Future[Any] | None = None  # the write of the other buffer
        pending: memoryview | None = None  # bytes counted, not yet handed to a write
        turn = 0
        try:
            while self.remaining:
                view = views[turn]
                want = min(size, self.remaining)
                filled = 0
                try:
                    while filled < want:
                        count = await self._arecv(loop, view[filled:want])
                        if not count:
                            raise self._early_end()
                        filled += count
                finally:
                    if filled:
                        self._consumed(filled)
                        sink.account(view[:filled])
                        pending = view[:filled]
                if writing is not None:
                    await settle(writing)
                writing, pending = start(view[:filled]), None
                turn ^= 1
            if writing is not None:
                await settle(writing)
            writing = None
        finally:  # something raised: finish the writes in order (a resume counts on them)
            cancelled = False
            if writing is not None:
                cancelled = await _finish(writing)
            if pending is not None and (writing is None or _succeeded(writing)):
                last = start(pending)
                cancelled = await _finish(last) or cancelled
                _succeeded(last)
            if cancelled:
                raise asyncio.CancelledError

    async def _arecv(self, loop: asyncio.AbstractEventLoop, view: memoryview) -> int:
        """One `recv_into`, waiting (at most the read timeout) only when nothing is there."""
        sock = self._sock
        got = now_or_none(lambda: sock.recv_into(view), httpx.ReadError)
        if got is not None:
            return got
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, min(_LOW_WATER, len(view)))
        try:
            while True:
                await _readable(loop, sock, self._timeout)
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    return sock.recv_into(view)
        except TimeoutError as exc:
            if exc.errno is None:  # `_readable`'s; one with an errno is the kernel's
                raise httpx.ReadTimeout("timed out") from exc
            raise httpx.ReadError(str(exc)) from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc)) from exc
        finally:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)


async def _readable(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, timeout: float | None
) -> None:
    """Wait until `sock` is readable (`SO_RCVLOWAT` bytes, the end, or an error).

    One reader callback and one timer, not a task per wait (`asyncio.wait_for`).

    Raises:
        TimeoutError: Not readable within `timeout` seconds.
    """
    waiter: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not waiter.done():
            waiter.set_result(None)

    def expire() -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError())

    fd = sock.fileno()
    loop.add_reader(fd, ready)
    timer = loop.call_later(timeout, expire) if timeout is not None else None
    try:
        await waiter
    finally:
        loop.remove_reader(fd)
        if timer is not None:
            timer.cancel()


async def _finish(future: asyncio.Future[Any]) -> bool:
    """Wait until a write in a worker thread is done, whatever happens meanwhile; whether the
    task was cancelled during the wait."""
    cancelled = False
    while not future.done():
        try:
            await asyncio.wait([future])
        except asyncio.CancelledError:
            cancelled = True
    return cancelled


def _succeeded(future: asyncio.Future[Any]) -> bool:
    """Whether a finished write succeeded (its error is retrieved, not raised)."""
    return not future.cancelled() and future.exception() is None


async def settle(future: asyncio.Future[_T]) -> _T:
    """The result of `future` (work in a worker thread), waiting until the thread is done
    even when the task is cancelled meanwhile; the cancellation is raised after that."""
    if await _finish(future):
        _succeeded(future)  # retrieved: the cancellation is what propagates
        raise asyncio.CancelledError
    return future.result()
