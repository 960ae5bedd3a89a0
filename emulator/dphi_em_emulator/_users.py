"""The emulator's accounts from a file or the environment, so that no password is in argv.

Entries are `name:password` lines (the password may hold `:`), or `name:HASH` where HASH is
Django's PBKDF2 format, `pbkdf2_sha256$<iterations>$<salt>$<base64 sha256 digest>` (what
`hash_password` writes); blank lines and lines starting with `#` are skipped. A users file
must be readable by its owner only (mode 0600 or stricter); `DPHI_EM_USERS` holds the same
lines. A password is never printed, logged or put in an error message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path

#: The hash scheme (Django's default) and its work factor for new hashes.
HASH_SCHEME = "pbkdf2_sha256"
HASH_ITERATIONS = 600_000
#: The environment variable holding user entries (one per line).
USERS_ENV = "DPHI_EM_USERS"
_HASH = re.compile(
    r"^pbkdf2_sha256\$([1-9][0-9]{0,8})\$([A-Za-z0-9./+=_-]{1,128})\$([A-Za-z0-9+/=]{43,44})$"
)


def hash_password(password: str, salt: str | None = None, iterations: int = HASH_ITERATIONS) -> str:
    """`pbkdf2_sha256$<iterations>$<salt>$<digest>`, as Django writes it.

    Args:
        password: The password.
        salt: The salt (default: 22 random characters).
        iterations: PBKDF2 rounds.
    """
    salt = salt or secrets.token_urlsafe(16)[:22]
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"{HASH_SCHEME}${iterations}${salt}${base64.b64encode(digest).decode('ascii')}"


def is_hashed(stored: str) -> bool:
    """Whether a stored password is a `hash_password` hash."""
    return _HASH.fullmatch(stored) is not None


def check(stored: str, given: str) -> bool:
    """Whether `given` is the password `stored` holds (plain or hashed), in constant time."""
    match = _HASH.fullmatch(stored)
    if match is None:
        return hmac.compare_digest(stored.encode(), given.encode())
    iterations, salt, _ = match.groups()
    return hmac.compare_digest(stored, hash_password(given, salt, int(iterations)))


def parse_users(text: str, source: str) -> dict[str, str]:
    """The `name:password` (or `name:HASH`) entries of `text`.

    Raises:
        ValueError: A line is not an entry, or a name comes twice (the message names the
            source and the line, never the password).
    """
    users: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, password = line.partition(":")
        if not sep or not name or not password:
            raise ValueError(f"{source}, line {number}: expected NAME:PASSWORD or NAME:HASH")
        if name in users:
            raise ValueError(f"{source}, line {number}: user {name!r} is given twice")
        users[name] = password
    return users


def read_users_file(path: Path) -> dict[str, str]:
    """The entries of a users file, which only its owner may read or write.

    Raises:
        ValueError: The file is readable or writable by others (its mode is named), or
            holds a bad line.
        OSError: It can't be read.
    """
    with open(path, encoding="utf-8") as file:
        mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
        if mode & 0o077:
            raise ValueError(
                f"{path}: mode {mode:04o} lets others read or write the passwords; "
                f"allowed: 0600 or stricter (chmod 600 {path})"
            )
        return parse_users(file.read(), str(path))
