"""Error envelopes: one exception raised by handlers, turned into JSON in one place.

`/em/` errors: `{"error": "CODE", "message": "...", "log_tail": [...]}` (`log_tail` on build
and load failures only). Authentication errors use Django REST Framework's `{"detail": ...}`.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import JSONResponse

# The codes the emulator answers with (the vendor documents the first four; the others are
# the emulator's names for its other documented failures).
NO_FILES = "NO_FILES"
MAX_UPLINK_SIZE_EXCEEDED = "MAX_UPLINK_SIZE_EXCEEDED"
BUILD_FAILED = "BUILD_FAILED"
IMAGE_LOAD_FAILED = "IMAGE_LOAD_FAILED"
INVALID_PARAMETERS = "INVALID_PARAMETERS"
INVALID_PATH = "INVALID_PATH"
ILLEGAL_PATH = "ILLEGAL_PATH"
FILE_NOT_FOUND = "FILE_NOT_FOUND"
DELETE_FAILED = "DELETE_FAILED"
NAMESPACE_CREATION_FAILED = "NAMESPACE_CREATION_FAILED"
NAMESPACE_NOT_FOUND = "NAMESPACE_NOT_FOUND"
POD_NOT_FOUND = "POD_NOT_FOUND"
LOCKED = "LOCKED"
REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
NOT_FOUND = "NOT_FOUND"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
INTERNAL_ERROR = "INTERNAL_ERROR"
#: The data dir is full (an emulator-only code: the EM's answer is not known).
INSUFFICIENT_STORAGE = "INSUFFICIENT_STORAGE"


class EMError(Exception):
    """An `/em/` failure: its status, code, message and optional log tail."""

    def __init__(
        self,
        status_code: int,
        error: str,
        message: str,
        log_tail: Sequence[str] | None = None,
    ) -> None:
        message = message.encode("utf-8", "replace").decode("utf-8")
        super().__init__(message)
        self.status_code = status_code
        self.error = error
        self.message = message
        self.log_tail = list(log_tail) if log_tail is not None else None

    def response(self) -> JSONResponse:
        body: dict[str, object] = {"error": self.error, "message": self.message}
        if self.log_tail is not None:
            body["log_tail"] = self.log_tail
        return JSONResponse(body, status_code=self.status_code)


def bad_parameter(message: str) -> EMError:
    return EMError(400, INVALID_PARAMETERS, message)


def detail_response(status_code: int, detail: str, **extra: object) -> JSONResponse:
    """A Django REST Framework style error body."""
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if status_code == 401 else None
    return JSONResponse({"detail": detail, **extra}, status_code=status_code, headers=headers)
