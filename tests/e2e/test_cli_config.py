"""Credentials and URL: options > DPHI_EM_* > the config file written by `login --save` (0600)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from support.cli import invoke, one_error_line


@pytest.fixture
def config_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "dphi-em" / "config.json"


def test_login_save_writes_0600_and_later_commands_use_it(emulator: Any, config_file: Path) -> None:
    result = invoke(
        "--url", emulator.url, "-u", emulator.username, "login", "--save", "--password-stdin",
        input=emulator.password + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert str(config_file) in result.stdout
    assert emulator.password not in result.stdout + result.stderr
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_file.parent.stat().st_mode) == 0o700
    assert json.loads(config_file.read_text()) == {
        "url": emulator.url,
        "username": emulator.username,
        "password": emulator.password,
    }
    assert [p.name for p in config_file.parent.iterdir()] == ["config.json"]  # no temp file

    nodes = invoke("nodes", "--json")  # no option, no variable: the file
    assert nodes.exit_code == 0, nodes.output
    assert len(json.loads(nodes.stdout)) == 3


def test_login_prompts_for_what_is_missing(emulator: Any, config_file: Path) -> None:
    result = invoke(
        "login",
        "--save",
        env={"DPHI_EM_URL": emulator.url},
        input=f"{emulator.username}\n{emulator.password}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Username" in result.stderr
    assert "Password" in result.stderr
    assert emulator.password not in result.stdout + result.stderr  # hidden input
    assert json.loads(config_file.read_text())["username"] == emulator.username


def test_failed_login_saves_nothing(emulator: Any, config_file: Path) -> None:
    env = {"DPHI_EM_URL": emulator.url, "DPHI_EM_USERNAME": "client1", "DPHI_EM_PASSWORD": "bad"}
    result = invoke("login", "--save", env=env)
    assert result.exit_code == 3
    assert "authentication failed" in one_error_line(result)
    assert not config_file.exists()


def _write_config(path: Path, data: dict[str, str], mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    path.chmod(mode)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_looser_config_file_is_refused(mode: int, config_file: Path) -> None:
    # The URL points at a closed port: a refused file must stop before any connection.
    _write_config(
        config_file,
        {"url": "http://127.0.0.1:9/", "username": "client1", "password": "secret"},
        mode,
    )
    result = invoke("ls")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert str(config_file) in line
    assert f"{mode:04o}" in line
    assert "chmod 600" in line


def test_options_and_environment_beat_the_file(emulator: Any, config_file: Path) -> None:
    _write_config(
        config_file,
        {"url": "http://127.0.0.1:9/", "username": "client1", "password": "wrong"},
        0o600,
    )
    env = {"DPHI_EM_PASSWORD": emulator.password}
    assert invoke("--url", emulator.url, "nodes", env=env).exit_code == 0
    env["DPHI_EM_URL"] = emulator.url
    assert invoke("nodes", env=env).exit_code == 0
    # The file's password is for its own user only: another user name gets none.
    other = invoke("-u", "client2", "nodes", env={"DPHI_EM_URL": emulator.url})
    assert other.exit_code == 3
    assert "no password for client2" in one_error_line(other)


def test_password_stdin_must_hold_a_password(emulator: Any) -> None:
    env = {"DPHI_EM_URL": emulator.url, "DPHI_EM_USERNAME": emulator.username}
    result = invoke("--password-stdin", "nodes", env=env, input="")
    assert result.exit_code == 3
    assert "--password-stdin" in one_error_line(result)
    ok = invoke("nodes", "--password-stdin", env=env, input=emulator.password + "\r\n")
    assert ok.exit_code == 0, ok.output


def test_no_password_option_exists() -> None:
    result = invoke("login", "--password", "secret")
    assert result.exit_code == 2
    assert "--password" in one_error_line(result)


def test_a_broken_config_file_is_one_line(config_file: Path) -> None:
    _write_config(config_file, {}, 0o600)
    config_file.write_text("{not json")
    result = invoke("ls")
    assert result.exit_code == 2
    assert "not valid JSON" in one_error_line(result)


def test_the_saved_password_goes_only_to_the_server_it_was_saved_for(
    emulator: Any, config_file: Path
) -> None:
    from test_cli_errors import Tripwire

    saved = invoke(
        "--url", emulator.url, "-u", emulator.username, "login", "--save", "--password-stdin",
        input=emulator.password + "\n",
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    # the same server, spelled without the trailing slash: the saved password is used
    same = invoke("--url", emulator.url.rstrip("/"), "nodes", "--json")
    assert same.exit_code == 0, same.output
    # another server: the saved user name may be used, never the saved password
    wire = Tripwire()
    try:
        other = invoke("--url", wire.url, "nodes")
        assert wire.connections == 0
    finally:
        wire.close()
    assert other.exit_code == 3, other.output
    assert "no password for client1" in one_error_line(other)
    assert emulator.password not in other.output


def test_the_library_finds_what_login_save_saved(
    emulator: Any, config_file: Path, client_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One configuration layer: log in once for the shell, and scripts find it too."""
    from dphi_em import ConfigurationError, EMClient
    from facade_helpers import client_factory

    saved = invoke(
        "--url", emulator.url, "-u", emulator.username, "login", "--save", "--password-stdin",
        input=emulator.password + "\n",
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    with client_factory(client_kind)() as em:  # no argument, no variable: the saved file
        assert str(em.base_url) == emulator.url
        assert isinstance(em.nodes_status(), list)
    # The environment wins over the file; the saved password never goes to another server.
    monkeypatch.setenv("DPHI_EM_URL", "http://127.0.0.1:9/")
    other = EMClient()
    assert str(other.base_url) == "http://127.0.0.1:9/"
    with other, pytest.raises(ConfigurationError, match="DPHI_EM_PASSWORD"):
        other.get_token()
