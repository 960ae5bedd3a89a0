"""Tokens: an `httpx.Auth` flow shared by the facade and raw generated calls, sync and async.

The flow logs in (`POST /auth/`) on first use, keeps the access and refresh tokens, and
renews the access token with the refresh token (`POST /auth/refresh`) shortly before it
expires, before large uploads, and once when the server answers 401 (then, if that fails,
with one new login). A rotating server's new refresh token replaces the old one. Renewals
happen under one lock: many threads (or asyncio tasks) finding an expired token make one
renewal call.

The decisions are written once, as a generator (`TokenAuth._flow`) that does no I/O: it
yields the requests to send and three kinds of steps, `_LOCK`, `_UNLOCK` and `_Read`, and
receives the responses. A thin driver runs it, the way httpx's `Auth` does, written once
for asyncio (`_async/_auth.py`: an `asyncio.Lock` made on first use, `await
response.aread()`) and generated for threads (`_sync/_auth.py`: a `threading.Lock`,
`response.read()`); `sync_auth_flow` and `async_auth_flow` hand the flow to one or the
other. A driver releases the lock itself when the flow ends early (an error, a cancelled
task), so the flow needs no cleanup.

**The bearer is chosen at send time.** The flow marks each request it authorizes
(`BEARER_EXTENSION`); the retrying transports (`_async/_transport.py` and its twin) call
`TokenAuth.sync_bearer` or `async_bearer` just before each attempt, once the request gate is
theirs, so a retry after a long `423` backoff carries the token current then (renewed first
if it expired meanwhile), not the one chosen before the first attempt.

**Lock order: the request gate, then the renewal lock.** A renewal sends requests, which
need the gate; so whoever renews takes the gate first (`use_gate`), then the lock, and nobody
waits for the gate while holding the lock. The gate is re-entrant for its owner, so a call
made from a progress callback during a streamed downlink (the gate held by that same thread
or task) renews and sends at once instead of waiting for itself.

Answers of `/auth/` are read as any JSON answer (`_generated.parse_json`: bounded size,
no `RecursionError`), and an access token that cannot go into a header (not visible ASCII,
e.g. CR/LF) is an `APIError` whose message does not show it.

Token lifetimes are read from the unsigned JWT payload (`exp` - `iat`) and counted on the
local monotonic clock, so a skewed local clock does not matter. Tokens and the password are
never logged, shown in a repr or put in an error message; `TokenAuth.secrets()` lists them
for redactors.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from . import _timing
from ._config import TOKEN_REFRESH_MARGIN, Credentials
from ._errors import APIError, AuthenticationError, ConfigurationError, raise_for_response
from ._generated import parse_json
from ._synchronization import AsyncInFlightGate, AsyncLock, InFlightGate, Lock

if TYPE_CHECKING:
    from ._async._auth import AsyncAuthDriver
    from ._sync._auth import AuthDriver

__all__ = ["BEARER_EXTENSION", "FRESH_TOKEN_EXTENSION", "TokenAuth", "jwt_claims"]

logger = logging.getLogger("dphi_em")

#: A request extension asking for an access token issued moments ago (large uploads).
FRESH_TOKEN_EXTENSION = "dphi_em.fresh_token"  # noqa: S105 (a name, not a secret)
#: The request extension marking a request whose bearer the transport renews before each
#: attempt (its value is the `TokenAuth`).
BEARER_EXTENSION = "dphi_em.bearer"
#: A token younger than this counts as fresh.
_FRESH_AGE = 5.0
#: Tokens remembered for `secrets()` after they were replaced (they may still be valid).
_KEPT_SECRETS = 32

_T = TypeVar("_T")


class _Lock(enum.Enum):
    """Steps asking the driver to take or give back the renewal lock."""

    LOCK = "lock"
    UNLOCK = "unlock"


_LOCK = _Lock.LOCK
_UNLOCK = _Lock.UNLOCK


class _Read:
    """A step asking the driver to read a response's body (sync or async)."""

    __slots__ = ("response",)

    def __init__(self, response: httpx.Response) -> None:
        self.response = response


#: What the flow yields: a request to send (the driver sends back its response), or a step
#: (the driver sends back None).
_Step = httpx.Request | _Lock | _Read
_Flow = Generator[_Step, httpx.Response | None, _T]


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded without checking its signature ({} when unreadable)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (IndexError, ValueError, UnicodeError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def _lifetime(token: str) -> float:
    """Seconds the token stays valid from now, from its claims (inf when it does not say)."""
    claims = jwt_claims(token)
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)):
        return math.inf
    iat = claims.get("iat")
    if isinstance(iat, (int, float)) and iat <= exp:
        return float(exp - iat)
    return float(exp) - time.time()


class _Tokens:
    """An immutable snapshot, swapped in one assignment so readers need no lock."""

    __slots__ = ("access", "obtained_at", "refresh", "refresh_deadline", "renew_at")

    def __init__(
        self,
        access: str,
        refresh: str | None,
        now: float,
        margin: float,
        refresh_deadline: float | None = None,
    ) -> None:
        self.access = access
        self.refresh = refresh
        self.obtained_at = now
        lifetime = _lifetime(access)
        # A token living less than twice the margin is renewed half-way through its life.
        self.renew_at = now + lifetime - min(margin, lifetime / 2)
        if refresh_deadline is not None:  # the same refresh token as before: same deadline
            self.refresh_deadline = refresh_deadline
        else:
            self.refresh_deadline = now + _lifetime(refresh) - 1.0 if refresh else -math.inf


def _send(request: httpx.Request) -> _Flow[httpx.Response]:
    """Yield `request`; return the response the driver sends back."""
    response = yield request
    assert response is not None, "a driver sent no response for a request"
    return response


def _send_and_read(request: httpx.Request) -> _Flow[httpx.Response]:
    """Yield `request`, then have its whole body read; return the response."""
    response = yield from _send(request)
    yield _Read(response)
    return response


#: What an access token may hold to be sent as `Bearer <token>`: visible ASCII.
_HEADER_SAFE = re.compile(r"[!-~]+")


def _bearer_of(request: httpx.Request, default: str) -> str:
    """The access token `request` carries (as set last), else `default`."""
    value = request.headers.get("Authorization", "")
    return value[7:] if value.startswith("Bearer ") else default


class TokenAuth(httpx.Auth):
    """JWT bearer authentication with login, proactive refresh and one retry on 401.

    Works with `httpx.Client` (`sync_auth_flow`) and `httpx.AsyncClient`
    (`async_auth_flow`, asyncio); the decisions are shared (see the module docstring).

    Args:
        credentials: The user name and password (read only when a login is needed).
        base_url: The server address; `auth/` and `auth/refresh` are joined under it.
        margin: Seconds before expiry when an access token is renewed.
        clock: A monotonic clock (default: `_timing.monotonic`; tests replace it).

    Attributes:
        login_count: Logins sent, for diagnostics and tests.
        refresh_count: Refreshes sent, for diagnostics and tests.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        credentials: Credentials,
        base_url: httpx.URL,
        *,
        margin: float = TOKEN_REFRESH_MARGIN,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._credentials = credentials
        self._login_url = base_url.join("auth/")
        self._refresh_url = base_url.join("auth/refresh")
        self._margin = margin
        self._clock = clock if clock is not None else _timing.monotonic
        self._lock = Lock()
        self._tokens: _Tokens | None = None
        self._issued: deque[str] = deque(maxlen=_KEPT_SECRETS)
        self.login_count = 0
        self.refresh_count = 0
        from ._async._auth import AsyncAuthDriver  # they import this module
        from ._sync._auth import AuthDriver

        self._driver: AuthDriver = AuthDriver(self, self._lock)
        self._adriver: AsyncAuthDriver = AsyncAuthDriver(self, AsyncLock())

    def __repr__(self) -> str:
        state = "set" if self._tokens is not None else "none"
        return f"TokenAuth(username={self._credentials.username!r}, token=<{state}>)"

    @property
    def has_token(self) -> bool:
        """Whether an access token is held (valid or not)."""
        return self._tokens is not None

    def clear(self) -> None:
        """Forget the tokens (the next request logs in)."""
        with self._lock:
            self._tokens = None

    def secrets(self) -> tuple[str, ...]:
        """Every secret this auth knows, for redacting output; never log the result.

        Returns:
            The password (when set), the tokens held, and the last tokens it replaced (an
            access token replaced by a refresh stays valid until it expires), longest first.
        """
        found = set(self._issued)
        tokens = self._tokens
        if tokens is not None:
            found.add(tokens.access)
            if tokens.refresh:
                found.add(tokens.refresh)
        with contextlib.suppress(ConfigurationError):  # no password: nothing to hide
            found.add(self._credentials.require()[1])
        return tuple(sorted(found, key=lambda s: (-len(s), s)))

    def use_gate(self, gate: InFlightGate | AsyncInFlightGate, *, replace: bool = True) -> None:
        """Take `gate` (the transport's request gate) before the renewal lock, always.

        The retrying transports call it (`replace=False`) for each request this auth
        authorized, so a plain `httpx.Client(auth=TokenAuth(...), transport=RetryTransport(...))`
        keeps the lock order too.

        Args:
            gate: The sync or async gate of the transport this auth's requests go through.
            replace: Whether `gate` replaces one set before (False: only when none is).
        """
        if isinstance(gate, InFlightGate):
            if replace or self._driver.gate is None:
                self._driver.gate = gate
        elif replace or self._adriver.gate is None:
            self._adriver.gate = gate

    # -- the flow: decisions only -----------------------------------------------------------

    def _usable(self, fresh: bool) -> str | None:
        tokens = self._tokens
        if tokens is None:
            return None
        now = self._clock()
        if now >= tokens.renew_at or (fresh and now - tokens.obtained_at > _FRESH_AGE):
            return None
        return tokens.access

    def _flow(self, request: httpx.Request) -> _Flow[None]:
        """Authorize `request`, renewing tokens as needed (see the module docstring)."""
        if "Authorization" in request.headers:  # an explicit header wins
            yield from _send(request)
            return
        fresh = bool(request.extensions.get(FRESH_TOKEN_EXTENSION))
        access = self._usable(fresh)
        if access is None:
            yield _LOCK
            access = self._usable(fresh)  # another thread or task may have renewed it
            if access is None:
                access = yield from self._renew(request, login=False)
            yield _UNLOCK
        request.headers["Authorization"] = f"Bearer {access}"
        request.extensions[BEARER_EXTENSION] = self
        response = yield from _send(request)
        logged_in = False
        for attempt in (0, 1):
            if response.status_code != 401:
                return
            access = _bearer_of(request, access)  # the transport may have renewed it
            yield _Read(response)  # releases the connection before waiting on the lock
            yield _LOCK
            tokens = self._tokens
            if attempt == 0 and tokens is not None and tokens.access != access:
                access = tokens.access  # another thread renewed it meanwhile
            elif attempt == 1 and logged_in:
                yield _UNLOCK
                return  # a token fresh from a login is refused: give the 401 back
            else:
                if attempt == 0:
                    logger.debug("%s: 401, renewing the access token", request.url.path)
                logins = self.login_count
                access = yield from self._renew(request, login=attempt == 1)
                logged_in = self.login_count != logins
            yield _UNLOCK
            request.headers["Authorization"] = f"Bearer {access}"
            response = yield from _send(request)

    def _renew(self, template: httpx.Request, *, login: bool) -> _Flow[str]:
        """Refresh (unless `login`), falling back to a login. Run with the lock held."""
        tokens = self._tokens
        if (
            not login
            and tokens is not None
            and tokens.refresh is not None
            and tokens.refresh_deadline > self._clock()
        ):
            response = yield from _send_and_read(
                self._request(template, self._refresh_url, json={"refresh": tokens.refresh})
            )
            self.refresh_count += 1
            if response.is_success:
                access = self._apply(response, keep_refresh=tokens.refresh)
                if access is not None:
                    logger.debug("access token refreshed")
                    return access
            logger.info("token refresh refused (%s); logging in", response.status_code)
        return (yield from self._login(template))

    def _login(self, template: httpx.Request | None) -> _Flow[str]:
        username, password = self._credentials.require()
        response = yield from _send_and_read(
            self._request(
                template, self._login_url, data={"username": username, "password": password}
            )
        )
        self.login_count += 1
        hint = None
        if response.status_code == 401:
            self._tokens = None
            hint = self._credentials.refused_hint()
        raise_for_response(response, hint=hint)
        access = self._apply(response, keep_refresh=None)
        if access is None:
            raise AuthenticationError(
                f"The login answer (POST {response.url.path}) holds no access token.",
                status_code=response.status_code,
                response=response,
            )
        logger.info("logged in as %r", username)
        return access

    def _locked_login(self, template: httpx.Request) -> _Flow[None]:
        yield _LOCK
        yield from self._login(template)
        yield _UNLOCK

    def _apply(self, response: httpx.Response, *, keep_refresh: str | None) -> str | None:
        body = parse_json(response)  # APIError naming the call: too large, too deep, not JSON
        access = body.get("access") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access:
            return None
        if not _HEADER_SAFE.fullmatch(access):
            raise APIError(
                f"Unexpected answer from POST {response.url.path}: the access token cannot be "
                "sent in a header (only visible ASCII characters may; it holds others, e.g. "
                "non-ASCII or CR/LF).",
                status_code=response.status_code,
                response=response,
            )
        refresh = body.get("refresh")
        rotated = isinstance(refresh, str) and bool(refresh)
        previous = self._tokens
        deadline = (
            previous.refresh_deadline
            if not rotated and previous is not None and previous.refresh == keep_refresh
            else None
        )
        self._tokens = _Tokens(
            access, refresh if rotated else keep_refresh, self._clock(), self._margin, deadline
        )
        if previous is not None:
            self._issued.append(previous.access)
            if previous.refresh:
                self._issued.append(previous.refresh)
        return access

    @staticmethod
    def _request(template: httpx.Request | None, url: httpx.URL, **content: Any) -> httpx.Request:
        extensions = {}
        headers = {}
        if template is not None:
            if "timeout" in template.extensions:
                extensions["timeout"] = template.extensions["timeout"]
            if "User-Agent" in template.headers:
                headers["User-Agent"] = template.headers["User-Agent"]
        return httpx.Request("POST", url, headers=headers, extensions=extensions, **content)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Authorize `request` for `httpx.Client`, renewing tokens as needed."""
        return self._driver.drive(self._flow(request))

    def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Authorize `request` for `httpx.AsyncClient` (asyncio), renewing tokens as needed."""
        return self._adriver.drive(self._flow(request))

    # -- at send time (called by the transports, the gate held) ---------------------------

    def sync_bearer(
        self, request: httpx.Request, send: Callable[[httpx.Request], httpx.Response]
    ) -> None:
        """Put the current access token on `request`, renewing it first when it expired.

        Called by `RetryTransport` before each attempt, the gate held (so the lock may be
        taken: the lock order holds).

        Args:
            request: A request this auth authorized (`BEARER_EXTENSION`).
            send: Sends one request without auth (the renewal calls), the gate held.
        """
        self._driver.bearer(request, send)

    async def async_bearer(
        self,
        request: httpx.Request,
        asend: Callable[[httpx.Request], Awaitable[httpx.Response]],
    ) -> None:
        """The asyncio twin of `sync_bearer` (called by `AsyncRetryTransport`)."""
        await self._adriver.bearer(request, asend)

    # -- outside a flow ---------------------------------------------------------------------

    def login(
        self, send: Callable[[httpx.Request], httpx.Response], template: httpx.Request
    ) -> None:
        """Log in now with `send` (a function sending one request without auth).

        Args:
            send: Sends one request without auth.
            template: A request whose timeout and User-Agent the login request copies.

        Raises:
            ConfigurationError: No credentials.
            AuthenticationError: The server refused them.
        """
        self._driver.login(send, template)

    async def alogin(
        self,
        asend: Callable[[httpx.Request], Awaitable[httpx.Response]],
        template: httpx.Request,
    ) -> None:
        """Log in now with `asend` (a coroutine function sending one request without auth).

        Args:
            asend: Sends one request without auth, e.g. `lambda r: client.send(r, auth=None)`
                for an `httpx.AsyncClient`.
            template: A request whose timeout and User-Agent the login request copies.

        Raises:
            ConfigurationError: No credentials.
            AuthenticationError: The server refused them.
        """
        await self._adriver.login(asend, template)
