"""What bounds a call: its total deadline, the bytes of an answer read into memory, and
which calls are transfers (no total deadline, bodies streamed).

A call that is not a transfer (the uplink and downlink paths, `TRANSFER_PATHS`) must be
answered, body included, within `call_timeout` seconds (`DEFAULT_CALL_TIMEOUT`, retries and
their waits included): the retrying transport sets `call_deadline` while it sends and reads,
and every socket read and write waits at most what is left (`time_left`). A body is read
into memory up to `MAX_ANSWER_BYTES` plus one read at most, except a successful transfer's;
a `gzip` or `deflate` answer is inflated here (`Inflater`), to that limit, instead of by
httpx.
"""

from __future__ import annotations

import contextvars
import time
import zlib

import httpx

from .._errors import MAX_ANSWER_BYTES, ValidationError

__all__ = [
    "BEARER",
    "DEADLINE_MESSAGE",
    "DEFAULT_CALL_TIMEOUT",
    "READ_SIZE",
    "TRANSFER_PATHS",
    "Inflater",
    "answer_limit",
    "call_deadline",
    "check_call_timeout",
    "inflater_for",
    "is_transfer",
    "request_label",
    "time_left",
]

#: Most bytes taken from the socket in one read (httpcore asks for 64 KiB).
READ_SIZE = 1024 * 1024
#: Seconds a call that is not a transfer may take in all, answer included (10 minutes: an
#: image build answers when it is done).
DEFAULT_CALL_TIMEOUT = 600.0
#: Paths (under the base URL) whose calls are transfers: no total deadline, bodies streamed.
TRANSFER_PATHS = ("/em/files/uplink", "/em/files/downlink")

#: When the call being read or written must be done (monotonic seconds), or None.
call_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "dphi_em_deadline", default=None
)


def is_transfer(request: httpx.Request) -> bool:
    """Whether `request` is an uplink or a downlink (`TRANSFER_PATHS`)."""
    return request.url.path.rstrip("/").endswith(TRANSFER_PATHS)


def check_call_timeout(value: float | None) -> float | None:
    """`call_timeout=` checked: positive seconds, or None for no total deadline.

    Raises:
        ValidationError: Not a positive number or None.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValidationError(
            f"call_timeout must be a positive number of seconds or None, got {value!r}."
        )
    return float(value)


def request_label(request: httpx.Request) -> str:
    """`METHOD /path` for a log line (no query, no credentials)."""
    return f"{request.method} {request.url.path}"


#: `_auth.BEARER_EXTENSION` (not imported: `_auth` imports the transports' gates).
BEARER = "dphi_em.bearer"


class Inflater:
    """A gzip or deflate decoder that never makes more than it is asked for."""

    def __init__(self, encoding: str) -> None:
        gzip = encoding in ("gzip", "x-gzip")
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
        self._raw_deflate_next = not gzip  # `deflate` is zlib-wrapped, or raw as some send it
        self.failed = False

    def feed(self, data: bytes, room: int) -> bytes:
        """At most `room` bytes decoded from `data` (b"" and `failed` when it is not)."""
        try:
            out = self._inflater.decompress(data, max(1, room))
        except zlib.error:
            if self._raw_deflate_next:
                self._raw_deflate_next = False
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(data, room)
            self.failed = True
            return b""
        self._raw_deflate_next = False
        return out


def inflater_for(response: httpx.Response, limit: int | None) -> Inflater | None:
    """For a bounded answer sent gzip or deflate: a bounded decoder, taking over from httpx's
    (which would inflate a small bomb into gigabytes before any limit is checked)."""
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if limit is None or encoding not in ("gzip", "x-gzip", "deflate"):
        return None
    del response.headers["Content-Encoding"]
    return Inflater(encoding)


def answer_limit(request: httpx.Request, response: httpx.Response) -> int | None:
    """Most body bytes read into memory: none for a successful transfer, else the limit."""
    if is_transfer(request) and response.is_success:
        return None
    return MAX_ANSWER_BYTES


def time_left(timeout: float | None, error: type[Exception]) -> tuple[float | None, bool]:
    """The timeout of one socket operation under the call's deadline, and whether the
    deadline is what limits it.

    Raises:
        error: The deadline passed already.
    """
    deadline = call_deadline.get()
    if deadline is None:
        return timeout, False
    left = deadline - time.monotonic()
    if left <= 0:
        raise error(DEADLINE_MESSAGE)
    if timeout is None or left < timeout:
        return left, True
    return timeout, False


DEADLINE_MESSAGE = "the call took longer than its call_timeout"
