"""`AsyncTelemetryClient`: the satellite telemetry service's client for asyncio.

The async client (`_async_client.py`) is written by hand; the synchronous one (`_client.py`)
is generated from it by scripts/unasync.py (`make check` fails when the two drift). Every
decision is in `_core.py`; these only send and receive.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from .._async._closing import AsyncClosing
from .._errors import ClientClosedError, map_transport_errors
from . import _core
from ._core import run_in_thread as _run
from ._models import TLE, Health, Stats, TelemetryRecord


class AsyncTelemetryClient(AsyncClosing):
    """A client of the satellite's telemetry service (`satellite-telemetry.dphi-tm`).

    ```python
    async with AsyncTelemetryClient() as tlm:  # in a pod; DPHI_TLM_URL elsewhere
        (latest,) = await tlm.latest("complete")
        print(latest.position, await tlm.tle())
    ```

    Args:
        base_url: The service's address; default `DPHI_TLM_URL`, else
            `http://satellite-telemetry.dphi-tm` (where pods reach it).
        timeout: Seconds for connecting and for each read or write (None: no limit).
        transport: An httpx transport to send through (tests, proxies).

    Raises:
        ConfigurationError: The address is not an http(s) URL.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float | None = _core.DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = _core.resolve_url(base_url)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=_core.timeout(timeout), transport=transport
        )
        self._closed = False

    async def aclose(self) -> None:
        """Close the connections; the client can't be used afterwards."""
        self._closed = True
        await self._http.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("the telemetry client is closed")

    async def _json(self, kwargs: dict[str, Any]) -> tuple[Any, httpx.Response]:
        """The wrapper of a JSON answer (read up to `MAX_ANSWER_BYTES`) and the response."""
        self._check_open()
        async with map_transport_errors(), self._http.stream(**kwargs) as response:
            body = _core.Body(response)
            async for chunk in response.aiter_bytes():
                body.feed(chunk)
        return _core.raise_for_answer(response, body.content()), response

    async def health(self) -> Health:
        """The service's status and time (`GET /health`)."""
        return _core.parse_health(*await self._json(_core.health_request()))

    async def types(self) -> list[str]:
        """The data types in the database (`complete`, `position`, ...)."""
        return _core.parse_names(*await self._json(_core.types_request()))

    async def stats(self) -> Stats:
        """How many records of each type, and the time they span."""
        return _core.parse_stats(*await self._json(_core.stats_request()))

    async def tle(self) -> TLE:
        """The latest two-line element set of the satellite's orbit."""
        return _core.parse_tle(*await self._json(_core.tle_request()))

    async def latest(self, data_type: str | None = None) -> list[TelemetryRecord]:
        """The latest record of each type, or of `data_type` only."""
        return _core.parse_records(*await self._json(_core.latest_request(data_type)))

    async def records(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        data_type: str | None = None,
        limit: int | None = None,
        *,
        unbounded: bool = False,
    ) -> list[TelemetryRecord]:
        """Records in [start, end] (timezone-aware, inclusive), oldest first.

        Args:
            start: The window's start (None: from the first record).
            end: The window's end (None: up to now).
            data_type: Only this type's records.
            limit: At most this many (the first ones).
            unbounded: Allow a query without start, end or limit, which returns the whole
                database (the vendor warns it may time out).

        Raises:
            ValidationError: No start, end or limit without `unbounded=True`, or a bad value.
            TelemetryError: The service refused, or the answer is over `MAX_ANSWER_BYTES`.
        """
        _core.check_records_query(start, end, data_type, limit, unbounded)
        request = _core.records_request(start, end, data_type, limit)
        return _core.parse_records(*await self._json(request))

    async def iter_records(
        self,
        start: datetime,
        end: datetime,
        data_type: str | None = None,
        *,
        window: timedelta = _core.DEFAULT_WINDOW,
        limit: int | None = None,
    ) -> AsyncIterator[TelemetryRecord]:
        """Records in [start, end], oldest first, asked for one `window` at a time (a long
        span never comes back as one huge answer).

        Raises:
            ValidationError: Bad bounds, window or limit.
            TelemetryError: The service refused a window.
        """
        _core.check_limit(limit)
        sent = 0
        for part in _core.windows(start, end, window):
            left = None if limit is None else limit - sent
            request = _core.records_request(part.start, part.end, data_type, left)
            for record in _core.parse_records(*await self._json(request)):
                yield record
                sent += 1
            if limit is not None and sent >= limit:
                return

    async def image_names(self) -> list[str]:
        """The fisheye camera's image file names."""
        return _core.parse_names(*await self._json(_core.image_list_request()))

    async def download_images(
        self,
        names: Sequence[str] | str | None = None,
        *,
        limit: int | None = None,
        dest: str | os.PathLike[str] = ".",
        overwrite: bool = False,
    ) -> list[Path]:
        """Download images into the folder `dest`, streamed to disk (flat memory).

        One name comes back as the PNG itself; several (or a `limit` of every image) as a
        stored ZIP, unpacked into `dest` (plain file names only: nothing outside `dest`).
        Nothing is left behind on failure.

        Args:
            names: Image names (from `image_names()`), or one name.
            limit: At most this many images (without names: the first `limit`).
            dest: The folder to write into (created when missing).
            overwrite: Replace images already in `dest`.

        Returns:
            The PNGs written.

        Raises:
            ValidationError: Neither names nor limit, over 100 images, or a bad name.
            ImageNotFoundError: The camera has no image of a name.
            LocalFileExistsError: An image exists in `dest` and `overwrite` is False.
        """
        wanted = _core.check_images_query(names, limit)
        single = wanted[0] if wanted is not None and len(wanted) == 1 else None
        request = _core.images_request(wanted, limit)
        self._check_open()
        target = await _run(_core.Target, dest, overwrite)
        try:
            async with map_transport_errors(), self._http.stream(**request) as response:
                if response.status_code != 200:
                    body = _core.Body(response)
                    async for chunk in response.aiter_bytes():
                        body.feed(chunk)
                    _core.raise_for_answer(response, body.content())
                async for chunk in response.aiter_bytes(_core.CHUNK_BYTES):
                    await _run(target.write, chunk)
            kind = response.headers.get("content-type", "")
            return await _run(target.finish, kind, single)
        except BaseException:
            await _run(target.discard)
            raise
