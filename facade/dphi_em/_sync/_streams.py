"""Response bodies under the gate: read under their call's deadline, bounded, inflated."""

# Generated from _async/_streams.py by scripts/unasync.py: edit that file, not this one.

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx

from .._errors import MAX_ANSWER_BYTES
from .._synchronization import as_sync_stream
from .._transports._bounds import Inflater, call_deadline

__all__ = ["GatedStream", "discard"]


class GatedStream(httpx.SyncByteStream):
    """A response body read under its call's deadline, cut after `limit` bytes; when closed
    it drops a connection with leftovers and releases the gate (`on_close`)."""

    def __init__(
        self,
        stream: httpx.SyncByteStream,
        on_close: Callable[[], None] | None,
        *,
        deadline: float | None,
        limit: int | None,
        inflater: Inflater | None = None,
    ) -> None:
        self._stream = stream
        self._on_close = on_close
        self._deadline = deadline
        self._limit = limit
        self._inflater = inflater

    def __iter__(self) -> Iterator[bytes]:
        chunks = self._stream.__iter__()
        size = 0
        while True:
            token = call_deadline.set(self._deadline)
            try:
                chunk = chunks.__next__()
            except StopIteration:
                return
            finally:
                call_deadline.reset(token)
            if self._inflater is not None and self._limit is not None:
                chunk = self._inflater.feed(chunk, self._limit - size + 1)
                if self._inflater.failed:
                    return  # not what it said it is: the answer ends here, unreadable
            yield chunk
            size += len(chunk)
            if self._limit is not None and size > self._limit:
                return  # the rest stays unread: closing drops the connection

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()


def discard(response: httpx.Response) -> None:
    """Read a response not returned (a 423 retried) up to the limit, then close it."""
    if response.is_closed:
        return
    try:
        size = 0
        for chunk in as_sync_stream(response.stream):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                break
    finally:
        response.close()
