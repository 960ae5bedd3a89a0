"""Where the URL and credentials come from, and the config file ``login --save`` writes.

Each value is taken from the first place that has it:

1. the command line (``--url``, ``--username``; the password only through
   ``--password-stdin``, never as an argument);
2. the environment: ``DPHI_EM_URL``, ``DPHI_EM_USERNAME``, ``DPHI_EM_PASSWORD``;
3. the config file ``config.json`` in ``click.get_app_dir("dphi-em")`` (on Linux
   ``$XDG_CONFIG_HOME/dphi-em/config.json``, by default ``~/.config/dphi-em/config.json``),
   written by ``dphi-em login --save``; its password is used only for its own user name;
4. a prompt, when stdin is a terminal (always for ``login``).

The file is JSON, ``{"url": ..., "username": ..., "password": ...}``, written atomically
(a temporary file in the same folder, then a rename) with mode 0600 in a 0700 folder. A file
that other users can read or write is refused with a message saying how to fix it.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

from ._errors import ConfigError, CredentialsError

APP_NAME = "dphi-em"
CONFIG_FILE_NAME = "config.json"
ENV_URL = "DPHI_EM_URL"
ENV_USERNAME = "DPHI_EM_USERNAME"
ENV_PASSWORD = "DPHI_EM_PASSWORD"  # noqa: S105 - a variable's name, not a secret
#: The facade's default, shown in messages (the facade itself applies it).
DEFAULT_URL = "http://localhost:8000/"


def config_path() -> Path:
    """The config file's path (it may not exist)."""
    return Path(click.get_app_dir(APP_NAME)) / CONFIG_FILE_NAME


@dataclass(frozen=True)
class Credentials:
    """The resolved connection settings; ``url`` None means the facade's default."""

    url: str | None
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(url={self.url!r}, username={self.username!r}, password='***')"


@dataclass(frozen=True)
class SavedConfig:
    """What the config file holds (every field optional)."""

    url: str | None = None
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        hidden = None if self.password is None else "***"
        return f"SavedConfig(url={self.url!r}, username={self.username!r}, password={hidden!r})"


def _check_private(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"config file {path} is not a regular file")
    if os.name != "posix":  # pragma: no cover - Windows ACLs are not modes
        return
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"config file {path} is accessible by other users (mode {mode:04o}), refusing to "
            f"use it: run 'chmod 600 {path}' or delete it and run 'dphi-em login --save'"
        )
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise ConfigError(f"config file {path} belongs to another user, refusing to use it")


def load_config(path: Path | None = None) -> SavedConfig:
    """Read the config file; an absent file is an empty config.

    Raises:
        ConfigError: The file is too open, not a regular file or not valid JSON.
    """
    path = path or config_path()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return SavedConfig()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        _check_private(path, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ConfigError(f"config file {path} is not valid JSON; delete it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a JSON object; delete it")

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    return SavedConfig(url=text("url"), username=text("username"), password=text("password"))


def save_config(config: SavedConfig, path: Path | None = None) -> Path:
    """Write ``config`` atomically with mode 0600 (the folder 0700).

    Returns:
        The file's path.
    """
    path = path or config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = {
        k: v
        for k, v in (
            ("url", config.url),
            ("username", config.username),
            ("password", config.password),
        )
        if v is not None
    }
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o600)  # mkstemp already creates 0600; make sure
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def read_password_stdin() -> str:
    """The first line of stdin, without its line ending (``docker login --password-stdin``)."""
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        raise CredentialsError("--password-stdin: stdin held no password")
    return password


def same_server(url: str | None, other: str | None) -> bool:
    """Whether two server URLs (None: the default) name the same server."""
    from dphi_em._config import DEFAULT_URL, resolve_base_url
    from dphi_em._errors import ConfigurationError

    try:
        a, b = resolve_base_url(url or DEFAULT_URL), resolve_base_url(other or DEFAULT_URL)
    except ConfigurationError:
        return False
    return (a.scheme, a.host, a.port, a.path) == (b.scheme, b.host, b.port, b.path)


@dataclass
class Resolver:
    """Resolves URL and credentials from options, environment, config file and prompts."""

    url: str | None = None
    username: str | None = None
    password_stdin: bool = False
    _saved: SavedConfig | None = None
    _stdin_password: str | None = None

    def saved(self) -> SavedConfig:
        if self._saved is None:
            self._saved = load_config()
        return self._saved

    def resolve_url(self) -> str | None:
        """The URL, or None for the facade's default."""
        return self.url or os.environ.get(ENV_URL) or self.saved().url

    def resolve(self, *, prompt: bool | None = None) -> Credentials:
        """The URL, user name and password.

        Args:
            prompt: Ask for missing values. None: only when stdin is a terminal.

        Raises:
            CredentialsError: A value is missing and cannot be asked for.
            ConfigError: The config file is refused.
        """
        if prompt is None:
            prompt = sys.stdin is not None and sys.stdin.isatty()
        url = self.resolve_url()
        username = self.username or os.environ.get(ENV_USERNAME)
        if not username:
            username = self.saved().username
        if not username and prompt:
            username = click.prompt("Username", err=True).strip()
        if not username:
            raise CredentialsError(
                f"no user name: pass --username, set {ENV_USERNAME}, "
                "or run 'dphi-em login --save' once"
            )
        password = self._password(username, url, prompt=prompt)
        return Credentials(url=url, username=username, password=password)

    def _password(self, username: str, url: str | None, *, prompt: bool) -> str:
        if self.password_stdin:
            if self._stdin_password is None:
                self._stdin_password = read_password_stdin()
            return self._stdin_password
        password = os.environ.get(ENV_PASSWORD)
        if password:
            return password
        saved = self.saved()
        # A saved password goes only to the server it was saved for, as docker login keys
        # credentials by registry: --url or DPHI_EM_URL elsewhere must not receive it.
        if saved.password and saved.username == username and same_server(url, saved.url):
            return saved.password
        if prompt:
            value: str = click.prompt(f"Password for {username}", hide_input=True, err=True)
            return value
        raise CredentialsError(
            f"no password for {username}: use --password-stdin, set {ENV_PASSWORD}, "
            "or run 'dphi-em login --save' once"
        )
