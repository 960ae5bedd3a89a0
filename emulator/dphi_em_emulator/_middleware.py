"""ASGI middleware: merged slashes (as the EM's reverse proxy does), then the `/em/` gate.

The gate authenticates every `/em/` request (401 with Django REST Framework's bodies) and
then takes the request lock (423 `LOCKED` while another request is in progress), held until
the response's last byte is sent, or the client goes away. A request body that stalls for
the idle timeout is dropped (408); the timer covers the body only, never the response, however
long a download takes. A client that goes away mid-body is logged in one line (no traceback):
a cancelled upload is normal.
"""

from __future__ import annotations

import asyncio
import logging
import re

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._auth import Authenticator, TokenError
from ._errors import LOCKED, REQUEST_TIMEOUT, EMError, detail_response
from ._lock import RequestLock

#: The scope key holding the authenticated user's name.
USER_KEY = "dphi_em.user"
_log = logging.getLogger("dphi_em_emulator")
_SLASHES = re.compile(r"/{2,}")
_SLASHES_RAW = re.compile(rb"/{2,}")


class MergeSlashes:
    """`//em/files/list` reaches `/em/files/list`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            scope = dict(scope)
            scope["path"] = _SLASHES.sub("/", scope["path"])
            if scope.get("raw_path"):
                scope["raw_path"] = _SLASHES_RAW.sub(b"/", scope["raw_path"])
        await self.app(scope, receive, send)


_NOT_PROVIDED = "Authentication credentials were not provided."
_INVALID_TOKEN_MESSAGES = [
    {"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}
]


class _BodyStalledError(Exception):
    """The client sent no body data within the idle timeout."""


def _log_client_gone(scope: Scope) -> None:
    # %r: the path comes from the client and may hold line breaks (one line, always)
    _log.warning(
        "%s %r: the client went away before sending the whole request body; request dropped",
        scope.get("method", "?"),
        scope.get("path", "?"),
    )


class EMGate:
    """Authentication, then the one-request-at-a-time lock, for every `/em/` request.

    Also turns a client that goes away mid-body (anywhere, `/auth/` included) into one
    warning line instead of an unhandled error.
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        lock: RequestLock,
        idle_timeout: float = 60.0,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.lock = lock
        self.idle_timeout = idle_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/em/"):
            await self._gate(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            _log_client_gone(scope)

    async def _gate(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        words = header.decode("latin-1").split()
        if not words or words[0] != "Bearer":
            await detail_response(401, _NOT_PROVIDED)(scope, receive, send)
            return
        if len(words) != 2:
            detail = "Authorization header must contain two space-delimited values"
            if len(words) == 1:
                detail = "Invalid Authorization header. No credentials provided."
            await detail_response(401, detail, code="bad_authorization_header")(
                scope, receive, send
            )
            return
        try:
            user = self.authenticator.verify(words[1], "access")
        except TokenError:
            await detail_response(
                401,
                "Given token not valid for any token type",
                code="token_not_valid",
                messages=_INVALID_TOKEN_MESSAGES,
            )(scope, receive, send)
            return
        if not self.lock.acquire():
            busy = EMError(423, LOCKED, "CG2 is busy with another request; try again later.")
            await busy.response()(scope, receive, send)
            return
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.lock.release()

        started = False

        async def send_releasing(message: Message) -> None:
            nonlocal started
            started = True
            # Free the lock before the last byte leaves: a client that sends its next request
            # as soon as it has read this response must never see 423.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()
            await send(message)

        body_done = False

        async def receive_or_give_up() -> Message:
            # A client that stops sending its body must not hold the lock for ever. Once the
            # body is in, `receive()` only waits for a disconnect (Starlette listens for one
            # while it streams a response): no timer then, or a long download would be cut.
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.idle_timeout)
            except asyncio.TimeoutError:
                release()
                raise _BodyStalledError from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        try:
            await self.app({**scope, USER_KEY: user}, receive_or_give_up, send_releasing)
        except _BodyStalledError:
            if not started:
                stalled = EMError(
                    408, REQUEST_TIMEOUT, f"No body data for {self.idle_timeout:g} s."
                )
                await stalled.response()(scope, receive, send)
        except ClientDisconnect:
            _log_client_gone(scope)  # before the lock is freed: logged once the next can run
        finally:
            release()
