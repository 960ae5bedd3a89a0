"""Issue 16, items 9 and 10: no secret in argv, and an uplink racing a delete never 500s.

Accounts come from `--users-file` (mode 0600; plain or `pbkdf2_sha256` hashed passwords) and
`DPHI_EM_USERS`; the start-up banner prints only a password the emulator generated, and
nothing secret is in the process's command line.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
from dphi_em_emulator._users import hash_password


def _banner(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("EM API revision"):
        line = process.stdout.readline()
        assert line, f"no banner: {lines}; stderr: {process.stderr and process.stderr.read()}"
        lines.append(line)
    return lines


def _login(url: str, user: str, password: str) -> int:
    answer = httpx.post(f"{url}auth/", data={"username": user, "password": password}, timeout=30)
    return answer.status_code


def test_accounts_from_a_file_and_the_environment_never_in_argv_or_banner(
    tmp_path: Path,
) -> None:
    users = tmp_path / "users"
    hashed = hash_password("hashed-S3cret", iterations=1000)
    users.write_text(f"# accounts\nalice:plain-S3cret:with-colon\n\nbob:{hashed}\n")
    command = [sys.executable, "-m", "dphi_em_emulator", "--port", "0", "--pods", "simulated"]
    command += ["--data-dir", str(tmp_path / "data"), "--users-file", str(users)]
    env = {"PATH": "/usr/bin:/bin", "DPHI_EM_USERS": "carol:env-S3cret"}

    users.chmod(0o644)  # others may read it: refused, naming the mode, not the password
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "mode 0644" in refused.stderr
    assert "S3cret" not in refused.stderr + refused.stdout

    users.chmod(0o600)
    process = subprocess.Popen(
        [*command, "--user", "gen"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = _banner(process)
        url = banner[0].split()[-1]
        text = "".join(banner)
        assert "S3cret" not in text
        assert hashed not in text
        (generated,) = [line.split()[3] for line in banner if line.startswith("user: gen ")]
        assert {line.split()[1] for line in banner if line.startswith("user:")} == {
            "alice",
            "bob",
            "carol",
            "gen",
        }
        assert _login(url, "alice", "plain-S3cret:with-colon") == 200
        assert _login(url, "bob", "hashed-S3cret") == 200
        assert _login(url, "bob", hashed) == 401  # the hash is not a password
        assert _login(url, "carol", "env-S3cret") == 200
        assert _login(url, "gen", generated) == 200
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"S3cret" not in cmdline
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_an_uplink_racing_a_delete_of_its_folder_is_never_a_500(
    make_emulator: Any, em_http: Any
) -> None:
    server = make_emulator(lock_enabled=False)
    uplinker, deleter = em_http(server), em_http(server)
    statuses: dict[str, list[int]] = {"uplink": [], "delete": []}
    files = [("files", ("a.txt", b"a" * 1000)), ("files", ("b.txt", b"b"))]
    for _ in range(300):
        start = threading.Barrier(2)

        def up(start: threading.Barrier = start) -> None:
            start.wait()
            answer = uplinker.post("em/files/uplink", files=files, data={"dest_path": "r/x/y"})
            statuses["uplink"].append(answer.status_code)

        thread = threading.Thread(target=up)
        thread.start()
        start.wait()
        deleted = deleter.post("em/files/delete", data={"filepath": "r"})
        statuses["delete"].append(deleted.status_code)
        thread.join()
    assert set(statuses["uplink"]) <= {200, 400}, statuses
    assert set(statuses["delete"]) <= {200, 400}, statuses
    assert 200 in statuses["uplink"]
