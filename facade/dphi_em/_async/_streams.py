"""Response bodies under the gate: read under their call's deadline, bounded, inflated."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from .._errors import MAX_ANSWER_BYTES
from .._synchronization import as_async_stream
from .._transports._bounds import Inflater, call_deadline

__all__ = ["AsyncGatedStream", "discard"]


class AsyncGatedStream(httpx.AsyncByteStream):
    """A response body read under its call's deadline, cut after `limit` bytes; when closed
    it drops a connection with leftovers and releases the gate (`on_close`)."""

    def __init__(
        self,
        stream: httpx.AsyncByteStream,
        on_close: Callable[[], Awaitable[None]] | None,
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

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._stream.__aiter__()
        size = 0
        while True:
            token = call_deadline.set(self._deadline)
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
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

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                await on_close()


async def discard(response: httpx.Response) -> None:
    """Read a response not returned (a 423 retried) up to the limit, then close it."""
    if response.is_closed:
        return
    try:
        size = 0
        async for chunk in as_async_stream(response.stream):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                break
    finally:
        await response.aclose()
