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
#: Deepest nesting of arrays and objects in a JSON body or JSON text field (the EM's bodies
#: need 3; the cap keeps parsing, validation and error messages free of deep recursion).
MAX_JSON_DEPTH = 32


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


def _check_json_value(data: Any) -> None:
    """400 for a value nested deeper than `MAX_JSON_DEPTH` or holding a lone UTF-16
    surrogate (`\\udXXX`). Walks with its own stack: no recursion, whatever the depth."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise EMError(
                    400, INVALID_PARAMETERS, "JSON parse error - lone UTF-16 surrogate."
                ) from None
            continue
        if isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise _too_deep()
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def _too_deep() -> EMError:
    return EMError(
        400,
        INVALID_PARAMETERS,
        f"JSON parse error - arrays and objects nested deeper than {MAX_JSON_DEPTH} levels.",
    )


def parse_json(text: str | bytes) -> Any:
    """A JSON document as the EM takes it: at most `MAX_JSON_DEPTH` levels, valid Unicode.

    Raises:
        EMError: 400 `INVALID_PARAMETERS` ("JSON parse error - ...") for malformed JSON, too
            deep a nesting (however deep: never a `RecursionError`) or a lone surrogate.
    """
    try:
        data = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise EMError(400, INVALID_PARAMETERS, f"JSON parse error - {exc}") from exc
    _check_json_value(data)
    return data


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
        data = parse_json(body)
        if not isinstance(data, dict):
            raise NotAnObjectError(type(data).__name__)
        return Fields(data, {}, typed=True)
    raise EMError(
        415, UNSUPPORTED_MEDIA_TYPE, f'Unsupported media type "{content_type}" in request.'
    )
