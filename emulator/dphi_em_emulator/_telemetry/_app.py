"""The telemetry service's HTTP interface (Starlette), as `openapi/tlm-api.yaml` describes it.

Every answer but the images POST is JSON in the wrapper `{"success", "data", "count",
"error"}`; a bad query is `success: false` with status 400. `POST /api/images` answers a PNG
(exactly one name asked for), a stored ZIP (several names, or none: every image), 404 for an
unknown name and plain text for any other failure. An unbounded `GET /api/telemetry` (no
`start_time`, no `end_time`, no `limit`) returns the whole history, streamed slowly, as the
vendor warns the EM does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from ._camera import Camera, stored_zip
from ._history import DATA_TYPES, History
from ._orbit import iso

#: Records an unbounded query sends between two pauses, and the pause (seconds): the whole
#: database comes back, but slowly.
UNBOUNDED_BATCH = 1000
UNBOUNDED_PAUSE = 0.05
#: Most bytes of an images request's body.
MAX_IMAGES_BODY = 1024 * 1024


def wrapper(data: Any, count: int | None = None, status: int = 200) -> JSONResponse:
    return JSONResponse(
        {"success": True, "data": data, "count": count, "error": None}, status_code=status
    )


def failure(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"success": False, "data": None, "count": None, "error": message}, status_code=status
    )


class BadQuery(Exception):
    """A query parameter the service can't use; the message names it and what is allowed."""


def _param(request: Request, name: str) -> str | None:
    """A query parameter by its spec name, or by the docs' spelling without `_`."""
    value = request.query_params.get(name)
    if value is None:
        value = request.query_params.get(name.replace("_", ""))
    return value


def parse_time(name: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadQuery(
            f"Invalid {name} {text!r}: expected an RFC 3339 date-time such as 2026-12-05T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.timestamp()
    except (OverflowError, OSError):  # year 1 east of UTC: before any record anyway
        return -1e12


def parse_type(text: str | None) -> str | None:
    """A data type to filter by (one the database lacks matches nothing, as a filter does)."""
    return text or None


def parse_limit(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit < 1:
        raise BadQuery(f"Invalid limit {text!r}: a whole number of at least 1")
    return limit


class TelemetryApp:
    """The service's routes over a history and a camera."""

    def __init__(self, history: History, camera: Camera) -> None:
        self.history = history
        self.camera = camera

    def app(self) -> Starlette:
        routes = [
            Route("/health", self.health, methods=["GET"]),
            Route("/api/telemetry", self.records, methods=["GET"]),
            Route("/api/telemetry/latest", self.latest, methods=["GET"]),
            Route("/api/telemetry/types", self.types, methods=["GET"]),
            Route("/api/telemetry/stats", self.stats, methods=["GET"]),
            Route("/api/telemetry/tle", self.tle, methods=["GET"]),
            Route("/api/images/list", self.image_list, methods=["GET"]),
            Route("/api/images", self.images, methods=["POST"]),
        ]
        return Starlette(
            routes=routes,
            exception_handlers={HTTPException: self._http_error, BadQuery: self._bad_query},
        )

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        response: Response
        if request.url.path == "/api/images":
            response = PlainTextResponse(str(exc.detail), status_code=exc.status_code)
        else:
            message = f"{request.method} {request.url.path}: {exc.detail}"
            response = failure(message, exc.status_code)
        response.headers.update(exc.headers or {})  # 405: Allow
        return response

    async def _bad_query(self, request: Request, exc: Exception) -> Response:
        return failure(str(exc))

    async def health(self, request: Request) -> Response:
        return wrapper({"status": "healthy", "timestamp": iso(self.history.now())})

    async def records(self, request: Request) -> Response:
        start = parse_time("start_time", _param(request, "start_time"))
        end = parse_time("end_time", _param(request, "end_time"))
        data_type = parse_type(_param(request, "data_type"))
        limit = parse_limit(request.query_params.get("limit"))
        # an end before the start is an empty window, as a database filter makes it
        unbounded = start is None and end is None and limit is None
        records = self.history.query(start, end, data_type, limit)
        return StreamingResponse(_json_list(records, unbounded), media_type="application/json")

    async def latest(self, request: Request) -> Response:
        data = self.history.latest(parse_type(_param(request, "data_type")))
        return wrapper(data, len(data))

    async def types(self, request: Request) -> Response:
        return wrapper(list(DATA_TYPES), len(DATA_TYPES))

    async def stats(self, request: Request) -> Response:
        return wrapper(self.history.stats())

    async def tle(self, request: Request) -> Response:
        orbit = self.history.orbit
        return wrapper(
            {
                "name": orbit.name,
                "line1": orbit.line1,
                "line2": orbit.line2,
                "epoch": iso(orbit.epoch),
            }
        )

    async def image_list(self, request: Request) -> Response:
        names = self.camera.names()
        return wrapper(names, len(names))

    async def images(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_IMAGES_BODY:
            return PlainTextResponse("Request body too large", status_code=413)
        try:
            names, limit, single = self._selection(body)
        except ValueError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        unknown = [name for name in names if not self.camera.has(name)]
        if unknown:
            return PlainTextResponse(f"Image not found: {unknown[0]}", status_code=404)
        if limit is not None:
            names = names[:limit]
        if single and names:
            return Response(self.camera.png(names[0]), media_type="image/png")
        return StreamingResponse(
            stored_zip(self.camera, names),
            media_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="images.zip"'},
        )

    def _selection(self, body: bytes) -> tuple[list[str], int | None, bool]:
        """(names, limit, whether exactly one name was asked for) of an images request."""
        request: Any = {}
        if body.strip():
            try:
                request = json.loads(body)
            except ValueError:
                raise ValueError(
                    "Invalid JSON body: expected {'images': [...], 'limit': n}"
                ) from None
        if not isinstance(request, dict):
            raise ValueError("Invalid body: expected a JSON object {'images': [...], 'limit': n}")
        images = request.get("images")
        limit = request.get("limit")
        if images is not None and (
            not isinstance(images, list) or not all(isinstance(i, str) for i in images)
        ):
            raise ValueError("Invalid 'images': expected a list of image file names")
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)  # JSON Schema: 1.0 is an integer
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ValueError(f"Invalid 'limit' {limit!r}: a whole number of at least 1")
        if not images:
            return self.camera.names(), limit, False
        names = list(dict.fromkeys(images))
        return names, limit, len(images) == 1


def _json_list(records: Iterator[dict[str, Any]], slow: bool) -> Iterator[bytes]:
    """The wrapper around a list of records, written as they come (slowly when `slow`)."""
    yield b'{"success": true, "data": ['
    sent = 0
    for record in records:
        yield (b", " if sent else b"") + json.dumps(record).encode()
        sent += 1
        if slow and sent % UNBOUNDED_BATCH == 0:
            time.sleep(UNBOUNDED_PAUSE)
    yield f'], "count": {sent}, "error": null}}'.encode()
