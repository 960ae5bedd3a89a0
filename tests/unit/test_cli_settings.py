"""Config resolution and the config file, without a server."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest
from dphi_em.cli._config import (
    Resolver,
    SavedConfig,
    config_path,
    load_config,
    save_config,
)
from dphi_em.cli._errors import ConfigError, CredentialsError
from dphi_em.cli._pods import parse_at


def test_config_path_follows_xdg() -> None:
    assert config_path() == Path(os.environ["XDG_CONFIG_HOME"]) / "dphi-em" / "config.json"


def test_save_then_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "config.json"
    save_config(SavedConfig(url="http://em/", username="u", password="p w"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(path) == SavedConfig(url="http://em/", username="u", password="p w")
    save_config(SavedConfig(username="v"), path)  # replaced whole, atomically
    assert json.loads(path.read_text()) == {"username": "v"}
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.json"]


def test_repr_hides_the_password() -> None:
    assert "p w" not in repr(SavedConfig(url=None, username="u", password="p w"))


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert load_config(tmp_path / "none.json") == SavedConfig()


def test_loose_and_odd_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{}")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match=r"0644.*chmod 600"):
        load_config(path)
    path.chmod(0o600)
    path.write_text("[1]")
    with pytest.raises(ConfigError, match="JSON object"):
        load_config(path)
    folder = tmp_path / "dir.json"
    folder.mkdir()
    with pytest.raises(ConfigError):
        load_config(folder)


def test_symlinked_config_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    real.chmod(0o600)
    link = tmp_path / "config.json"
    link.symlink_to(real)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(link)


def test_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    save_config(SavedConfig(url="http://file/", username="fileuser", password="filepw"))
    creds = Resolver().resolve(prompt=False)
    assert (creds.url, creds.username, creds.password) == ("http://file/", "fileuser", "filepw")
    assert "filepw" not in repr(creds)
    monkeypatch.setenv("DPHI_EM_URL", "http://env/")
    monkeypatch.setenv("DPHI_EM_PASSWORD", "envpw")
    creds = Resolver().resolve(prompt=False)
    assert (creds.url, creds.username, creds.password) == ("http://env/", "fileuser", "envpw")
    creds = Resolver(url="http://opt/", username="optuser").resolve(prompt=False)
    assert (creds.url, creds.username, creds.password) == ("http://opt/", "optuser", "envpw")


def test_nothing_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CredentialsError, match="DPHI_EM_USERNAME"):
        Resolver().resolve(prompt=False)
    assert Resolver().resolve_url() is None  # the facade's default applies


def test_parse_at_relative() -> None:
    now = dt.datetime(2025, 5, 22, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert parse_at("+5m", now=now) == now + dt.timedelta(minutes=5)
    assert parse_at("+1h30m", now=now) == now + dt.timedelta(hours=1, minutes=30)
    assert parse_at("+2d", now=now) == now + dt.timedelta(days=2)
    assert parse_at("+90s", now=now) == now + dt.timedelta(seconds=90)
    assert parse_at("+5m").tzinfo is not None


def test_parse_at_absolute() -> None:
    parsed = parse_at("2025-05-22T12:10:00+02:00")
    assert parsed.utcoffset() == dt.timedelta(hours=2)
    assert parse_at("2025-05-22T10:10:00Z") == parsed
    for bad in ("2025-05-22T12:10:00", "+5", "+m", "+5m3h", "soon", "+-5m"):
        with pytest.raises(ValueError, match=r"\S"):
            parse_at(bad)
