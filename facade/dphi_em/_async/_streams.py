"""Response bodies under the gate: read under their call's deadline, bounded, inflated."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from .._errors import MAX_ANSWER_BYTES
from .._sync._streams import as_sync
from .._transports._bounds import Inflater, call_deadline

__all__ = ["AsyncGatedStream", "adiscard", "as_async"]


class AsyncGatedStream(httpx.AsyncByteStream):
    """The async twin of `GatedStream`."""

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
                    return
            yield chunk
            size += len(chunk)
            if self._limit is not None and size > self._limit:
                return

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                await on_close()


async def adiscard(response: httpx.Response) -> None:
    """The async twin of `discard`."""
    if response.is_closed:
        return
    try:
        size = 0
        async for chunk in as_async(response.stream):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                break
    finally:
        await response.aclose()


class _SyncAsAsync(httpx.AsyncByteStream):
    """A sync body (e.g. from a test handler) offered to async readers."""

    def __init__(self, stream: httpx.SyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        self._stream.close()


def as_async(stream: Any) -> httpx.AsyncByteStream:
    if isinstance(stream, httpx.AsyncByteStream):
        return stream
    return _SyncAsAsync(as_sync(stream))
