"""A downlink body of known length read straight from its socket into a reused buffer.

Through httpx, every MiB of a download is copied four times in Python before it reaches the
file: `socket.recv` makes a new bytes object, h11's receive buffer appends it to a bytearray
(`ReceiveBuffer.__iadd__`), slices it out again (`maybe_extract_at_most`), and httpcore makes
bytes of the slice (`bytes(event.data)`). That cost about as much CPU as the socket reads and
the file writes together, so the client spent twice curl's CPU per byte (issue 22).

`DirectBody` takes over the rest of a body after httpx has delivered its first chunk, when
the response is framed by `Content-Length` on a plain TCP connection of httpcore's HTTP/1.1
pool: it reads with `recv_into` into one reused buffer and hands memoryviews of it to the
file (`os.writev`, no copy in Python). Then it tells h11 those bytes were consumed (the
`Content-Length` reader's remaining count), so the body ends exactly as if h11 had read it:
httpcore sees the end of the message and the connection goes back to the pool for the next
request (keep-alive).

`EMClient` runs that loop in its own thread; `AsyncEMClient` runs the same loop in one
worker thread, which hands back to the event loop at the end (every MiB or quarter of a
second when progress is watched, so the bytes are counted there). Both read the socket
non-blocking and wait in `poll` only when nothing has arrived, for at least 256 KiB at a
time (`SO_RCVLOWAT`). Before, the async client waited for the socket on the event loop (a
wake-up, a reader registration and a timer per 256 KiB) and hopped to a thread per 4 MiB to
write: 0.2 CPU s per GiB more than `EMClient`. A cancelled task (or Ctrl-C under
`asyncio.run`) wakes the thread through a socket pair: it writes what it read and stops.

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
import math
import select
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import httpx

__all__ = [
    "BUFFER_SIZE",
    "PROGRESS_HOP_BYTES",
    "DirectBody",
    "Sink",
    "now_or_none",
    "settle",
]

_T = TypeVar("_T")

#: Bytes read before they are handed to the file: progress and writes go per MiB.
BUFFER_SIZE = 1024 * 1024
#: When someone watches the progress, the async client's worker thread hands back to the
#: loop (which counts the bytes there) after each buffer (counted per MiB, as `EMClient`
#: does, so a callback that raises stops the body there) or after `_HOP_SECONDS`; else it
#: hands back once, at the end (a hop is two thread wake-ups: on a loaded machine each
#: can wait for a CPU).
PROGRESS_HOP_BYTES = BUFFER_SIZE
_HOP_SECONDS = 0.25
#: How deep to look for the HTTP/1.1 connection behind a response's stream (our gated
#: stream, httpx's, httpcore's pool stream, its connection stream).
_DEPTH = 8
_LINKS = ("_stream", "_httpcore_stream", "_connection")
#: Most bytes a socket wait asks the kernel to gather before it wakes the reader
#: (`SO_RCVLOWAT`): one wake-up per 256 KiB instead of one per TCP segment burst.
_LOW_WATER = 256 * 1024
#: Seconds a wait on the socket lasts before it looks again for fewer bytes than that.
_SLICE = 0.05
_RCVLOWAT: int | None = getattr(socket, "SO_RCVLOWAT", None)


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
    """Where the body goes: `DownloadTarget` (`store_many`, then `account_size`)."""

    def account_size(self, size: int) -> None: ...

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
        self._stored = 0  # bytes handed to the sink's store_many
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
        """Read the rest into `sink`, a buffer at a time (`EMClient`: the calling thread).

        Raises:
            httpx.RemoteProtocolError: The connection closed before the end.
            httpx.ReadError: The connection broke.
            httpx.ReadTimeout: Nothing arrived within the read timeout.
        """
        view = memoryview(bytearray(min(BUFFER_SIZE, self.remaining)))
        self._pump(view, sink, counted=sink.account_size)

    async def acopy_to(self, sink: Sink, count_every: int | None = None) -> None:
        """Read the rest into `sink` in a worker thread (the loop's executor), which reads
        and writes as `copy_to` does and hands back to the loop, where the bytes are
        counted (`account_size`: progress, on the loop), after `count_every` bytes or a
        quarter of a second (None: at the end).

        Raises:
            As `copy_to`; what counting raises (a progress callback's error). A cancelled
            task wakes the thread, which writes what it read and stops; then the
            cancellation propagates.
        """
        loop = asyncio.get_running_loop()
        view = memoryview(bytearray(min(BUFFER_SIZE, self.remaining)))
        waker = _Waker()
        counted = self._stored
        try:
            while self.remaining:
                job = loop.run_in_executor(None, self._pump, view, sink, None, waker, count_every)
                cancelled = await _finish(job, waker.stop)
                try:
                    fresh, counted = self._stored - counted, self._stored
                    if fresh:
                        sink.account_size(fresh)
                finally:
                    if cancelled:
                        _succeeded(job)  # retrieved: the cancellation is what propagates
                        raise asyncio.CancelledError  # (it wins over a counting error)
                job.result()  # what stopped the thread (a cut, a timeout, a full disk)
        finally:
            waker.close()

    def _pump(
        self,
        view: memoryview,
        sink: Sink,
        counted: Callable[[int], None] | None = None,
        waker: _Waker | None = None,
        count_every: int | None = None,
    ) -> None:
        """Read body bytes into `view` and store each filled buffer (blocking).

        With `waker` (the async client's worker thread): return at once when woken, and
        with `count_every` after that many bytes or `_HOP_SECONDS`. The socket is read
        non-blocking, waiting in `poll` only when nothing is there; its mode is restored
        after.
        """
        sock = self._sock
        mode = sock.gettimeout()
        sock.setblocking(False)
        reader = _Reader(sock, self._timeout, waker)
        hop_end = time.monotonic() + _HOP_SECONDS
        hop_end_bytes = None if count_every is None else self._stored + count_every
        try:
            while self.remaining:
                want = min(len(view), self.remaining)
                filled = 0
                try:
                    while filled < want:
                        count = reader.recv(view[filled:want])
                        if count is None:  # woken: the task was cancelled
                            return
                        if not count:
                            raise self._early_end()
                        filled += count
                finally:
                    if filled:  # what arrived is kept, also when the body breaks off
                        self._consumed(filled)
                        sink.store_many([view[:filled]])
                        self._stored += filled
                        if counted is not None:
                            counted(filled)
                if hop_end_bytes is not None and (
                    self._stored >= hop_end_bytes or time.monotonic() >= hop_end
                ):
                    return
        finally:
            reader.close()
            sock.settimeout(mode)


class _Waker:
    """Wakes a worker thread waiting in `_Reader` (the task was cancelled): a socket pair,
    as a `poll` or `select` on any system can wait on a socket."""

    def __init__(self) -> None:
        self.stopped = False
        self._ends = socket.socketpair()
        for end in self._ends:
            end.setblocking(False)

    def fileno(self) -> int:
        return self._ends[0].fileno()

    def stop(self) -> None:
        """Stop the thread at its next read (from the loop's thread)."""
        self.stopped = True
        with contextlib.suppress(OSError):
            self._ends[1].send(b"\0")

    def close(self) -> None:
        for end in self._ends:
            end.close()


class _Reader:
    """`recv_into` on a non-blocking socket, waiting in `poll` (`select` where there is
    none) only when nothing has arrived; None once `waker` was stopped.

    The wait asks the kernel to gather up to `_LOW_WATER` bytes first (`SO_RCVLOWAT`: one
    wake-up per 256 KiB, not per segment burst) and looks again every `_SLICE` seconds, so
    a slow trickle is taken too; only no byte at all within the read timeout times out.
    """

    def __init__(self, sock: socket.socket, timeout: float | None, waker: _Waker | None) -> None:
        self._sock = sock
        self._timeout = timeout
        self._waker = waker
        self._low = 1
        self._poll: Any = None
        if hasattr(select, "poll"):
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLIN)
            if waker is not None:
                self._poll.register(waker.fileno(), select.POLLIN)

    def recv(self, view: memoryview) -> int | None:
        """Bytes read into `view` (0: the peer closed); None: woken.

        Raises:
            httpx.ReadError: The connection broke.
            httpx.ReadTimeout: Nothing arrived within the read timeout.
        """
        sock, waker = self._sock, self._waker
        deadline: float | None = None
        while True:
            try:
                return sock.recv_into(view)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as exc:
                raise httpx.ReadError(str(exc)) from exc
            if waker is not None and waker.stopped:
                return None
            now = time.monotonic()
            if deadline is None:
                deadline = None if self._timeout is None else now + self._timeout
            elif deadline is not None and now >= deadline:
                raise httpx.ReadTimeout("timed out")
            self._low_water(min(_LOW_WATER, len(view)))
            self._wait(_SLICE if deadline is None else min(_SLICE, deadline - now))

    def _wait(self, seconds: float) -> None:
        if self._poll is not None:
            self._poll.poll(max(1, math.ceil(seconds * 1000)))
            return
        waiting: list[Any] = [self._sock] if self._waker is None else [self._sock, self._waker]
        select.select(waiting, [], [], seconds)

    def _low_water(self, size: int) -> None:
        if size != self._low and _RCVLOWAT is not None:
            with contextlib.suppress(OSError):
                self._sock.setsockopt(socket.SOL_SOCKET, _RCVLOWAT, size)
                self._low = size

    def close(self) -> None:
        """Leave the socket as found: its next reader (httpcore) waits for any byte."""
        self._low_water(1)


async def _finish(future: asyncio.Future[Any], on_cancel: Callable[[], None] | None = None) -> bool:
    """Wait until work in a worker thread is done, whatever happens meanwhile; whether the
    task was cancelled during the wait (`on_cancel` is called then, to hurry the thread)."""
    cancelled = False
    while not future.done():
        try:
            await asyncio.wait([future])
        except asyncio.CancelledError:
            cancelled = True
            if on_cancel is not None:
                on_cancel()
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
