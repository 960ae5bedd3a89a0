"""Issue 20 against the emulator: errors that say what to do (the wrong password's source,
a declined prompt, the volume a 404 looked in, `--json` errors, a shell-syntax warning, the
build hint's `--pod`, a folder downlink's label, the emulator's help)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dphi_em import AuthenticationError, EMClient, NotFoundError
from dphi_em.cli import app
from support.cli import runner_for


@pytest.fixture
def cli(emulator: Any) -> Any:
    return runner_for(emulator.url, emulator.username, emulator.password)


# -- 8: a wrong password names its source ------------------------------------------------------


def test_a_refused_password_names_where_it_came_from(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        EMClient(emulator.url, emulator.username, "wrong-pw", retry=False) as em,
        pytest.raises(AuthenticationError, match="came from the `password` argument"),
    ):
        em.files_list()
    monkeypatch.setenv("DPHI_EM_PASSWORD", "wrong-pw")
    with (
        EMClient(emulator.url, emulator.username, retry=False) as em,
        pytest.raises(AuthenticationError, match="DPHI_EM_PASSWORD environment variable"),
    ):
        em.files_list()
    refused = runner_for(emulator.url, emulator.username, "wrong-pw")("ls")
    assert refused.exit_code == 3
    assert "refused the password for" in refused.stderr
    assert "in DPHI_EM_PASSWORD: correct or unset DPHI_EM_PASSWORD" in refused.stderr


def test_no_password_says_the_saved_one_is_for_another_server(emulator: Any) -> None:
    saved = runner_for(emulator.url, emulator.username, None)("login", "--save", input=(
        emulator.password + "\n"))  # fmt: skip
    assert saved.exit_code == 0, saved.output
    elsewhere = runner_for("http://127.0.0.1:9/", emulator.username, None)("ls")
    assert elsewhere.exit_code == 3
    assert f"no password for {emulator.username}" in elsewhere.stderr
    assert f"is for {emulator.url}, not http://127.0.0.1:9/" in elsewhere.stderr


# -- 9: declining a prompt is not an interrupt -------------------------------------------------


def test_declining_a_prompt_has_its_own_exit_code_and_a_yes_hint(
    cli: Any, pod_name: str, tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a\n")
    assert cli("sync", str(tmp_path / "src"), f"pod:{pod_name}/d").exit_code == 0
    back = tmp_path / "back"
    back.mkdir()
    (back / "stray.txt").write_text("stray\n")
    declined = cli("sync", f"pod:{pod_name}/d", str(back), "--delete", input="n\n")
    assert declined.exit_code == 12, declined.output
    assert "declined" in declined.stderr
    assert "--yes" in declined.stderr
    assert "Aborted" not in declined.stderr
    no_answer = cli("sync", f"pod:{pod_name}/d", str(back), "--delete")  # stdin: nothing
    assert no_answer.exit_code == 12, no_answer.output
    assert "stdin is not a terminal" in no_answer.stderr
    assert (back / "stray.txt").exists()


# -- 10, 11: errors and hints of the CLI -----------------------------------------------------------


def test_build_hint_keeps_the_pod(cli: Any, pod_name: str, tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "Dockerfile").write_text("FROM alpine:latest\n")
    assert cli("uplink", str(tmp_path / "img"), "--pod", pod_name).exit_code == 0
    built = cli("image", "build", "img/Dockerfile", "--image", "thermo", "--pod", pod_name)
    assert built.exit_code == 0, built.output
    assert f"dphi-em run thermo --pod {pod_name}" in built.stdout
    bad = cli("image", "build", "img/Dockerfile", "--image", "Bad_Name", "--pod", pod_name)
    assert bad.exit_code == 2
    assert "'Bad_Name'" in bad.stderr


def test_a_command_with_shell_syntax_warns_with_the_sh_c_form(cli: Any, pod_name: str) -> None:
    ran = cli("run", "alpine:latest", "--pod", pod_name, "--command", "echo 1 > /data/x")
    assert ran.exit_code == 0, ran.output
    assert "warning: " in ran.stderr
    assert "shell syntax (>)" in ran.stderr
    assert "--command '/bin/sh -c' --arg 'echo 1 > /data/x'" in ran.stderr
    quiet = cli("run", "alpine:latest", "--pod", pod_name, "--command", "/bin/sh -c", "--arg", "x")
    assert "warning" not in quiet.stderr


def test_a_downlink_404_names_the_volume_and_json_errors_are_one_object(
    emulator: Any, cli: Any, pod_name: str, tmp_path: Path
) -> None:
    with (
        EMClient(emulator.url, emulator.username, emulator.password) as em,
        pytest.raises(NotFoundError, match=f"the volume of pod '{pod_name}'"),
    ):
        em.downlink("missing.txt", tmp_path, pod_name)
    missing = cli("downlink", "missing.txt", "--pod", pod_name, "-o", str(tmp_path), "--json")
    assert missing.exit_code == 4
    assert f"pod '{pod_name}'" in missing.stderr
    doc = json.loads(missing.stdout)  # one JSON object, and the stderr line
    assert doc["exit_code"] == 4
    assert doc["error"]["status_code"] == 404
    assert f"pod '{pod_name}'" in doc["error"]["message"]


def test_a_root_folder_downlink_is_labelled_once(cli: Any, pod_name: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("f\n")
    assert cli("uplink", str(tmp_path / "f.txt"), "--pod", pod_name).exit_code == 0
    root = cli("downlink", "/", "--pod", pod_name, "-o", str(tmp_path / "dlroot"))
    assert root.exit_code == 0, root.output
    assert root.stdout.startswith(f"Downlinked / -> {tmp_path / 'dlroot'} ")
    assert "//" not in root.stdout


def test_the_emulator_help_lists_its_options_without_a_user() -> None:
    shown = CliRunner().invoke(app, ["emulator", "--help"], env={}, catch_exceptions=False)
    assert shown.exit_code == 0
    assert "--time-scale" in shown.stdout
    assert "--pods" in shown.stdout
    passed = CliRunner().invoke(app, ["emulator", "--", "--help"], catch_exceptions=False)
    assert passed.exit_code == 0, passed.output
    assert "--time-scale" in passed.stdout
    assert not os.environ.get("DPHI_EM_USERNAME")
