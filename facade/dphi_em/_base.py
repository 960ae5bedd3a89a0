"""What `EMClient` and `AsyncEMClient` share: configuration, life cycle and the decisions.

The two clients differ only in their loops (send, await, sleep); everything decided before
or between I/O lives here or in the cores it calls: the operation table (`_operations`),
the token flow (`_auth`), the retry decisions (`_retry`), the upload plan and stream
(`_uplink`) and the download target (`_download`), the pod-wait decisions (`_waiting`).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import httpx

from . import _generated as gen
from ._auth import FRESH_TOKEN_EXTENSION, TokenAuth
from ._config import DEFAULT_TIMEOUT, LARGE_UPLOAD_BYTES, resolve_config
from ._errors import ClientClosedError, ValidationError
from ._models import UplinkResult
from ._operations import ProgressArg, UplinkCall
from ._progress import Progress, ProgressCallback
from ._retry import RetryPolicy
from ._revision import ApiRevision, RevisionState
from ._uplink import MultipartFileStream, UplinkFile, plan_uplink

__all__ = ["USER_AGENT", "ClientBase", "RetryArg", "UplinkBatch", "retry_policy"]

#: `retry=`: a policy, True for the default one, False or None to never retry.
RetryArg = RetryPolicy | bool | None

USER_AGENT = "dphi-em"

_UNOPENED, _OPENED, _CLOSED = "unopened", "opened", "closed"


def retry_policy(retry: RetryArg) -> RetryPolicy | None:
    """The policy that `retry=` asks for.

    Raises:
        ValidationError: Not a policy, True, False or None.
    """
    if retry is True:
        return RetryPolicy()
    if retry is False or retry is None:
        return None
    if isinstance(retry, RetryPolicy):
        return retry
    raise ValidationError(f"retry must be a RetryPolicy, True, False or None: {retry!r}")


@attrs.frozen
class UplinkBatch:
    """One uplink call: its request arguments, its body and the file bytes it carries.

    The body is attached to the request built from `request` (`MultipartFileStream.attach`;
    as `content=` it would be wrapped in a sync-only stream).
    """

    request: dict[str, Any]
    stream: MultipartFileStream
    size: int
    files: tuple[UplinkFile, ...]


class ClientBase:
    """The state and decisions of a client; see `EMClient` for the arguments."""

    _kind = "EMClient"

    def __init__(
        self,
        base_url: str | httpx.URL | None,
        username: str | None,
        password: str | None,
        *,
        timeout: float | httpx.Timeout | None,
        retry: RetryArg,
        progress: bool | ProgressCallback,
        max_uplink_bytes: int,
        api: str | None,
    ) -> None:
        self._revision = RevisionState(api)
        resolved = resolve_config(base_url, username, password)
        self._base_url = resolved.base_url
        self._policy = retry_policy(retry)
        if isinstance(max_uplink_bytes, bool) or not isinstance(max_uplink_bytes, int):
            raise ValidationError(f"max_uplink_bytes must be an int, got {max_uplink_bytes!r}.")
        if max_uplink_bytes < 1:
            raise ValidationError(f"max_uplink_bytes must be positive, got {max_uplink_bytes}.")
        if not (isinstance(progress, bool) or callable(progress)):
            raise ValidationError(f"progress must be a bool or a callable, got {progress!r}.")
        self._max_uplink_bytes = max_uplink_bytes
        self._progress = progress
        self._timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self._auth = TokenAuth(resolved.credentials, self._base_url)
        self._state = _UNOPENED
        self._state_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"{self._kind}(base_url={str(self._base_url)!r}, "
            f"username={self._auth._credentials.username!r}, state={self._state!r})"
        )

    @property
    def base_url(self) -> httpx.URL:
        """The server address (its path ends with `/`)."""
        return self._base_url

    @property
    def api_revision(self) -> ApiRevision | None:
        """The server's EM API revision: pinned with `api=`, or as found (None: not yet)."""
        return self._revision.revision

    @property
    def is_closed(self) -> bool:
        """Whether the client was closed."""
        return self._state == _CLOSED

    @property
    def has_token(self) -> bool:
        """Whether an access token is held (valid or not)."""
        return self._auth.has_token

    def _check_open(self) -> None:
        if self._state == _OPENED:
            return
        with self._state_lock:
            if self._state == _CLOSED:
                raise ClientClosedError(f"This {self._kind} is closed; create a new one.")
            self._state = _OPENED

    def _mark_closed(self) -> bool:
        """Mark the client closed; False when it was already."""
        with self._state_lock:
            if self._state == _CLOSED:
                return False
            self._state = _CLOSED
            return True

    def _progress_for(self, progress: ProgressArg, total: int, label: str) -> Progress | None:
        choice = self._progress if progress is None else progress
        if choice is False or choice is None:
            return None
        if choice is True:
            return Progress(total, None, bar=True, description=label)
        if callable(choice):
            return Progress(total, choice, bar=False, description=label)
        raise ValidationError(f"progress must be a bool or a callable, got {choice!r}.")

    def _plan_uplink(self, call: UplinkCall) -> list[list[UplinkFile]]:
        return plan_uplink(call.filepaths, call.dest_path, max_bytes=self._max_uplink_bytes)

    @staticmethod
    def _uplink_batches(
        batches: list[list[UplinkFile]], pod_name: str | None, reporter: Progress | None
    ) -> Iterator[UplinkBatch]:
        """Each call's request: a re-iterable multipart stream, sync and async alike."""
        start = 0
        for batch in batches:
            fields = gen.uplink_fields(batch[0].dest_dir, pod_name)
            stream = MultipartFileStream(
                fields,
                batch,
                on_start=None if reporter is None else functools.partial(reporter.set, start),
                on_chunk=None if reporter is None else reporter.advance,
            )
            size = sum(item.size for item in batch)
            extensions = {FRESH_TOKEN_EXTENSION: True} if size >= LARGE_UPLOAD_BYTES else {}
            request = {
                "method": "POST",
                "url": "em/files/uplink",
                "extensions": extensions,
            }
            yield UplinkBatch(request, stream, size, tuple(batch))
            start += size

    @staticmethod
    def _uplink_result(batches: list[list[UplinkFile]], file_count: int) -> UplinkResult:
        return UplinkResult(
            file_count=file_count,
            total_bytes=sum(item.size for batch in batches for item in batch),
            calls=len(batches),
            paths=tuple(item.dest for batch in batches for item in batch),
        )
