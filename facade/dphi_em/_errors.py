"""The exceptions of `dphi_em`: one tree, rooted at `EMError`.

```
EMError
├── ConfigurationError             missing credentials, bad server URL
├── ValidationError (ValueError)   bad input, detected before anything is sent
│   └── FileTooLargeError          one local file over the per-call uplink limit
├── LocalFileExistsError (FileExistsError)  downlink target exists, overwrite not asked
├── ClientClosedError (RuntimeError)        the client was closed
├── RevisionError                  the server's API revision lacks the operation
├── PodFailedError                 the pod can never reach the awaited state
├── WaitTimeoutError (TimeoutError)         the pod did not reach it in time
├── TransportError                 no usable HTTP response
│   ├── ConnectionFailedError      could not connect
│   ├── RequestTimeoutError (TimeoutError)
│   └── IncompleteDownloadError    the body ended before its Content-Length
└── APIError                       the server answered with an error status
    ├── BadRequestError            400
    │   ├── NoFilesError           400 NO_FILES
    │   ├── UplinkTooLargeError    400 MAX_UPLINK_SIZE_EXCEEDED
    │   ├── BuildFailedError       400 BUILD_FAILED (see `log_tail`)
    │   └── ImageLoadFailedError   400 IMAGE_LOAD_FAILED (see `log_tail`)
    ├── AuthenticationError        401 (bad credentials, or a token refused after a refresh)
    ├── ForbiddenPathError         403 (a path outside the volume)
    ├── NotFoundError              404
    │   └── LogsUnavailableError   the server keeps no console output (the EM)
    ├── BusyError                  423 LOCKED, still busy after the retries
    ├── ServerError                5xx
    └── TelemetryError             the telemetry service failed (`dphi_em.telemetry._errors`)
        └── ImageNotFoundError     404: no image of that name
```

Every HTTP response goes through `raise_for_response`, which picks the class from the
server's `error` code, else from the status. `APIError` carries `status_code`, `code`,
`message`, `log_tail` and the `response`.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Mapping
from typing import Any

import httpx

from ._exits import OnExit

__all__ = [
    "MAX_ANSWER_BYTES",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BuildFailedError",
    "BusyError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectionFailedError",
    "EMError",
    "FileTooLargeError",
    "ForbiddenPathError",
    "ImageLoadFailedError",
    "IncompleteDownloadError",
    "LocalFileExistsError",
    "LogsUnavailableError",
    "NoFilesError",
    "NotFoundError",
    "PodFailedError",
    "RequestTimeoutError",
    "RevisionError",
    "ServerError",
    "TransportError",
    "UplinkTooLargeError",
    "ValidationError",
    "WaitTimeoutError",
    "connection_refused",
    "map_transport_errors",
    "parse_retry_after",
    "raise_for_response",
]


class EMError(Exception):
    """The root of every exception raised by `dphi_em`."""


class ConfigurationError(EMError):
    """The client is missing a setting it needs (credentials) or has an invalid one."""


class ValidationError(EMError, ValueError):
    """An argument is invalid; nothing was sent."""


class FileTooLargeError(ValidationError):
    """A local file is larger than one uplink call may carry; nothing was sent."""


class LocalFileExistsError(EMError, builtins.FileExistsError):
    """The downlink target exists and `overwrite=True` was not given."""


class ClientClosedError(EMError, RuntimeError):
    """The client was closed and cannot be used again."""


class RevisionError(EMError):
    """The server's revision of the EM API lacks what was asked; nothing was sent.

    Attributes:
        revision: The server's revision as the client knows it (`2025-11` or `2026-01`).
    """

    def __init__(self, message: str, *, revision: str) -> None:
        super().__init__(message)
        self.revision = revision


class PodFailedError(EMError):
    """A pod can never reach the awaited state (e.g. `ImagePullBackOff`).

    Attributes:
        pod_name: The pod (None: the default pod).
        state: The last `PodState` seen.
    """

    def __init__(self, message: str, *, pod_name: str | None, state: Any) -> None:
        super().__init__(message)
        self.pod_name = pod_name
        self.state = state


class WaitTimeoutError(EMError, builtins.TimeoutError):
    """A pod did not reach the awaited state in time.

    Attributes:
        pod_name: The pod (None: the default pod).
        state: The last `PodState` seen, or None.
    """

    def __init__(self, message: str, *, pod_name: str | None, state: Any) -> None:
        super().__init__(message)
        self.pod_name = pod_name
        self.state = state


class TransportError(EMError):
    """No usable HTTP response: the connection failed, timed out or broke.

    Attributes:
        request: The request that failed, as a bare `httpx.Request` (its `method` and `url`;
            no headers, so no token), or None when not known.
    """

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class ConnectionFailedError(TransportError):
    """The server could not be reached."""


class RequestTimeoutError(TransportError, builtins.TimeoutError):
    """A connect, read, write or pool timeout expired."""


class IncompleteDownloadError(TransportError):
    """A downlink body ended before the length the server announced."""


class APIError(EMError):
    """The server answered with an error status.

    Attributes:
        status_code: The HTTP status.
        code: The server's machine-readable `error` code (e.g. `BUILD_FAILED`), or None.
        message: The server's message.
        log_tail: The last lines of a build or load log (empty for other errors).
        response: The `httpx.Response`, its body read.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        log_tail: list[str] | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.log_tail: list[str] = list(log_tail or [])
        self.response = response
        prefix = f"{status_code} {code}" if code else str(status_code)
        super().__init__(f"{prefix}: {message}{self._reason()}")

    def _reason(self) -> str:
        """What the message adds after the server's message (nothing here)."""
        return ""

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), self.message, self.status_code, self.code, self.log_tail))


def _rebuild(
    cls: type[APIError], message: str, status_code: int, code: str | None, log_tail: list[str]
) -> APIError:
    return cls(message, status_code=status_code, code=code, log_tail=log_tail)


class BadRequestError(APIError):
    """400: the server refused the request's parameters."""


class NoFilesError(BadRequestError):
    """400 NO_FILES: an uplink carried no file."""


class UplinkTooLargeError(BadRequestError):
    """400 MAX_UPLINK_SIZE_EXCEEDED: more than the per-call limit in one uplink."""


#: Lines of `log_tail` a `BuildFailedError`'s message repeats, and most characters of each.
_REASON_LINES = 5
_REASON_WIDTH = 200


class BuildFailedError(BadRequestError):
    """400 BUILD_FAILED: the image build failed; `log_tail` holds the end of the build log.

    The message (`str(error)`) ends with the reason: the last non-empty lines of `log_tail`
    (at most 5, each cut at 200 characters).
    """

    def _reason(self) -> str:
        lines = [line.rstrip() for line in self.log_tail if line.strip()][-_REASON_LINES:]
        if not lines:
            return ""
        shown = [
            line if len(line) <= _REASON_WIDTH else line[: _REASON_WIDTH - 3] + "..."
            for line in lines
        ]
        return "\n  " + "\n  ".join(shown)


class ImageLoadFailedError(BadRequestError):
    """400 IMAGE_LOAD_FAILED: loading the tar failed; `log_tail` holds the end of the log."""


class AuthenticationError(APIError):
    """401: bad credentials, or a token still refused after a refresh and a new login."""


class ForbiddenPathError(APIError):
    """403: the path leads outside the volume."""


class NotFoundError(APIError):
    """404: no such file, folder or pod."""


class LogsUnavailableError(NotFoundError):
    """The server keeps no console output (the EM: only the local emulator does)."""


class BusyError(APIError):
    """423 LOCKED: the EM was still busy when the retries ran out; nothing was done.

    Attributes:
        retry_after: The server's `Retry-After` in seconds, or None.
    """

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait, when it said."""
        if self.response is None:
            return None
        return parse_retry_after(self.response.headers.get("Retry-After"))


class ServerError(APIError):
    """5xx: the server failed."""


_BY_CODE: Mapping[str, type[APIError]] = {
    "NO_FILES": NoFilesError,
    "MAX_UPLINK_SIZE_EXCEEDED": UplinkTooLargeError,
    "BUILD_FAILED": BuildFailedError,
    "IMAGE_LOAD_FAILED": ImageLoadFailedError,
}
_BY_STATUS: Mapping[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenPathError,
    404: NotFoundError,
    423: BusyError,
}
_MAX_TEXT = 500
#: Most bytes of an answer (JSON or an error) the client reads into memory: 16 MiB.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import datetime, timezone
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _error_class(status: int, code: str | None) -> type[APIError]:
    if code is not None and code in _BY_CODE:
        return _BY_CODE[code]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return APIError


def raise_for_response(response: httpx.Response, *, hint: str | None = None) -> None:
    """Raise the `APIError` subclass matching an error response; return on any 2xx.

    Args:
        response: A response; its body is read here when it was streamed.
        hint: A sentence the message ends with (e.g. where a refused password came from).

    Raises:
        APIError: A subclass chosen by the server's `error` code, else by the status.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    with contextlib.suppress(httpx.StreamError):  # closed unread: judge by the status
        response.read()  # bounded by the transport (`MAX_ANSWER_BYTES`)
    code: str | None = None
    message: str | None = None
    log_tail: list[str] = []
    body: Any = None
    unreadable: str | None = None
    if _is_oversized(response):
        unreadable = f"an error answer over the {MAX_ANSWER_BYTES} bytes the client reads"
    else:
        try:
            body = response.json()
        except RecursionError:
            unreadable = "an error answer of JSON nested too deeply to read"
        except (ValueError, httpx.ResponseNotRead):
            body = None  # not JSON: its text is the message
    if isinstance(body, dict):
        raw_code = body.get("error", body.get("code"))
        code = str(raw_code) if raw_code is not None else None
        raw_message = body.get("message", body.get("detail"))
        message = str(raw_message) if raw_message is not None else None
        raw_tail = body.get("log_tail")
        if isinstance(raw_tail, list):
            log_tail = [str(line) for line in raw_tail]
    if unreadable is not None:
        message = f"{response.reason_phrase} ({unreadable}, from {_call(response)})"
    if not message:
        try:
            text = response.text.strip()
        except httpx.ResponseNotRead:
            text = ""
        message = text[:_MAX_TEXT] if text and body is None else response.reason_phrase
    cls = _error_class(status, code)
    cls, message = _endpoint_hint(response, cls, code, message or "")
    if hint:
        message = f"{message.rstrip('.')}: {hint}."
    raise cls(message, status_code=status, code=code, log_tail=log_tail, response=response)


#: The emulator's console-log endpoint, and the downlink's.
_LOG_PATH = "/em/emulator/pod/log"
_DOWNLINK_PATH = "/em/files/downlink"
#: What to do instead of reading a pod's console on the EM (the vendor's advice: the pod
#: writes what it wants to keep under /data, in its volume).
NO_CONSOLE_ADVICE = (
    "the EM keeps no console output: log to /data (e.g. start a shell entry point with "
    "'exec >/data/run.log 2>&1') and downlink the file"
)


def _endpoint_hint(
    response: httpx.Response, cls: type[APIError], code: str | None, message: str
) -> tuple[type[APIError], str]:
    """A clearer class or message for an error of one endpoint (else as given)."""
    try:
        url = response.request.url
    except RuntimeError:  # a response built without a request
        return cls, message
    path = url.path
    if path.endswith(_LOG_PATH) and response.status_code in (404, 405) and code is None:
        return (
            LogsUnavailableError,
            f"This server has no console log endpoint: {NO_CONSOLE_ADVICE}.",
        )
    if path.endswith(_DOWNLINK_PATH) and response.status_code == 404:
        pod = url.params.get("pod_name") or url.params.get("pvc_name")
        volume = f"the volume of pod {pod!r}" if pod else "the default volume"
        return cls, f"{message.rstrip('.')} (looked in {volume})."
    return cls, message


def connection_refused(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) is a refused connection: nothing listens."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, builtins.ConnectionRefusedError):
            return True
        text = str(current)
        if "Connection refused" in text or "[Errno 111]" in text:
            return True
        current = current.__cause__ or current.__context__
    return False


def _call(response: httpx.Response) -> str:
    """`METHOD /path` of the request that got `response` (no query, no credentials)."""
    try:
        return f"{response.request.method} {response.url.path}"
    except RuntimeError:  # a response built without a request
        return "the server"


def _is_oversized(response: httpx.Response) -> bool:
    try:
        return len(response.content) > MAX_ANSWER_BYTES
    except httpx.ResponseNotRead:
        return False


def _where(exc: httpx.TransportError) -> tuple[httpx.Request | None, str]:
    """A bare copy of the failed request and ` (METHOD scheme://host/path)` for a message.

    The copy has the method and the URL (no user info) but no headers or body, so the error
    never carries the bearer token; the message also leaves out the query. (None, "") when
    httpx did not attach the request.
    """
    try:
        failed = exc.request
    except RuntimeError:  # raised outside a client call
        return None, ""
    url = failed.url.copy_with(username=None, password=None, fragment=None)
    request = httpx.Request(failed.method, url)
    return request, f" ({failed.method} {url.copy_with(query=None)})"


class _TransportErrorMap(OnExit):
    """The context manager returned by `map_transport_errors`."""

    __slots__ = ()

    def _on_exit(self, exc: BaseException | None) -> None:
        if not isinstance(exc, httpx.TransportError):
            return
        request, where = _where(exc)
        if isinstance(exc, httpx.TimeoutException):
            raise RequestTimeoutError(
                f"{type(exc).__name__}{where}: {exc}", request=request
            ) from exc
        if isinstance(exc, httpx.ConnectError):
            if request is not None and connection_refused(exc):
                base = request.url.copy_with(path="/", query=None)
                raise ConnectionFailedError(
                    f"Cannot connect to the server{where}: nothing answers at {base} "
                    "(connection refused): is that the EM's address (--url, DPHI_EM_URL) and "
                    "is it reachable from here? For the local emulator: is 'dphi-em emulator' "
                    "running?",
                    request=request,
                ) from exc
            raise ConnectionFailedError(
                f"Cannot connect to the server{where}: {exc}", request=request
            ) from exc
        raise TransportError(f"{type(exc).__name__}{where}: {exc}", request=request) from exc

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: Any) -> None:
        self.__exit__(*exc_info)  # the same mapping, for `async with`


def map_transport_errors() -> _TransportErrorMap:
    """Re-raise httpx's transport exceptions as `TransportError` subclasses, chained.

    Use it as `with map_transport_errors():` (also around an `await`) or
    `async with map_transport_errors():`. The new exception carries the failed request
    (`.request`); its message names the method and the URL without query or credentials,
    then httpx's reason.
    """
    return _TransportErrorMap()
