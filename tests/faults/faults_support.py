"""What the fault suite's tests and fixtures share: the users, and a killable emulator."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

#: The users of the emulators this suite starts (passwords unlike any other text in a log).
FAULT_PASSWORD = "pw-Fault-Q7v2x"
FAULT_USERS = {"client1": FAULT_PASSWORD}


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
