"""Configuration: numeric defaults, and the resolution of address and credentials.

Every setting is resolved the same way (see `_settings`): an explicit argument, else the
environment variable, else what `dphi-em login --save` saved, else the default. Credentials
have no default: a missing one fails at the first call that needs it, with a message naming
the argument, the variable and the command that saves them. Names, the default URL and name
rules live in `_settings` (no httpx there), shared with the CLI.
"""

from __future__ import annotations

import os

import httpx

from ._errors import ConfigurationError
from ._settings import (
    DEFAULT_URL,
    ENV_PASSWORD,
    ENV_URL,
    ENV_USERNAME,
    ConfigFileError,
    SavedConfig,
    config_path,
    resolve_settings,
)

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_TIMEOUT",
    "DEFAULT_URL",
    "DEFAULT_WAIT_TIMEOUT",
    "ENV_PASSWORD",
    "ENV_URL",
    "ENV_USERNAME",
    "LARGE_UPLOAD_BYTES",
    "MAX_UPLINK_BYTES",
    "PARSE_IN_THREAD_BYTES",
    "TOKEN_REFRESH_MARGIN",
    "Credentials",
    "ResolvedConfig",
    "resolve_base_url",
    "resolve_config",
    "resolve_credentials",
]

#: Seconds to establish a connection.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Seconds without a byte on the socket before a read or write fails (builds can be slow).
DEFAULT_READ_TIMEOUT = 300.0
DEFAULT_TIMEOUT = httpx.Timeout(DEFAULT_READ_TIMEOUT, connect=DEFAULT_CONNECT_TIMEOUT)

#: Most file bytes one uplink call may carry: the vendor's "2 GB", read strictly (10**9).
MAX_UPLINK_BYTES = 2 * 1000**3
#: Bytes read from disk (uplink) or written at once (downlink).
CHUNK_SIZE = 1024 * 1024
#: `AsyncEMClient` parses an answer larger than this in a worker thread (a 4,000-file
#: listing takes ~35 ms of CPU: too long to hold the event loop).
PARSE_IN_THREAD_BYTES = 64 * 1024
#: An uplink at least this large first gets a freshly issued access token.
LARGE_UPLOAD_BYTES = 32 * 1024 * 1024
#: An access token with less than this many seconds left is refreshed before use.
TOKEN_REFRESH_MARGIN = 30.0

#: `wait_for_pod` defaults (seconds).
DEFAULT_WAIT_TIMEOUT = 300.0
DEFAULT_POLL_INTERVAL = 2.0


class Credentials:
    """A user name and password, resolved lazily; the password never appears in a repr.

    Args:
        username: The argument given to the client, or None.
        password: The argument given to the client, or None.
    """

    __slots__ = ("_password", "_username", "source")

    def __init__(
        self, username: str | None, password: str | None, *, source: str | None = None
    ) -> None:
        self._username = username
        self._password = password
        self.source = source

    def refused_hint(self) -> str:
        """Where the password came from, for the message of a refused login."""
        where = {
            "argument": "the `password` argument",
            "environment": f"the {ENV_PASSWORD} environment variable",
            "config": f"the login saved in {config_path()} for this server and user "
            "(replace it: 'dphi-em login --prompt --save')",
        }.get(self.source or "", "the password given")
        return f"the password for {self._username!r} came from {where}"

    @property
    def username(self) -> str | None:
        """The user name, or None when neither the argument nor the variable is set."""
        return self._username

    def require(self) -> tuple[str, str]:
        """Return `(username, password)`.

        Raises:
            ConfigurationError: One of them is neither given nor in the environment.
        """
        missing = []
        if not self._username:
            missing.append(f"the `username` argument or the {ENV_USERNAME} environment variable")
        if not self._password:
            missing.append(f"the `password` argument or the {ENV_PASSWORD} environment variable")
        if missing:
            raise ConfigurationError(
                "No credentials: set "
                + " and ".join(missing)
                + ", or save them once with 'dphi-em login --save'."
            )
        assert self._username is not None
        assert self._password is not None
        return self._username, self._password

    def __repr__(self) -> str:
        return f"Credentials(username={self._username!r}, password=***)"


def resolve_base_url(base_url: str | httpx.URL | None) -> httpx.URL:
    """The server address: the argument, else `DPHI_EM_URL`, else `DEFAULT_URL`.

    The path always ends with `/`, so that relative operation paths join under it.

    Raises:
        ConfigurationError: The address is not an absolute http(s) URL.
    """
    raw = base_url if base_url is not None else (os.environ.get(ENV_URL) or DEFAULT_URL)
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"Invalid server URL {str(raw)!r}: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"Invalid server URL {str(raw)!r}: expected http(s)://host[:port]/ "
            f"(the `base_url` argument or the {ENV_URL} environment variable)."
        )
    if url.userinfo:
        raise ConfigurationError(
            "Invalid server URL: it holds a user name or password; give them as `username` "
            f"and `password` (or {ENV_USERNAME} and {ENV_PASSWORD}) instead."
        )
    if not url.raw_path.endswith(b"/"):
        url = url.copy_with(raw_path=url.raw_path + b"/")
    return url


class ResolvedConfig:
    """The address and credentials of a client, resolved once at its construction."""

    __slots__ = ("base_url", "credentials")

    def __init__(self, base_url: httpx.URL, credentials: Credentials) -> None:
        self.base_url = base_url
        self.credentials = credentials


def resolve_config(
    base_url: str | httpx.URL | None,
    username: str | None,
    password: str | None,
    *,
    saved: SavedConfig | None = None,
) -> ResolvedConfig:
    """Arguments, then environment, then the saved config file, then defaults.

    Raises:
        ConfigurationError: The address is invalid, or the config file is refused.
    """
    try:
        found = resolve_settings(
            None if base_url is None else str(base_url), username, password, saved=saved
        )
    except ConfigFileError as exc:
        raise ConfigurationError(str(exc)) from None
    credentials = Credentials(found.username, found.password, source=found.source)
    return ResolvedConfig(resolve_base_url(found.url), credentials)


def resolve_credentials(username: str | None, password: str | None) -> Credentials:
    """The credentials: the arguments, else the environment, else the saved config file."""
    return resolve_config(None, username, password).credentials
