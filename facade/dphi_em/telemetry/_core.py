"""Decisions of the telemetry clients, without I/O: configuration, requests, answers, windows,
download targets and the ZIP's safe unpacking.

`TelemetryClient` (`_client.py`) and `AsyncTelemetryClient` (`_async_client.py`) only send
what this module builds and hand back what it reads. The generated `tlm_api_client` is
reached here only: its operations' `_get_kwargs` build the requests, its models read the
JSON answers, which become our own types (`_models.py`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio.to_thread
import httpx
from tlm_api_client.api.images import get_images, list_images
from tlm_api_client.api.telemetry import (
    get_latest,
    get_stats,
    get_telemetry,
    get_tle,
    get_types,
    health,
)
from tlm_api_client.models import (
    HealthResponse,
    ImagesRequest,
    NamesResponse,
    RecordsResponse,
    StatsResponse,
    TLEResponse,
)
from tlm_api_client.types import UNSET, Unset

from .._errors import MAX_ANSWER_BYTES, ConfigurationError, LocalFileExistsError, ValidationError
from ._errors import ImageNotFoundError, TelemetryError
from ._models import TLE, Health, Stats, TelemetryRecord

#: Where pods reach the service (a Kubernetes service `satellite-telemetry`, namespace `dphi-tm`).
DEFAULT_TLM_URL = "http://satellite-telemetry.dphi-tm"
#: The environment variable naming another address (e.g. the emulator's ground address).
TLM_URL_ENV = "DPHI_TLM_URL"
#: Seconds a call may take (connect, each read, each write).
DEFAULT_TIMEOUT = 30.0
#: The most images one download asks for (the vendor discourages more than 100).
MAX_IMAGES_PER_CALL = 100
#: The window `iter_records` walks a long span in, unless told otherwise.
DEFAULT_WINDOW = timedelta(hours=1)
#: Bytes written to disk at a time while downloading.
CHUNK_BYTES = 256 * 1024
_ONE_MICROSECOND = timedelta(microseconds=1)
T = TypeVar("T")
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


def resolve_url(base_url: str | None) -> str:
    """`base_url`, else `DPHI_TLM_URL`, else the in-pod address; checked, no trailing slash.

    Raises:
        ConfigurationError: Not an http(s) URL with a host.
    """
    url = base_url or os.environ.get(TLM_URL_ENV) or DEFAULT_TLM_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        source = "base_url" if base_url else TLM_URL_ENV
        raise ConfigurationError(
            f"{source} must be an http(s) URL such as {DEFAULT_TLM_URL}, not {url!r}"
        )
    return url.rstrip("/")


def timeout(seconds: float | None) -> httpx.Timeout:
    if seconds is not None and seconds <= 0:
        raise ValidationError(f"timeout must be positive seconds (or None), not {seconds!r}")
    return httpx.Timeout(seconds)


# -- requests (the generated operations build them) -------------------------------------------


health_request = health._get_kwargs
types_request = get_types._get_kwargs
stats_request = get_stats._get_kwargs
tle_request = get_tle._get_kwargs
image_list_request = list_images._get_kwargs


def latest_request(data_type: str | None) -> dict[str, Any]:
    return get_latest._get_kwargs(data_type=_text("data_type", data_type))


def records_request(
    start: datetime | None, end: datetime | None, data_type: str | None, limit: int | None
) -> dict[str, Any]:
    return get_telemetry._get_kwargs(
        start_time=start if start is not None else UNSET,
        end_time=end if end is not None else UNSET,
        data_type=_text("data_type", data_type),
        limit=limit if limit is not None else UNSET,
    )


def images_request(names: list[str] | None, limit: int | None) -> dict[str, Any]:
    body = ImagesRequest(images=names, limit=limit)
    return get_images._get_kwargs(body=body)


def _text(name: str, value: str | None) -> str | Unset:
    if value is None:
        return UNSET
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{name} must be a non-empty string (or None), not {value!r}")
    return value


# -- records: bounds and windows ----------------------------------------------------------------


def check_time(name: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError(f"{name} must be a datetime (or None), not {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{name} must be timezone-aware (e.g. datetime.now(timezone.utc)), not {value!r}"
        )
    return value


def check_limit(limit: int | None) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError(
            f"limit must be a whole number of at least 1 (or None), not {limit!r}"
        )
    return limit


def check_records_query(
    start: datetime | None,
    end: datetime | None,
    data_type: str | None,
    limit: int | None,
    unbounded: bool,
) -> None:
    """Refuse a query that returns the whole database unless `unbounded` says so.

    Raises:
        ValidationError: No start, no end and no limit (and `unbounded` is False), or a bad
            value.
    """
    check_time("start", start)
    check_time("end", end)
    check_limit(limit)
    _text("data_type", data_type)
    if start is None and end is None and limit is None and not unbounded:
        raise ValidationError(
            "records() without start, end or limit asks for the whole telemetry database, which "
            "the vendor warns may time out: give a window (start=..., end=...), a limit, or "
            "walk a long span with iter_records(start, end, window=...); pass unbounded=True "
            "to ask for everything anyway"
        )
    if start is not None and end is not None and end < start:
        raise ValidationError(f"end ({end.isoformat()}) is before start ({start.isoformat()})")


@dataclass(frozen=True)
class Window:
    """One request of a walk: records in [start, end] (`end` inclusive on the last one)."""

    start: datetime
    end: datetime


def windows(start: datetime, end: datetime, window: timedelta) -> Iterator[Window]:
    """[start, end] cut into windows of `window`; each ends a microsecond before the next
    starts (the service's bounds are inclusive), so no record comes twice.

    Raises:
        ValidationError: Bad bounds or a window that is not positive.
    """
    check_time("start", start)
    check_time("end", end)
    if start is None or end is None:
        raise ValidationError("iter_records needs both start and end (the span to walk)")
    if not isinstance(window, timedelta) or window <= timedelta(0):
        raise ValidationError(f"window must be a positive timedelta, not {window!r}")
    if end < start:
        raise ValidationError(f"end ({end.isoformat()}) is before start ({start.isoformat()})")
    at = start
    while at <= end:
        upto = min(at + window - _ONE_MICROSECOND, end)
        yield Window(at, upto)
        at = upto + _ONE_MICROSECOND


# -- answers ---------------------------------------------------------------------------------


class Body:
    """A response body collected under `MAX_ANSWER_BYTES` (the EM facade's bound)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > MAX_ANSWER_BYTES:
            raise TelemetryError(
                f"the answer to {_call(self.response)} is over the {MAX_ANSWER_BYTES} bytes the "
                "client reads into memory: ask for a narrower window or a limit, or walk the "
                "span with iter_records(..., window=...)",
                status_code=self.response.status_code,
                response=self.response,
            )
        self._parts.append(chunk)

    def content(self) -> bytes:
        return b"".join(self._parts)


def _call(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path}"


def raise_for_answer(response: httpx.Response, content: bytes) -> Any:
    """The JSON of a successful answer; else the `TelemetryError` it means.

    Raises:
        TelemetryError: An error status, `success: false`, or not the wrapper.
    """
    status = response.status_code
    try:
        body: Any = json.loads(content) if content else None
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict) and body.get("success") is False:
        message = str(body.get("error") or "the service answered success: false")
        raise _error(status, message, response)
    if not 200 <= status < 300:
        text = content.decode("utf-8", "replace").strip()[:500] or response.reason_phrase
        raise _error(status, text, response)
    if not isinstance(body, dict) or "success" not in body:
        raise TelemetryError(
            f"{_call(response)} did not answer the service's JSON wrapper",
            status_code=status,
            response=response,
        )
    return body


def _error(status: int, message: str, response: httpx.Response) -> TelemetryError:
    cls = (
        ImageNotFoundError
        if status == 404 and response.request.url.path.endswith("/api/images")
        else TelemetryError
    )
    return cls(message, status_code=status, response=response)


def _read(model: Any, body: Any, response: httpx.Response) -> Any:
    try:
        return model.from_dict(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TelemetryError(
            f"{_call(response)} answered a shape the spec does not allow: {exc!r}",
            status_code=response.status_code,
            response=response,
        ) from exc


def _given(value: Any) -> Any:
    return None if isinstance(value, Unset) else value


def parse_health(body: Any, response: httpx.Response) -> Health:
    data = _read(HealthResponse, body, response).data
    if data is None or isinstance(data, Unset):
        return Health(status="unknown", timestamp=None)
    return Health(status=data.status, timestamp=_given(data.timestamp))


def parse_names(body: Any, response: httpx.Response) -> list[str]:
    data = _read(NamesResponse, body, response).data
    return list(_given(data) or [])


def parse_stats(body: Any, response: httpx.Response) -> Stats:
    data = _given(_read(StatsResponse, body, response).data)
    if data is None:
        raise TelemetryError("the stats answer has no data", status_code=response.status_code)
    breakdown = _given(data.data_type_breakdown)
    return Stats(
        total_records=data.total_records,
        data_types_count=_given(data.data_types_count),
        data_type_breakdown=dict(breakdown.additional_properties) if breakdown else {},
        earliest_timestamp=_given(data.earliest_timestamp),
        latest_timestamp=_given(data.latest_timestamp),
    )


def parse_tle(body: Any, response: httpx.Response) -> TLE:
    data = _given(_read(TLEResponse, body, response).data)
    tle = TLE.parse(data.to_dict()) if data is not None else None
    if tle is None:
        raise TelemetryError("the TLE answer has no two-line set", status_code=response.status_code)
    return tle


def parse_records(body: Any, response: httpx.Response) -> list[TelemetryRecord]:
    records = _given(_read(RecordsResponse, body, response).data) or []
    return [
        TelemetryRecord.parse(
            id=str(record.id),
            timestamp=record.timestamp,
            data_type=record.data_type,
            data=dict(record.data.additional_properties),
            original_timestamp=_given(record.original_timestamp),
            created_at=_given(record.created_at),
        )
        for record in records
    ]


# -- images ------------------------------------------------------------------------------------


def check_image_name(name: str) -> str:
    """A plain image file name (no folder, nothing hidden).

    Raises:
        ValidationError: Anything else, named.
    """
    if not isinstance(name, str) or not _IMAGE_NAME.fullmatch(name) or ".." in name:
        raise ValidationError(
            f"image name {name!r} is not a plain file name (letters, digits, '.', '_', '-'; "
            "no folders), as /api/images/list gives them"
        )
    return name


def check_images_query(names: Sequence[str] | str | None, limit: int | None) -> list[str] | None:
    """The names to send (None: every image, up to `limit`).

    Raises:
        ValidationError: Neither names nor limit, too many, or a bad name.
    """
    if isinstance(names, str):
        names = [names]
    check_limit(limit)
    if names is not None:
        names = [check_image_name(n) for n in names]
    if not names and limit is None:
        raise ValidationError(
            "download_images needs names or a limit: without either it asks for every image "
            f"(the vendor discourages more than {MAX_IMAGES_PER_CALL} per request)"
        )
    count = len(names) if names else limit or 0
    if limit is not None:
        count = min(count, limit)
    if count > MAX_IMAGES_PER_CALL:
        raise ValidationError(
            f"{count} images in one request: at most {MAX_IMAGES_PER_CALL} (ask in batches)"
        )
    return list(names) if names else None


class Target:
    """Where a download goes: a temporary file in `dest`, then PNGs in `dest`.

    Nothing is left behind on failure: `discard()` removes the temporary file and every PNG
    this download wrote.
    """

    def __init__(self, dest: str | os.PathLike[str], overwrite: bool) -> None:
        self.dest = Path(dest)
        if self.dest.exists() and not self.dest.is_dir():
            raise ValidationError(f"dest {str(self.dest)!r} is not a folder")
        self.dest.mkdir(parents=True, exist_ok=True)
        self.overwrite = overwrite
        fd, name = tempfile.mkstemp(prefix=".tlm-download-", suffix=".part", dir=self.dest)
        self.file = os.fdopen(fd, "wb")
        self.temp = Path(name)
        self.written: list[Path] = []
        self.parts: list[Path] = []

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)

    def finish(self, content_type: str, single: str | None) -> list[Path]:
        """Unpack what was received: the PNG itself (one name asked for) or the ZIP.

        Raises:
            TelemetryError: Neither a PNG nor a ZIP, or a ZIP with a member that is not a
                plain image name (nothing of it is written).
            LocalFileExistsError: A target exists and `overwrite` is False.
        """
        self.file.close()
        kind = content_type.split(";")[0].strip().lower()
        if kind == "image/png" or (kind != "application/zip" and single and _is_png(self.temp)):
            name = single or "image.png"
            self._place(self.temp, self.dest / check_image_name(name))
            return list(self.written)
        if kind != "application/zip" and not zipfile.is_zipfile(self.temp):
            raise TelemetryError(
                f"the images answer is neither a PNG nor a ZIP (Content-Type {content_type!r})",
                status_code=200,
            )
        try:
            with zipfile.ZipFile(self.temp) as archive:
                members = archive.infolist()
                for member in members:
                    _check_member(member)
                for member in members:
                    part = self.dest / f".{member.filename}.part"
                    self.parts.append(part)
                    with archive.open(member) as source, open(part, "wb") as out:
                        shutil.copyfileobj(source, out, CHUNK_BYTES)
                    self._place(part, self.dest / member.filename)
        except zipfile.BadZipFile as exc:
            raise TelemetryError(f"the images ZIP is unreadable: {exc}", status_code=200) from exc
        self.temp.unlink(missing_ok=True)
        return list(self.written)

    def _place(self, source: Path, target: Path) -> None:
        if target.exists() and not self.overwrite:
            source.unlink(missing_ok=True)
            raise LocalFileExistsError(f"{target} exists (pass overwrite=True to replace it)")
        source.replace(target)
        self.written.append(target)

    def discard(self) -> None:
        if not self.file.closed:
            self.file.close()
        self.temp.unlink(missing_ok=True)
        for path in [*self.parts, *self.written]:
            path.unlink(missing_ok=True)


def _is_png(path: Path) -> bool:
    with open(path, "rb") as file:
        return file.read(8) == b"\x89PNG\r\n\x1a\n"


def _check_member(member: zipfile.ZipInfo) -> None:
    """A ZIP member must be a plain image file name: no folder, no `..`, not absolute."""
    if member.is_dir() or not _IMAGE_NAME.fullmatch(member.filename) or ".." in member.filename:
        raise TelemetryError(
            f"the images ZIP holds {member.filename!r}, not a plain image file name: "
            "nothing was unpacked",
            status_code=200,
        )


def run_here(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`: the synchronous client's stand-in for `run_in_thread`."""
    return function(*args)


async def run_in_thread(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in a worker thread (the async client's blocking file I/O)."""
    return await anyio.to_thread.run_sync(function, *args)
