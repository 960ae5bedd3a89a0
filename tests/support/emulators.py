"""The emulator as its own process (`python -m dphi_em_emulator`): start, SIGKILL, restart.

For what an in-process `EmulatorServer` cannot show: a server killed mid-call, its memory
measured alone (`/proc/PID/status`). The `emulator_process` fixture (tests/conftest.py) is a
factory of these, each killed at the end of the test.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

__all__ = ["EmulatorProcess"]


class EmulatorProcess:
    """`python -m dphi_em_emulator` in its own process: start, SIGKILL, start again.

    Its stderr goes to `<data_dir>.log`, beside the data dir.

    Args:
        data_dir: The data dir, kept across restarts (volumes, tokens' signing key).
        users: The users (`--user NAME:PASSWORD` each).
        extra_args: More command-line options.
    """

    def __init__(
        self, data_dir: Path, users: Mapping[str, str], extra_args: Sequence[str] = ()
    ) -> None:
        self.data_dir = data_dir
        self.users = dict(users)
        self.extra_args = list(extra_args)
        self.port = 0
        self.url = ""
        self._process: subprocess.Popen[str] | None = None
        self._log = data_dir.parent / f"{data_dir.name}.log"

    def start(self) -> str:
        """Start (on the port of the previous run, if any) and return the URL."""
        assert self._process is None, "already running"
        user_args = [arg for name, pw in self.users.items() for arg in ("--user", f"{name}:{pw}")]
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

    @property
    def pid(self) -> int:
        """The process id of the running emulator."""
        assert self._process is not None, "not running"
        return self._process.pid

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
