"""Request bodies as Django REST Framework reads them: JSON, urlencoded or multipart.

`Fields.get` treats an empty string and a JSON null as "not given", as the EM does with what
the vendor's client sends (`pod_name=""`, `"scheduled_time": null`).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.types import Message

from ._errors import INVALID_PARAMETERS, UNSUPPORTED_MEDIA_TYPE, EMError

#: Largest non-uplink body accepted.
_MAX_BODY = 1024 * 1024


class Fields:
    """The fields of one request body; `typed` is True for JSON (values keep their types)."""

    def __init__(self, values: dict[str, Any], lists: dict[str, list[Any]], typed: bool) -> None:
        self._values = values
        self._lists = lists
        self.typed = typed

    def get(self, name: str) -> Any:
        value = self._values.get(name)
        return None if value is None or value == "" else value

    def get_list(self, name: str) -> list[Any] | None:
        """A list field: a JSON array, or the repeated values of a form field."""
        if self.typed:
            return self.get(name)  # type: ignore[no-any-return]
        values = [value for value in self._lists.get(name, []) if value != ""]
        return values or None


def _encodable(value: Any) -> bool:
    """Whether every string in a JSON value is valid Unicode (no lone `\\udXXX` escapes)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(key) and _encodable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_encodable(item) for item in value)
    return True


class NotAnObjectError(EMError):
    """A JSON body that is not an object (DRF: "Expected a dictionary, but got list.")."""

    def __init__(self, type_name: str) -> None:
        super().__init__(
            400, INVALID_PARAMETERS, f"Invalid data. Expected a dictionary, but got {type_name}."
        )


async def _read_capped(request: Request) -> bytes:
    """The body, read as it comes; past `_MAX_BODY` bytes (whatever Content-Length said, or
    with none, as for a chunked body) the request is refused without reading on."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_BODY:
            raise EMError(400, INVALID_PARAMETERS, "Request body too large.")
    return bytes(body)


def _replay(request: Request, body: bytes) -> Request:
    """A request over the same scope whose body is `body` (already read)."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


async def read_fields(request: Request) -> Fields:
    """The body's fields; an absent body has none.

    Raises:
        EMError: 400 for a malformed or oversized body, 415 for another media type.
    """
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > _MAX_BODY:
        raise EMError(400, INVALID_PARAMETERS, "Request body too large.")
    body = await _read_capped(request)
    if media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form: FormData = await _replay(request, body).form(max_files=0, max_fields=1000)
        except Exception as exc:
            raise EMError(400, INVALID_PARAMETERS, f"Form parse error - {exc}") from exc
        values = {key: value for key, value in form.items() if isinstance(value, str)}
        lists = {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}
        return Fields(values, lists, typed=False)
    if not body.strip():
        return Fields({}, {}, typed=media_type in ("", "application/json"))
    if media_type in ("application/json", "") or media_type.endswith("+json"):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EMError(400, INVALID_PARAMETERS, f"JSON parse error - {exc}") from exc
        if not isinstance(data, dict):
            raise NotAnObjectError(type(data).__name__)
        if not _encodable(data):
            raise EMError(400, INVALID_PARAMETERS, "JSON parse error - lone UTF-16 surrogate.")
        return Fields(data, {}, typed=True)
    raise EMError(
        415, UNSUPPORTED_MEDIA_TYPE, f'Unsupported media type "{content_type}" in request.'
    )
