"""Bad input is refused locally (exit 2, one line, nothing sent); every error class has its
exit code; `--debug` shows the exchange without secrets."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cli import invoke, one_error_line


class Tripwire:
    """A listening socket that records (and drops) every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def tripwire() -> Iterator[Tripwire]:
    wire = Tripwire()
    yield wire
    wire.close()


@pytest.fixture
def wired_env(tripwire: Tripwire) -> dict[str, str]:
    """Valid-looking settings pointing at the tripwire: any request would be seen."""
    return {
        "DPHI_EM_URL": tripwire.url,
        "DPHI_EM_USERNAME": "client1",
        "DPHI_EM_PASSWORD": "secret",
    }


BAD_INPUT = [
    pytest.param(["run", "img", "--node", "tpu"], ["'tpu'", "fpga", "gpu", "mpu"], id="node"),
    pytest.param(
        ["run", "img", "--pod", "Hey no whitespaces"],
        ["'Hey no whitespaces'", "lowercase"],
        id="pod-name-run",
    ),
    pytest.param(["ls", "--pod", "Pod_A"], ["'Pod_A'", "lowercase"], id="pod-name-ls"),
    pytest.param(["uplink", "missing.txt"], ["missing.txt", "does not exist"], id="missing-file"),
    pytest.param(
        ["run", "img", "--at", "2025-05-22T12:10:00"],
        ["2025-05-22T12:10:00", "time zone"],
        id="naive-time",
    ),
    pytest.param(["run", "img", "--at", "tomorrow"], ["tomorrow", "ISO 8601"], id="bad-time"),
    pytest.param(["run", "img", "--at", "+5x"], ["'+5x'", "+5m"], id="bad-relative"),
    pytest.param(["run", "img", "--at", "+"], ["'+'", "+5m"], id="empty-relative"),
    pytest.param(["run", "img", "--env", "SIZE"], ["'SIZE'", "NAME=VALUE"], id="env-no-equals"),
    pytest.param(["run", "img", "--env", "=1"], ["'=1'", "variable name"], id="env-no-name"),
    pytest.param(["run", "img", "--port", "0"], ["0", "1<=x<=65535"], id="port-zero"),
    pytest.param(["run", "img", "--port", "70000"], ["70000", "65535"], id="port-high"),
    pytest.param(["run", "img", "--port", "http"], ["'http'", "integer"], id="port-text"),
    pytest.param(["run", "img", "--max-duration", "0"], ["0", "x>=1"], id="max-duration"),
    pytest.param(["downlink", "a.txt", "--pod", "-x-"], ["'-x-'"], id="pod-name-downlink"),
    pytest.param(["rm", "/"], ["'/'", "volume root"], id="rm-root"),
    pytest.param(["image", "build", "Dockerfile"], ["--image"], id="image-missing"),
    pytest.param(["status", "--pod", "UPPER"], ["'UPPER'"], id="pod-name-status"),
    pytest.param(["frobnicate"], ["frobnicate"], id="unknown-command"),
]


@pytest.mark.parametrize(("args", "expected"), BAD_INPUT)
def test_bad_input_is_one_line_exit_2_and_nothing_sent(
    args: list[str], expected: list[str], tripwire: Tripwire, wired_env: dict[str, str]
) -> None:
    result = invoke(*args, env=wired_env)
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    for text in expected:
        assert text in line
    assert result.stdout == ""
    assert tripwire.connections == 0


def test_the_tripwire_does_see_a_request(tripwire: Tripwire, wired_env: dict[str, str]) -> None:
    result = invoke("ls", "--retries", "0", env=wired_env)
    assert result.exit_code == 8
    assert tripwire.connections >= 1


def test_missing_credentials_exit_3_nothing_sent(tripwire: Tripwire) -> None:
    result = invoke("ls", env={"DPHI_EM_URL": tripwire.url})
    assert result.exit_code == 3
    line = one_error_line(result)
    assert "--username" in line
    assert "DPHI_EM_USERNAME" in line
    assert "login --save" in line
    result = invoke("ls", env={"DPHI_EM_URL": tripwire.url, "DPHI_EM_USERNAME": "client1"})
    assert result.exit_code == 3
    assert "DPHI_EM_PASSWORD" in one_error_line(result)
    assert tripwire.connections == 0


def test_bad_url_exit_2() -> None:
    env = {"DPHI_EM_USERNAME": "a", "DPHI_EM_PASSWORD": "b"}
    result = invoke("--url", "ftp://example.invalid/", "ls", env=env)
    assert result.exit_code == 2
    assert "ftp://example.invalid/" in one_error_line(result)


def test_wrong_password_exit_3(emulator: Any) -> None:
    env = {"DPHI_EM_URL": emulator.url, "DPHI_EM_USERNAME": "client1", "DPHI_EM_PASSWORD": "nope"}
    result = invoke("ls", env=env)
    assert result.exit_code == 3
    assert "authentication failed" in one_error_line(result)


def test_connection_refused_exit_8() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    env = {"DPHI_EM_URL": url, "DPHI_EM_USERNAME": "a", "DPHI_EM_PASSWORD": "b"}
    result = invoke("nodes", "--retries", "0", env=env)
    assert result.exit_code == 8
    assert url in one_error_line(result)


def test_busy_exit_6(make_emulator: Any) -> None:
    server = make_emulator()
    env = {"DPHI_EM_URL": server.url, "DPHI_EM_USERNAME": "client1", "DPHI_EM_PASSWORD": "secret"}
    assert invoke("login", env=env).exit_code == 0
    server.force_locked(5)
    result = invoke("--retries", "1", "nodes", env=env)
    assert result.exit_code == 6
    retry_line, error_line = result.stderr.strip().splitlines()
    assert re.fullmatch(r"EM busy \(423\), retry 1/1 in \d+\.\d s", retry_line)
    assert error_line.startswith("Error: ")
    assert "busy" in error_line
    assert "423" in error_line


def test_version_and_help() -> None:
    version = invoke("--version")
    assert version.exit_code == 0
    assert "dphi-em" in version.stdout
    helped = invoke("--help")
    assert helped.exit_code == 0
    for name in ("login", "ls", "uplink", "downlink", "rm", "image", "run", "status", "nodes",
                 "namespace", "emulator", "_DPHI_EM_COMPLETE=bash_source"):  # fmt: skip
        assert name in helped.stdout
    assert invoke("run", "--help").exit_code == 0


PASSWORD = "Pa55-w0rd-not-in-logs"


def test_debug_shows_exchange_without_secrets(make_emulator: Any, tmp_path: Path) -> None:
    server = make_emulator(users={"debugger": PASSWORD})
    env = {"DPHI_EM_URL": server.url, "DPHI_EM_USERNAME": "debugger"}
    ok = invoke("--debug", "--password-stdin", "ls", env=env, input=PASSWORD + "\n")
    assert ok.exit_code == 0, ok.output
    failed = invoke(
        "downlink",
        "missing.txt",
        "-o",
        str(tmp_path),
        "--debug",
        env={**env, "DPHI_EM_PASSWORD": PASSWORD},
    )
    assert failed.exit_code == 4
    for result in (ok, failed):
        text = result.stdout + result.stderr
        assert "> GET " in text
        assert "< 200 OK (POST /auth/)" in text
        assert "authorization: [REDACTED]" in text
        assert PASSWORD not in text
        assert not re.search(r"eyJ[\w-]+\.[\w-]+", text), "a JWT leaked"
        assert "Bearer ey" not in text
    assert "Traceback (most recent call last)" in failed.stderr
    assert failed.stderr.strip().splitlines()[-1].startswith("Error: ")
