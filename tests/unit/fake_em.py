"""A scriptable in-process EM for `httpx.MockTransport`: what a real server can't do on demand."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
from dphi_em import EMClient, RetryPolicy

USER, PASSWORD = "client1", "s3cr3t-pa55word"

Handler = Callable[[httpx.Request], httpx.Response]


def make_jwt(kind: str, lifetime: float, now: float | None = None) -> str:
    """An unsigned-looking JWT whose payload carries `exp` and `iat`."""
    now = time.time() if now is None else now

    def b64(data: dict[str, Any]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    payload = {
        "token_type": kind,
        "iat": int(now),
        "exp": int(now + lifetime),
        "jti": uuid.uuid4().hex,
        "user_id": 1,
    }
    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(payload)}.c2lnbmF0dXJl"


def error(status: int, code: str, message: str, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"error": code, "message": message, **extra})


class FakeEM:
    """Login, refresh (optionally rotating), bearer checks, and per-route handlers.

    Attributes:
        calls: (method, path) of every request, in order.
        logins, refreshes: counts of `/auth/` and `/auth/refresh` calls.
        routes: (method, path) -> handler for the `/em/` endpoints.
    """

    def __init__(
        self, *, access_lifetime: float = 300, rotate: bool = False, refresh_ok: bool = True
    ) -> None:
        self.access_lifetime = access_lifetime
        self.rotate = rotate
        self.refresh_ok = refresh_ok
        self.lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []
        self.requests: list[httpx.Request] = []
        self.logins = 0
        self.refreshes = 0
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.used_refresh: list[str] = []
        self.routes: dict[tuple[str, str], Handler] = {}
        self.prefix = ""

    def revoke_access(self) -> None:
        """Make every access token issued so far invalid (as if expired server-side)."""
        with self.lock:
            self.access.clear()

    def _issue(self, with_refresh: bool) -> dict[str, str]:
        access = make_jwt("access", self.access_lifetime)
        body = {"access": access}
        self.access.add(access)
        if with_refresh:
            refresh = make_jwt("refresh", 86400)
            self.refresh.add(refresh)
            body["refresh"] = refresh
        return body

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        path = request.url.path
        with self.lock:
            self.calls.append((request.method, path))
            path = path.removeprefix(self.prefix)
            self.requests.append(request)
            if path == "/auth/":
                self.logins += 1
                form = parse_qs(request.content.decode())
                if form.get("username") == [USER] and form.get("password") == [PASSWORD]:
                    return httpx.Response(200, json=self._issue(True))
                return httpx.Response(
                    401, json={"detail": "No active account found with the given credentials"}
                )
            if path == "/auth/refresh":
                self.refreshes += 1
                token = json.loads(request.content)["refresh"]
                self.used_refresh.append(token)
                if not self.refresh_ok or token not in self.refresh:
                    return httpx.Response(
                        401, json={"detail": "Token is invalid", "code": "token_not_valid"}
                    )
                if self.rotate:
                    self.refresh.discard(token)
                return httpx.Response(200, json=self._issue(self.rotate))
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.access:
                return httpx.Response(
                    401, json={"detail": "Given token not valid", "code": "token_not_valid"}
                )
        handler = self.routes.get((request.method, path))
        if handler is not None:
            return handler(request)
        return httpx.Response(200, json={"message": "ok", "data": []})


def make_client(
    handler: Handler, *, retry: RetryPolicy | bool | None = False, **kwargs: Any
) -> EMClient:
    """An EMClient on a MockTransport, with the fake's credentials."""
    return EMClient(
        "http://em.test/",
        USER,
        PASSWORD,
        transport=httpx.MockTransport(handler),
        retry=retry,
        **kwargs,
    )
