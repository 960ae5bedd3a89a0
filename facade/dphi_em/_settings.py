"""Names, defaults and rules shared by the library and the CLI, and the saved config file.

This module imports neither httpx nor the generated client, so the CLI reads it at start-up
(for `--help` texts and option checks) without slowing `dphi-em --help`.

Where a setting comes from, first match wins:

1. the argument (`EMClient(base_url=..., username=..., password=...)`, or the CLI's options);
2. the environment: `DPHI_EM_URL`, `DPHI_EM_USERNAME`, `DPHI_EM_PASSWORD`;
3. the config file that `dphi-em login --save` writes: `config.json` in the app folder
   (on Linux `$XDG_CONFIG_HOME/dphi-em/`, by default `~/.config/dphi-em/`); its password
   is used only for its own user name and its own server, as `docker login` keys
   credentials by registry;
4. `DEFAULT_URL` for the address; credentials have no default.

The file is JSON, `{"url": ..., "username": ..., "password": ...}`, written atomically (a
temporary file in the same folder, then a rename) with mode 0600 in a 0700 folder. A file
that other users can read or write is refused with a message saying how to fix it.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

__all__ = [
    "APP_NAME",
    "CONFIG_FILE_NAME",
    "DEFAULT_URL",
    "ENV_NAME_RULE",
    "ENV_PASSWORD",
    "ENV_URL",
    "ENV_USERNAME",
    "NODES",
    "POD_NAME_RULE",
    "ConfigFileError",
    "NodeName",
    "SavedConfig",
    "Settings",
    "config_path",
    "dockerfile_folder",
    "env_name_ok",
    "load_config",
    "pod_name_ok",
    "resolve_settings",
    "same_server",
    "save_config",
]

APP_NAME = "dphi-em"
CONFIG_FILE_NAME = "config.json"

#: The vendor's default server address.
DEFAULT_URL = "http://localhost:8000/"
#: Environment variables read when the matching argument is not given.
ENV_URL = "DPHI_EM_URL"
ENV_USERNAME = "DPHI_EM_USERNAME"
ENV_PASSWORD = "DPHI_EM_PASSWORD"  # noqa: S105 (a variable name, not a secret)

#: The CG2 nodes a pod runs on, as the API spells them (any case is accepted).
NODES = ("FPGA", "GPU", "MPU")
#: `node=`: one of `NODES`, in any case.
NodeName = Literal["FPGA", "GPU", "MPU", "fpga", "gpu", "mpu"]

#: The Kubernetes object-name rule (DNS-1123 label) pod names follow.
POD_NAME_RULE = (
    "lowercase letters, digits and '-', starting and ending with a letter or digit, "
    "at most 63 characters"
)
_POD_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")

#: Kubernetes' rule for environment variable names (`C_IDENTIFIER` is stricter; the API
#: server accepts this one).
ENV_NAME_RULE = "letters, digits, '_', '-' and '.', not starting with a digit"
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")


def pod_name_ok(name: str) -> bool:
    """Whether `name` follows `POD_NAME_RULE`."""
    return _POD_NAME.fullmatch(name) is not None


def env_name_ok(name: str) -> bool:
    """Whether `name` follows `ENV_NAME_RULE`."""
    return _ENV_NAME.fullmatch(name) is not None


class ConfigFileError(Exception):
    """The config file is refused (too open, not a file, not JSON) or cannot be read.

    The library raises it as `ConfigurationError` (see `_config`); the CLI as its own
    usage error. Kept here so that this module imports nothing heavy.
    """


def config_path() -> Path:
    """The config file's path (it may not exist)."""
    import click  # the app-folder convention of each platform; imported only when needed

    return Path(click.get_app_dir(APP_NAME)) / CONFIG_FILE_NAME


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
        raise ConfigFileError(f"config file {path} is not a regular file")
    if os.name != "posix":  # pragma: no cover - Windows ACLs are not modes
        return
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise ConfigFileError(
            f"config file {path} is accessible by other users (mode {mode:04o}), refusing to "
            f"use it: run 'chmod 600 {path}' or delete it and run 'dphi-em login --save'"
        )
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise ConfigFileError(f"config file {path} belongs to another user, refusing to use it")


def load_config(path: Path | None = None) -> SavedConfig:
    """Read the config file; an absent file is an empty config.

    Raises:
        ConfigFileError: The file is too open, not a regular file or not valid JSON.
    """
    path = path or config_path()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return SavedConfig()
    except OSError as exc:
        raise ConfigFileError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        _check_private(path, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ConfigFileError(f"config file {path} is not valid JSON; delete it") from None
    if not isinstance(data, dict):
        raise ConfigFileError(f"config file {path} must hold a JSON object; delete it")

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    return SavedConfig(url=text("url"), username=text("username"), password=text("password"))


def save_config(config: SavedConfig, path: Path | None = None) -> Path:
    """Write `config` atomically with mode 0600 (the folder 0700).

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


def _server_key(url: str | None) -> tuple[str, str, int | None, str] | None:
    parts = urlsplit(url or DEFAULT_URL)
    try:
        port = parts.port
    except ValueError:
        return None
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port, path)


def same_server(url: str | None, other: str | None) -> bool:
    """Whether two server URLs (None: the default) name the same server."""
    a, b = _server_key(url), _server_key(other)
    return a is not None and a == b


@dataclass(frozen=True)
class Settings:
    """Resolved connection settings; any field may be None (not found anywhere).

    Attributes:
        url: The server address as found (None: `DEFAULT_URL`).
        username: The user name.
        password: The password.
        source: Where the password came from: `argument`, `environment`, `config` or None.
    """

    url: str | None
    username: str | None
    password: str | None
    source: str | None = None

    def __repr__(self) -> str:
        hidden = None if self.password is None else "***"
        return (
            f"Settings(url={self.url!r}, username={self.username!r}, password={hidden!r}, "
            f"source={self.source!r})"
        )


def resolve_settings(
    url: str | None = None,
    username: str | None = None,
    password: str | None = None,
    *,
    saved: SavedConfig | None = None,
    use_config_file: bool = True,
) -> Settings:
    """Arguments, then environment, then the config file (see the module docstring).

    Args:
        url: The address given as an argument.
        username: The user name given as an argument.
        password: The password given as an argument.
        saved: The config file's content, when already read.
        use_config_file: Whether to read the config file at all.

    Raises:
        ConfigFileError: The config file exists and is refused.
    """
    env = os.environ
    url = url or env.get(ENV_URL) or None
    username = username or env.get(ENV_USERNAME) or None
    source: str | None = None
    if password is not None:
        source = "argument"
    elif env.get(ENV_PASSWORD):
        password, source = env[ENV_PASSWORD], "environment"
    if (url is None or username is None or password is None) and use_config_file:
        if saved is None:
            saved = load_config()
        url = url or saved.url
        username = username or saved.username
        if (
            password is None
            and saved.password
            and saved.username == username
            and same_server(url, saved.url)
        ):
            password, source = saved.password, "config"
    return Settings(url=url, username=username, password=password, source=source)


def dockerfile_folder(dockerfile: str) -> str:
    """The folder of a Dockerfile's volume path: the default build context ("." at the root),
    for `image_build` and `dphi-em image build` alike."""
    folder = posixpath.dirname(dockerfile.replace("\\", "/"))
    return folder or "."
