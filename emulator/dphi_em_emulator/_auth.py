"""JWTs as Django REST Framework SimpleJWT issues them (HS256, the same claim names).

Claims: `token_type` ("access" or "refresh"), `exp`, `iat`, `jti`, `user_id`. SimpleJWT puts
the user's database id in `user_id`; the emulator has no database and puts the user name.
The signing key is made once per data dir and kept, so tokens survive a restart.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
import uuid
from pathlib import Path

import jwt

from ._users import check

ALGORITHM = "HS256"


class TokenError(Exception):
    """A token that is missing, malformed, badly signed, expired or of the wrong type."""


def load_signing_key(path: Path) -> bytes:
    """The key stored at `path`, made (32 random bytes, mode 0600) on first use."""
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key.hex())
    try:
        os.link(tmp, path)  # never replace a key another process wrote meanwhile
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


class Authenticator:
    """Checks passwords and issues and verifies tokens."""

    def __init__(
        self,
        users: dict[str, str],
        key: bytes,
        access_lifetime: float,
        refresh_lifetime: float,
    ) -> None:
        self._users = users
        self._key = key
        self._lifetimes = {"access": access_lifetime, "refresh": refresh_lifetime}

    def check_password(self, username: str, password: str) -> bool:
        expected = self._users.get(username)
        if expected is None:
            hmac.compare_digest(password.encode(), password.encode())  # same work either way
            return False
        return check(expected, password)

    def issue(self, username: str, token_type: str) -> str:
        now = int(time.time())
        claims = {
            "token_type": token_type,
            "exp": now + max(1, round(self._lifetimes[token_type])),
            "iat": now,
            "jti": uuid.uuid4().hex,
            "user_id": username,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str, token_type: str) -> str:
        """The user name a valid token of `token_type` was issued to.

        Raises:
            TokenError: the token is not valid for that type, or its user is gone.
        """
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "token_type", "user_id", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from exc
        if claims.get("token_type") != token_type:
            raise TokenError("Token has wrong type")
        user = claims.get("user_id")
        if not isinstance(user, str) or user not in self._users:
            raise TokenError("User not found")
        return user
