"""The real entry points in subprocesses: the `dphi-em` console script and `python -m dphi_em`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(sys.executable).with_name("dphi-em")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPHI_EM_")}
    env.pop("_DPHI_EM_COMPLETE", None)
    env.update(extra or {})
    return env


def run(
    args: Sequence[str], env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), env=_env(env), input=input, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def creds(emulator: Any) -> dict[str, str]:
    return {
        "DPHI_EM_URL": emulator.url,
        "DPHI_EM_USERNAME": emulator.username,
        "DPHI_EM_PASSWORD": emulator.password,
    }


def test_console_script_version_and_help() -> None:
    assert SCRIPT.exists(), "the package is not installed (pip install -e .)"
    version = run([str(SCRIPT), "--version"])
    assert version.returncode == 0
    assert re.match(r"dphi-em, version \d", version.stdout)
    helped = run([str(SCRIPT), "--help"])
    assert helped.returncode == 0
    assert "Usage: dphi-em" in helped.stdout


def test_python_dash_m(creds: dict[str, str], pod_name: str) -> None:
    helped = run([sys.executable, "-m", "dphi_em", "--help"])
    assert helped.returncode == 0
    assert "uplink" in helped.stdout
    listed = run([sys.executable, "-m", "dphi_em", "ls", "--pod", pod_name, "--json"], creds)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def test_console_script_against_the_emulator(
    creds: dict[str, str], tmp_path: Path, pod_name: str
) -> None:
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(300_000))
    up = run([str(SCRIPT), "uplink", str(src), "--pod", pod_name], creds)
    assert up.returncode == 0, up.stderr
    assert up.stderr == ""  # no progress bar: stderr is not a terminal
    out = tmp_path / "out"
    down = run([str(SCRIPT), "downlink", "data.bin", "-o", str(out), "--pod", pod_name], creds)
    assert down.returncode == 0, down.stderr
    assert (out / "data.bin").read_bytes() == src.read_bytes()
    missing = run([str(SCRIPT), "downlink", "nope.bin", "-o", str(out), "--pod", pod_name], creds)
    assert missing.returncode == 4
    assert missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("Error: ")
    assert "\x1b[" not in missing.stderr  # no colour codes when not a terminal


def test_password_from_stdin_in_a_pipe(emulator: Any) -> None:
    env = {"DPHI_EM_URL": emulator.url, "DPHI_EM_USERNAME": emulator.username}
    result = run([str(SCRIPT), "login", "--password-stdin"], env, input=emulator.password + "\n")
    assert result.returncode == 0, result.stderr
    no_tty = run([str(SCRIPT), "nodes"], env, input="")
    assert no_tty.returncode == 3  # no prompt without a terminal: a clear error instead
    assert "DPHI_EM_PASSWORD" in no_tty.stderr


def test_shell_completion() -> None:
    source = run([str(SCRIPT)], {"_DPHI_EM_COMPLETE": "bash_source"})
    assert source.returncode == 0
    assert "complete " in source.stdout
    assert "_DPHI_EM_COMPLETE=bash_complete" in source.stdout
    words = run(
        [str(SCRIPT)],
        {
            "_DPHI_EM_COMPLETE": "bash_complete",
            "COMP_WORDS": "dphi-em run x --node ",
            "COMP_CWORD": "4",
        },
    )
    assert words.returncode == 0
    assert {"fpga", "gpu", "mpu"} <= {line.split(",")[-1] for line in words.stdout.split()}


def test_help_imports_no_http_stack_no_generated_client_no_emulator() -> None:
    code = (
        "import sys\n"
        "from dphi_em.cli import main\n"
        "rc = main(['--help'])\n"
        "lazy = ('dphi_em_emulator', 'uvicorn', 'starlette', 'tqdm', 'httpx', 'em_api_client')\n"
        "heavy = [m for m in lazy if m in sys.modules]\n"
        "print(rc, heavy)\n"
    )
    result = run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 []"


def _read_until(proc: subprocess.Popen[str], pattern: str) -> re.Match[str]:
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"{pattern!r} never printed: {''.join(seen)}")


def test_emulator_command_serves_until_interrupted(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(SCRIPT), "emulator", "--port", "0", "--user", "someone:pw-123", "--", "--no-lock"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _read_until(proc, r"serving on (http://\S+)").group(1)
        data_dir = Path(_read_until(proc, r"data dir: (\S+)").group(1))
        assert data_dir.is_dir()
        env = {"DPHI_EM_URL": url, "DPHI_EM_USERNAME": "someone", "DPHI_EM_PASSWORD": "pw-123"}
        nodes = run([str(SCRIPT), "nodes", "--json"], env)
        assert nodes.returncode == 0, nodes.stderr
        assert len(json.loads(nodes.stdout)) == 3
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert not data_dir.exists()  # the throwaway data dir is gone


def _interruptible() -> None:
    """In the child, before exec: SIGINT back to its default, so that Python turns it into
    KeyboardInterrupt. A process started where SIGINT is ignored inherits the ignoring (a
    background job of a script, a pytest-xdist worker): Ctrl-C would then do nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_status_watch_with_130(make_emulator: Any, pod_name: str) -> None:
    # An emulator of its own, on the wall clock: the pod runs for an hour whatever the load,
    # and no other test's requests share its one-request lock.
    server = make_emulator(time_scale=1.0)
    creds = {
        "DPHI_EM_URL": server.url,
        "DPHI_EM_USERNAME": server.username,
        "DPHI_EM_PASSWORD": server.password,
    }
    started = run(
        [str(SCRIPT), "run", "alpine:latest", "--pod", pod_name, "--max-duration", "60"], creds
    )
    assert started.returncode == 0, started.stderr
    proc = subprocess.Popen(
        [str(SCRIPT), "status", "--watch", "--pod", pod_name, "--interval", "0.2"],
        env=_env({**creds, "PYTHONFAULTHANDLER": "1"}),  # SIGABRT dumps its threads
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    try:  # the event: the watch has printed the running pod, so it is in its polling loop
        _read_until(proc, rf"pod '{pod_name}': running")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # hung: say where (seen once under a loaded -n 2)
            proc.send_signal(signal.SIGABRT)
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"the watch did not stop within 60 s of Ctrl-C; its threads:\n{err}")
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "Interrupted."
