"""Tokens: an `httpx.Auth` flow shared by the facade and raw generated calls.

The flow logs in (`POST /auth/`) on first use, keeps the access and refresh tokens, and
renews the access token with the refresh token (`POST /auth/refresh`) shortly before it
expires, before large uploads, and once when the server answers 401 (then, if that fails,
with one new login). A rotating server's new refresh token replaces the old one. Renewals
happen under one lock: many threads finding an expired token make one renewal call.

Token lifetimes are read from the unsigned JWT payload (`exp` - `iat`) and counted on the
local monotonic clock, so a skewed local clock does not matter. Tokens and the password are
never logged, shown in a repr or put in an error message.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx

from ._config import TOKEN_REFRESH_MARGIN, Credentials
from ._errors import AuthenticationError, raise_for_response

__all__ = ["FRESH_TOKEN_EXTENSION", "TokenAuth", "jwt_claims"]

logger = logging.getLogger("dphi_em")

#: A request extension asking for an access token issued moments ago (large uploads).
FRESH_TOKEN_EXTENSION = "dphi_em.fresh_token"  # noqa: S105 (a name, not a secret)
#: A token younger than this counts as fresh.
_FRESH_AGE = 5.0

_Flow = Generator[httpx.Request, httpx.Response, str]


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


class TokenAuth(httpx.Auth):
    """JWT bearer authentication with login, proactive refresh and one retry on 401.

    Args:
        credentials: The user name and password (read only when a login is needed).
        base_url: The server address; `auth/` and `auth/refresh` are joined under it.
        margin: Seconds before expiry when an access token is renewed.
        clock: A monotonic clock (tests replace it).
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        credentials: Credentials,
        base_url: httpx.URL,
        *,
        margin: float = TOKEN_REFRESH_MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = credentials
        self._login_url = base_url.join("auth/")
        self._refresh_url = base_url.join("auth/refresh")
        self._margin = margin
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: _Tokens | None = None
        #: Calls made, for diagnostics and tests.
        self.login_count = 0
        self.refresh_count = 0

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

    # -- the flow ---------------------------------------------------------------------------

    def _usable(self, fresh: bool) -> str | None:
        tokens = self._tokens
        if tokens is None:
            return None
        now = self._clock()
        if now >= tokens.renew_at or (fresh and now - tokens.obtained_at > _FRESH_AGE):
            return None
        return tokens.access

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Authorize `request`, renewing tokens as needed (see the module docstring)."""
        if "Authorization" in request.headers:  # an explicit header wins
            yield request
            return
        fresh = bool(request.extensions.get(FRESH_TOKEN_EXTENSION))
        access = self._usable(fresh)
        if access is None:
            with self._lock:
                access = self._usable(fresh)
                if access is None:
                    access = yield from self._renew(request, login=False)
        request.headers["Authorization"] = f"Bearer {access}"
        response = yield request
        logged_in = False
        for attempt in (0, 1):
            if response.status_code != 401:
                return
            response.read()  # releases the connection before waiting on the lock
            with self._lock:
                tokens = self._tokens
                if attempt == 0 and tokens is not None and tokens.access != access:
                    access = tokens.access  # another thread renewed it meanwhile
                elif attempt == 1 and logged_in:
                    return  # a token fresh from a login is refused: give the 401 back
                else:
                    logins = self.login_count
                    access = yield from self._renew(request, login=attempt == 1)
                    logged_in = self.login_count != logins
            request.headers["Authorization"] = f"Bearer {access}"
            response = yield request

    def _renew(self, template: httpx.Request, *, login: bool) -> _Flow:
        """Refresh (unless `login`), falling back to a login. Call with the lock held."""
        tokens = self._tokens
        if (
            not login
            and tokens is not None
            and tokens.refresh is not None
            and tokens.refresh_deadline > self._clock()
        ):
            response = yield self._request(
                template, self._refresh_url, json={"refresh": tokens.refresh}
            )
            response.read()
            self.refresh_count += 1
            if response.is_success:
                access = self._apply(response, keep_refresh=tokens.refresh)
                if access is not None:
                    logger.debug("access token refreshed")
                    return access
            logger.debug("token refresh refused (%s); logging in", response.status_code)
        return (yield from self._login(template))

    def _login(self, template: httpx.Request | None) -> _Flow:
        username, password = self._credentials.require()
        response = yield self._request(
            template, self._login_url, data={"username": username, "password": password}
        )
        response.read()
        self.login_count += 1
        if response.status_code == 401:
            self._tokens = None
        raise_for_response(response)
        access = self._apply(response, keep_refresh=None)
        if access is None:
            raise AuthenticationError(
                "The login answer holds no access token.",
                status_code=response.status_code,
                response=response,
            )
        logger.debug("logged in as %r", username)
        return access

    def _apply(self, response: httpx.Response, *, keep_refresh: str | None) -> str | None:
        try:
            body = response.json()
        except ValueError:
            return None
        access = body.get("access") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access:
            return None
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
        with self._lock:
            flow = self._login(template)
            try:
                request = next(flow)
                while True:
                    request = flow.send(send(request))
            except StopIteration:
                return
