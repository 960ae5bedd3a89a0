"""Processes and plumbing of the bench: measured children, servers, setup calls.

- `run_process`: one measured child to completion, with its own peak RSS and CPU time from
  `os.wait4` on exactly its pid.
- `Server`: a server child (the emulator, the raw sink) that says where it listens, and
  how much CPU it has used.
- `EM`: plain urllib calls to the emulator for setup and checks between runs (never
  measured).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "EM",
    "HERE",
    "KIB",
    "MIB",
    "PASSWORD",
    "PY",
    "ROOT",
    "USER",
    "BenchError",
    "Proc",
    "Server",
    "run_process",
]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PY = sys.executable
USER = "client1"
PASSWORD = "bench-" + secrets.token_hex(8)
KIB = 1024
MIB = 1024 * 1024
#: Seconds any one child may take before it is killed (and the bench fails).
CHILD_TIMEOUT = 300.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A client failed or the servers misbehaved: no figure can be trusted."""


# -- processes ------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment of every child: no proxies (all traffic is loopback), no DPHI_EM_*."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith("DPHI_EM_")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass
class Proc:
    """A finished child: its stdout, its own peak RSS (`wait4`), its wall time."""

    stdout: str
    maxrss_kib: int
    wall: float
    cpu: float


def run_process(
    cmd: Sequence[str],
    scratch: Path,
    timeout: float = CHILD_TIMEOUT,
    env: dict[str, str] | None = None,
) -> Proc:
    """Run `cmd` to completion; its `ru_maxrss` comes from `os.wait4` on exactly that pid.

    `env`: the child's environment (default: `ENV`).

    Raises:
        BenchError: It exited non-zero or ran out of time.
    """
    out_path, err_path = scratch / "child.out", scratch / "child.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env or ENV
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(errors="replace")
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        raise BenchError(f"{' '.join(cmd)[:200]} exited {proc.returncode}:\n{tail}")
    return Proc(stdout, usage.ru_maxrss, wall, usage.ru_utime + usage.ru_stime)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class Server:
    """A server child (emulator or sink) whose output says where it listens.

    Args:
        name: For messages.
        cmd: The command.
        log: Its stdout and stderr.
        pattern: A regular expression whose group 1 is its address (URL or port) and group 2
            its port.
    """

    def __init__(self, name: str, cmd: Sequence[str], log: Path, pattern: str) -> None:
        self.name = name
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=ENV
            )
        deadline = time.monotonic() + 30
        port = None
        while True:
            match = re.search(pattern, log.read_text(errors="replace"))
            if match:
                self.address = match.group(1)
                port = int(match.group(2))
            # The emulator prints its address once bound, before it listens: wait until a
            # connection is accepted.
            if port is not None and _accepts(port):
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"{name} did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)

    def cpu(self) -> float:
        """CPU seconds (user + system, all threads) the server has used so far."""
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def check(self) -> None:
        """Fail if the server died."""
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited:\n{self.log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        """Terminate it (kill after 10 s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


ENV = child_env()


# -- the emulator over HTTP (setup and clean-up only, never measured) -----------------------


class EM:
    """Plain urllib calls to the emulator for setting up and checking between runs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.token = self._login()

    def _open(self, request: urllib.request.Request) -> Any:
        with self._opener.open(request, timeout=60) as response:
            return json.loads(response.read())

    def _login(self) -> str:
        body = urllib.parse.urlencode({"username": USER, "password": PASSWORD}).encode()
        request = urllib.request.Request(self.url + "auth/", data=body, method="POST")
        token: str = self._open(request)["access"]
        return token

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def delete(self, filepath: str) -> None:
        """Delete a file or folder of the default volume."""
        body = json.dumps({"filepath": filepath}).encode()
        headers = {**self._auth(), "Content-Type": "application/json"}
        request = urllib.request.Request(
            self.url + "em/files/delete", data=body, headers=headers, method="POST"
        )
        self._open(request)

    def files(self, pod_name: str | None = None) -> dict[str, int]:
        """Every file of a volume: path -> size."""
        query = "?" + urllib.parse.urlencode({"pod_name": pod_name}) if pod_name else ""
        request = urllib.request.Request(self.url + "em/files/list" + query, headers=self._auth())
        found: dict[str, int] = {}

        def walk(nodes: list[dict[str, Any]], prefix: str) -> None:
            for node in nodes:
                path = prefix + node["name"]
                if node["type"] == "directory":
                    walk(node.get("contents") or [], path + "/")
                else:
                    found[path] = int(node["size"])

        walk(self._open(request)["data"], "")
        return found

    def put_small(self, files: dict[str, bytes], dest: str, pod_name: str) -> None:
        """Uplink a few small files (body built in memory: setup only)."""
        boundary = secrets.token_hex(16)
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
            for name, value in (("dest_path", dest), ("pod_name", pod_name))
        ]
        for name, data in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                + data
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        headers = {**self._auth(), "Content-Type": f"multipart/form-data; boundary={boundary}"}
        request = urllib.request.Request(
            self.url + "em/files/uplink", data=b"".join(parts), headers=headers, method="POST"
        )
        self._open(request)
