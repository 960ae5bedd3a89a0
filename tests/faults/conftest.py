"""The fault-injection suite's fixtures: a killable emulator process, and a check that no
secret reaches the `dphi_em` logger in any fault test.

Fixtures:
    no_secret_in_client_logs (autouse): captures the `dphi_em` logger at DEBUG for the whole
        test and fails it when a password of this suite or a JWT-shaped token appears in any
        record (message, arguments or traceback).
    emulator_process (function): a factory `emulator_process(**options) -> EmulatorProcess`,
        the real `python -m dphi_em_emulator` command, which a test can SIGKILL and start
        again on the same port and data dir. Killed at the end of the test.
"""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostile_server import HOSTILE_PASSWORD

#: The users of the emulators this suite starts (passwords unlike any other text in a log).
FAULT_PASSWORD = "pw-Fault-Q7v2x"
FAULT_USERS = {"client1": FAULT_PASSWORD}
#: A JWT: base64url of '{"' twice, dot-separated.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")


def _client_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    records = caplog.get_records("setup") + caplog.get_records("call")
    return [r for r in records if r.name == "dphi_em" or r.name.startswith("dphi_em.")]


@pytest.fixture(autouse=True)
def no_secret_in_client_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG, logger="dphi_em")
    yield
    text = "\n".join(caplog.handler.format(record) for record in _client_records(caplog))
    for secret in (FAULT_PASSWORD, HOSTILE_PASSWORD):
        assert secret not in text, "a password reached the dphi_em logger"
    token = _JWT.search(text)
    assert token is None, f"a token reached the dphi_em logger: {token.group()[:12]}..."


class EmulatorProcess:
    """`python -m dphi_em_emulator` in its own process: start, SIGKILL, start again.

    Args:
        data_dir: The data dir, kept across restarts (volumes, tokens' signing key).
        extra_args: More command-line options.
    """

    def __init__(self, data_dir: Path, extra_args: list[str]) -> None:
        self.data_dir = data_dir
        self.extra_args = extra_args
        self.port = 0
        self.url = ""
        self._process: subprocess.Popen[str] | None = None
        self._log = data_dir.parent / f"{data_dir.name}.log"

    def start(self) -> str:
        """Start (on the port of the previous run, if any) and return the URL."""
        assert self._process is None, "already running"
        user_args = [arg for name, pw in FAULT_USERS.items() for arg in ("--user", f"{name}:{pw}")]
        with self._log.open("a") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dphi_em_emulator",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                    *user_args,
                    *self.extra_args,
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert process.stdout is not None
        first = process.stdout.readline()  # printed once the socket listens
        if not first.startswith("DPhi EM emulator serving on "):
            process.kill()
            process.wait()
            pytest.fail(f"the emulator did not start: {first!r}; {self._log.read_text()}")
        self.url = first.split()[-1]
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])
        self._process = process
        return self.url

    def kill(self) -> None:
        """SIGKILL the process and wait until it is gone (no graceful anything)."""
        process = self._process
        if process is None:
            return
        self._process = None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()

    def restart(self) -> str:
        """Start again on the same port and data dir."""
        self.kill()
        return self.start()


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[Callable[..., EmulatorProcess]]:
    started: list[EmulatorProcess] = []

    def make(*extra_args: str) -> EmulatorProcess:
        process = EmulatorProcess(tmp_path / f"em-{len(started)}", list(extra_args))
        started.append(process)
        process.start()
        return process

    yield make
    for process in started:
        process.kill()
