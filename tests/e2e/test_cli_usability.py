"""Issue 12's CLI fixes against the emulator: waiting for CI, retry lines, ``--json`` on every
command, ``--at`` echo, ``login --prompt`` / ``logout``, the download folder."""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from support.cli import error_lines, runner_for


def exits_with(code: int) -> list[str]:
    return ["--env", f"DPHI_EM_EMULATOR_EXIT_CODE={code}"]


# --- 2. waiting for CI ---------------------------------------------------------------------


def test_run_wait_terminated_exits_0_only_for_exit_code_0(cli: Any, pod_name: str) -> None:
    ok = cli("run", "alpine:latest", "--pod", pod_name, "--wait=terminated", *exits_with(0))
    assert ok.exit_code == 0, ok.output
    assert "terminated (Completed" in ok.stdout.splitlines()[-1]
    assert "exit code 0" in ok.stdout.splitlines()[-1]

    failed = cli(
        "run", "alpine:latest", "--pod", pod_name + "-f", "--wait", "terminated", *exits_with(3)
    )
    assert failed.exit_code == 10, failed.output
    assert "exit code 3" in failed.stdout.splitlines()[-1]  # the state line shows it
    assert error_lines(failed) == [f"Error: Pod '{pod_name}-f' ended with exit code 3 (Error)."]


def test_run_wait_terminated_json_has_the_final_state(cli: Any, pod_name: str) -> None:
    result = cli(
        "run", "alpine:latest", "--pod", pod_name, "--wait=terminated", "--json", *exits_with(5)
    )
    assert result.exit_code == 10, result.output
    doc = json.loads(result.stdout)
    assert doc["pod"] == pod_name
    assert doc["image"] == "alpine:latest"
    assert doc["state"]["kind"] == "terminated"
    assert doc["state"]["exit_code"] == 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?",
                        doc["state"]["finished_at"])  # fmt: skip


def test_status_watch_fails_for_a_pod_that_failed(cli: Any, pod_name: str) -> None:
    run = cli("run", "alpine:latest", "--pod", pod_name, *exits_with(3))
    assert run.exit_code == 0, run.output
    watched = cli("status", "--pod", pod_name, "--watch", "--interval", "0.2")
    assert watched.exit_code == 10, watched.output
    assert "exit code 3" in watched.stdout.splitlines()[-1]
    assert "exit code 3" in error_lines(watched)[0]
    fine = pod_name + "-ok"
    assert cli("run", "alpine:latest", "--pod", fine, *exits_with(0)).exit_code == 0
    assert cli("status", "--pod", fine, "--watch", "--interval", "0.2").exit_code == 0


def test_status_watch_stops_on_image_pull_back_off(cli: Any, pod_name: str) -> None:
    assert cli("run", "no-such-image", "--pod", pod_name).exit_code == 0
    watched = cli("status", "--pod", pod_name, "--watch", "--interval", "0.2", "--timeout", "60")
    assert watched.exit_code == 10, watched.output
    assert "ImagePullBackOff" in watched.stdout.splitlines()[-1]
    assert "cannot start: ImagePullBackOff" in error_lines(watched)[0]


def test_a_wait_that_times_out_exits_11(cli: Any, pod_name: str) -> None:
    result = cli("run", "alpine:latest", "--pod", pod_name, "--at", "+1h", "--wait",
                 "--timeout", "0.5")  # fmt: skip
    assert result.exit_code == 11, result.output
    assert "is not running after 0.5 s" in error_lines(result)[0]
    watched = cli("status", "--pod", pod_name, "--watch", "--interval", "0.2", "--timeout", "0.5")
    assert watched.exit_code == 11, watched.output


def test_run_wait_running_is_still_the_default(cli: Any, pod_name: str) -> None:
    result = cli("run", "alpine:latest", "--pod", pod_name, "--max-duration", "5", "--wait")
    assert result.exit_code == 0, result.output
    assert "Waiting for the pod to run" in result.stderr
    assert "running" in result.stdout.splitlines()[-1]


# --- 7. retries say so ---------------------------------------------------------------------


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_each_connection_retry_is_one_line_and_quiet_silences_them() -> None:
    cli = runner_for(_closed_port_url(), "client1", "pw-not-printed")
    result = cli("--retries", "2", "ls")
    assert result.exit_code == 8
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, result.stderr
    for n, line in enumerate(lines[:2], start=1):
        assert re.fullmatch(rf"EM unreachable \(ConnectError\), retry {n}/2 in \d+\.\d s", line)
    assert lines[2].startswith("Error: ")
    assert "pw-not-printed" not in result.stderr
    quiet = cli("--retries", "2", "ls", "-q")
    assert quiet.exit_code == 8
    assert len(quiet.stderr.strip().splitlines()) == 1  # the error only


def test_busy_retries_say_so_and_quiet_silences_them(make_emulator: Any) -> None:
    server = make_emulator()
    cli = runner_for(server.url, "client1", "secret")
    assert cli("login").exit_code == 0
    server.force_locked(2)
    result = cli("nodes")
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()
    assert [re.sub(r"in \d+\.\d s", "in X s", line) for line in lines] == [
        "EM busy (423), retry 1/7 in X s",
        "EM busy (423), retry 2/7 in X s",
    ]
    server.force_locked(2)
    quiet = cli("nodes", "--quiet")
    assert quiet.exit_code == 0
    assert quiet.stderr == ""


# --- 8. --json everywhere ------------------------------------------------------------------


def test_json_on_commands_that_change_state(
    cli: Any, emulator: Any, tmp_path: Path, pod_name: str
) -> None:
    folder = tmp_path / "echo-test"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM fpga.dphi.space:5000/alpine:3.19\n")
    up = cli("uplink", str(folder), "--pod", pod_name, "--json")
    assert json.loads(up.stdout)["total_bytes"] == len("FROM fpga.dphi.space:5000/alpine:3.19\n")

    image = f"img-{pod_name}"
    built = cli("image", "build", "echo-test/Dockerfile", "--image", image, "--pod", pod_name,
                "--json")  # fmt: skip
    assert built.exit_code == 0, built.output
    doc = json.loads(built.stdout)
    assert (doc["image"], doc["full_name"]) == (image, f"client1-{image}")
    assert doc["context"] == "echo-test"
    listed = json.loads(cli("image", "--json", "ls").stdout)
    assert {"name": image, "full_name": f"client1-{image}"} in listed

    run = cli("run", image, "--pod", pod_name, "--at", "+2m", "--json")
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    assert doc["image"] == image
    assert doc["node"] == "FPGA"
    assert doc["state"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", doc["scheduled_time"])

    login = json.loads(cli("login", "--json").stdout)
    assert login == {"url": emulator.url, "username": emulator.username, "saved": None}

    removed = cli("rm", "-r", "echo-test", "--pod", pod_name, "--json")
    assert json.loads(removed.stdout) == {
        "pod": pod_name, "deleted": [{"path": "echo-test", "type": "directory"}]
    }  # fmt: skip


def test_json_namespace_create_and_volume_rm(make_emulator: Any, tmp_path: Path) -> None:
    server = make_emulator()
    cli = runner_for(server.url, "client2", "secret2")
    created = cli("namespace", "create", "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["namespace"] == "created"
    (tmp_path / "f.txt").write_text("x")
    assert cli("uplink", str(tmp_path / "f.txt"), "--pod", "old-run", "-q").exit_code == 0
    removed = cli("volume", "rm", "old-run", "--yes", "--json")
    if removed.exit_code == 2 and "not on this EM" in removed.stderr:
        pytest.skip("this EM revision has no volumes")
    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout)["deleted"] == "old-run"


# --- 9. --at, login/logout -----------------------------------------------------------------


def test_at_is_echoed_without_microseconds(cli: Any, pod_name: str) -> None:
    result = cli("run", "alpine:latest", "--pod", pod_name, "--at", "+1m")
    assert result.exit_code == 0, result.output
    assert re.search(r" at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d \(max 1 min\)\.$",
                     result.stdout.strip())  # fmt: skip


@pytest.fixture
def config_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "dphi-em" / "config.json"


def test_a_refused_saved_password_is_not_reused(emulator: Any, config_file: Path) -> None:
    cli = runner_for(emulator.url, emulator.username, None)
    saved = cli("login", "--save", input="wrong-password\n")
    assert saved.exit_code == 3  # refused: nothing saved
    assert not config_file.exists()
    stale = cli("login", "--save", input=emulator.password + "\n")
    assert stale.exit_code == 0, stale.output
    config_file.write_text(json.dumps({"url": emulator.url, "username": emulator.username,
                                       "password": "stale"}))  # fmt: skip
    config_file.chmod(0o600)

    refused = cli("nodes")
    assert refused.exit_code == 3
    (line,) = error_lines(refused)
    assert "refused the password saved" in line
    assert "dphi-em login --prompt --save" in line
    assert "stale" not in refused.stderr

    # login asks again instead of reusing it, and --save replaces it
    again = cli("login", "--save", input=emulator.password + "\n")
    assert again.exit_code == 0, again.output
    assert "refused the password saved" in again.stderr
    assert json.loads(config_file.read_text())["password"] == emulator.password
    assert cli("nodes").exit_code == 0


def test_login_prompt_asks_even_with_a_saved_password(emulator: Any, config_file: Path) -> None:
    cli = runner_for(emulator.url, emulator.username, None)
    assert cli("login", "--save", input=emulator.password + "\n").exit_code == 0
    silent = cli("login")
    assert silent.exit_code == 0
    assert "Password" not in silent.stderr  # the saved one is used
    asked = cli("login", "--prompt", input="not-it\n")
    assert asked.exit_code == 3
    assert "Password for" in asked.stderr


def test_logout_forgets_the_password(emulator: Any, config_file: Path) -> None:
    cli = runner_for(emulator.url, emulator.username, None)
    assert cli("login", "--save", input=emulator.password + "\n").exit_code == 0
    out = cli("logout")
    assert out.exit_code == 0
    assert f"Forgot the password saved for {emulator.username}" in out.stdout
    assert json.loads(config_file.read_text()) == {
        "url": emulator.url, "username": emulator.username
    }  # fmt: skip
    assert cli("nodes").exit_code == 3  # no password any more, stdin is not a terminal
    assert cli("logout").stdout.startswith("No saved password")
    gone = cli("logout", "--all", "--json")
    assert json.loads(gone.stdout) == {
        "config": str(config_file), "password_removed": False, "file_removed": True
    }  # fmt: skip
    assert not config_file.exists()


def test_downlink_default_folder_is_the_librarys(
    cli: Any, tmp_path: Path, pod_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inspect

    from dphi_em import EMClient

    library_default = inspect.signature(EMClient.downlink).parameters["downlink_folder"].default
    (tmp_path / "hello.txt").write_text("hello\n")
    assert cli("uplink", str(tmp_path / "hello.txt"), "--pod", pod_name, "-q").exit_code == 0
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = cli("downlink", "hello.txt", "--pod", pod_name)
    assert result.exit_code == 0, result.output
    assert (work / library_default / "hello.txt").read_text() == "hello\n"
    assert sorted(p.name for p in work.iterdir()) == ["downlink"]
