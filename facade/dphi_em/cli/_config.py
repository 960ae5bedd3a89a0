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

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from dphi_em import _settings
from dphi_em._settings import (
    DEFAULT_URL,
    ENV_PASSWORD,
    ENV_URL,
    ENV_USERNAME,
    SavedConfig,
    config_path,
    same_server,
    save_config,
)

from ._errors import ConfigError, CredentialsError

__all__ = [
    "DEFAULT_URL",
    "ENV_PASSWORD",
    "ENV_URL",
    "ENV_USERNAME",
    "Credentials",
    "Resolver",
    "SavedConfig",
    "config_path",
    "load_config",
    "read_password_stdin",
    "same_server",
    "save_config",
]


def load_config(path: Path | None = None) -> SavedConfig:
    """The saved config (`_settings.load_config`), its refusals as the CLI's usage error.

    Raises:
        ConfigError: The file is too open, not a regular file or not valid JSON.
    """
    try:
        return _settings.load_config(path)
    except _settings.ConfigFileError as exc:
        raise ConfigError(str(exc)) from None


@dataclass(frozen=True)
class Credentials:
    """The resolved connection settings; ``url`` None means the facade's default."""

    url: str | None
    username: str
    password: str
    source: str | None = None  # where the password came from: argument, environment, config

    def __repr__(self) -> str:
        return (
            f"Credentials(url={self.url!r}, username={self.username!r}, password='***', "
            f"source={self.source!r})"
        )


def read_password_stdin() -> str:
    """The first line of stdin, without its line ending (``docker login --password-stdin``)."""
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        raise CredentialsError("--password-stdin: stdin held no password")
    return password


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

    def _settings(self, username: str | None = None) -> _settings.Settings:
        """Options, then environment, then the config file: the library's own resolution."""
        password = None
        if self.password_stdin:
            if self._stdin_password is None:
                self._stdin_password = read_password_stdin()
            password = self._stdin_password
        return _settings.resolve_settings(
            self.url, username or self.username, password, saved=self.saved()
        )

    def resolve_url(self) -> str | None:
        """The URL, or None for the facade's default."""
        return self._settings().url

    def resolve(self, *, prompt: bool | None = None, saved_password: bool = True) -> Credentials:
        """The URL, user name and password.

        Args:
            prompt: Ask for missing values. None: only when stdin is a terminal.
            saved_password: Use the config file's password (``login --prompt``: no).

        Raises:
            CredentialsError: A value is missing and cannot be asked for.
            ConfigError: The config file is refused.
        """
        if prompt is None:
            prompt = sys.stdin is not None and sys.stdin.isatty()
        found = self._settings()
        username = found.username
        if not username and prompt:
            username = click.prompt("Username", err=True).strip()
            found = self._settings(username)
        if not username:
            raise CredentialsError(
                f"no user name: pass --username, set {ENV_USERNAME}, "
                "or run 'dphi-em login --save' once"
            )
        password, source = found.password, found.source
        if source == "argument" and self.password_stdin:
            source = "stdin"
        if not saved_password and source == "config":
            password = source = None
        if password is None and prompt:
            password = click.prompt(f"Password for {username}", hide_input=True, err=True)
            source = "prompt"
        if not password:
            saved = self.saved()
            elsewhere = ""
            same = _settings.same_server(found.url, saved.url)
            if saved.password and saved.username == username and not same:
                default = _settings.DEFAULT_URL
                elsewhere = (
                    f" (the password saved in {config_path()} is for {saved.url or default}, "
                    f"not {found.url or default})"
                )
            raise CredentialsError(
                f"no password for {username}{elsewhere}: use --password-stdin, set "
                f"{ENV_PASSWORD}, or run 'dphi-em login --save' once"
            )
        return Credentials(url=found.url, username=username, password=password, source=source)
