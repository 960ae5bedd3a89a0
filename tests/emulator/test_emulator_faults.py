"""Faults the emulator must take calmly: long downloads, deep JSON, racing deletes, clients
that go away.

Each test fails on the emulator before the fix it names (issue 11 items 12 and 13, issue 12
item 10).
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from dphi_em_emulator import _uplink

# ----------------------------------------------------------------- raw HTTP over a socket


def _connect(url: str, rcvbuf: int | None = None) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:  # set before connecting, so the window stays small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(30)
    sock.connect((parts.hostname, parts.port))
    return sock


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The response head (status line and headers) and the body bytes read with it."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before the head: {received[:200]!r}"
        received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    return head, rest


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise AssertionError(f"no Content-Length in {head!r}")


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    head, body = _read_head(sock)
    length = _content_length(head)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


# ------------------------------------------- issue 11 item 12: the idle timer is for bodies


def test_a_download_longer_than_the_idle_timeout_completes(
    make_emulator: Any, em_http: Any
) -> None:
    idle_timeout = 0.5
    server = make_emulator(request_idle_timeout=idle_timeout)
    client = em_http(server)
    content = os.urandom(12 * 1024 * 1024)
    uplinked = client.post(
        "em/files/uplink", files=[("files", ("big.bin", content))], data={"pod_name": "slow"}
    )
    assert uplinked.status_code == 200, uplinked.text
    token = client.headers["Authorization"].encode()

    # A small receive window and a reader that takes 64 KiB every 20 ms (about 3 MiB/s):
    # the server spends several idle timeouts sending, while the client reads steadily.
    started = time.monotonic()
    with _connect(server.url, rcvbuf=64 * 1024) as sock:
        sock.sendall(
            b"GET /em/files/downlink?filepath=big.bin&pod_name=slow HTTP/1.1\r\n"
            b"Host: em\r\nAuthorization: " + token + b"\r\n\r\n"
        )
        head, body = _read_head(sock)
        assert head.startswith(b"HTTP/1.1 200"), head
        length = _content_length(head)
        assert length == len(content)
        received = bytearray(body)
        while len(received) < length:
            chunk = sock.recv(64 * 1024)
            if not chunk:
                break  # cut by the server: the assertion below says how much came
            received += chunk
            time.sleep(0.02)
    elapsed = time.monotonic() - started
    assert len(received) == len(content), f"cut after {len(received)} of {len(content)} bytes"
    assert hashlib.sha256(received).digest() == hashlib.sha256(content).digest()
    # the premise, not a speed claim: the transfer outlasted the idle timeout several times
    assert elapsed > 4 * idle_timeout
    # and the lock was freed at the end
    assert client.get("em/files/list", params={"pod_name": "slow"}).status_code == 200


def test_a_stalled_json_body_still_gets_408(make_emulator: Any, em_http: Any) -> None:
    server = make_emulator(request_idle_timeout=0.5)
    token = em_http(server).headers["Authorization"].encode()
    with _connect(server.url) as sock:
        sock.sendall(
            b"POST /em/pod/run HTTP/1.1\r\nHost: em\r\nAuthorization: " + token + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            b'{"image": "alpine:latest", '
        )  # ... and nothing more
        head, body = _read_response(sock)
    assert head.startswith(b"HTTP/1.1 408"), head
    assert b'"error":"REQUEST_TIMEOUT"' in body


# ------------------------------------------- issue 11 item 13: deep JSON is a 400, not a 500

_DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "path", ["em/pod/run", "em/files/delete", "em/pod/image/build", "em/pod/image/load"]
)
def test_deeply_nested_json_on_em_calls_is_a_400_envelope(em_http: Any, path: str) -> None:
    response = em_http().post(path, content=_DEEP, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "INVALID_PARAMETERS"
    assert "nested deeper than 32 levels" in body["message"]


@pytest.mark.parametrize("path", ["auth/", "auth/refresh"])
def test_deeply_nested_json_on_auth_is_a_400_with_drf_detail(emulator: Any, path: str) -> None:
    response = httpx.post(
        emulator.url + path, content=_DEEP, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "nested deeper than 32 levels" in response.json()["detail"]


@pytest.mark.parametrize("depth", [33, 200, 900])
def test_a_field_nested_too_deep_is_refused_whatever_the_depth(em_http: Any, depth: int) -> None:
    # A body that json.loads parses can still be too deep to validate or quote in an error.
    value = "[" * depth + "]" * depth
    content = '{"image": "alpine:latest", "max_duration": 1, "command": ' + value + "}"
    response = em_http().post(
        "em/pod/run", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "nested deeper than 32 levels" in response.json()["message"]


def test_thirty_two_levels_are_parsed_and_validated_as_usual(em_http: Any) -> None:
    value = "[" * 31 + "]" * 31  # 32 levels with the body's own object
    content = '{"image": "alpine:latest", "max_duration": 1, "command": ' + value + "}"
    response = em_http().post(
        "em/pod/run", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("command must be a string")


def test_deeply_nested_json_text_in_a_form_field_is_a_400(em_http: Any) -> None:
    response = em_http().post(
        "em/pod/run", data={"image": "alpine:latest", "max_duration": "1", "envs": _DEEP}
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "INVALID_PARAMETERS"
    assert body["message"].startswith("envs must be a JSON object")
    assert "nested deeper than 32 levels" in body["message"]


# ---------------------------- issue 11 item 13: an uplink racing a delete of its folder (no lock)


def test_an_uplink_whose_folder_is_deleted_before_its_files_land_is_a_400(
    make_emulator: Any, em_http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_emulator(lock_enabled=False)
    client = em_http(server)
    files = [("files", ("a.txt", b"a")), ("files", ("b.txt", b"b"))]
    first = client.post("em/files/uplink", files=files, data={"dest_path": "out/deep"})
    assert first.status_code == 200, first.text
    deletes: list[int] = []
    real_move = _uplink._move

    def move_after_a_racing_delete(source: Path, target: Path) -> None:
        # Runs in the emulator's worker thread, after the body is parsed and the folders are
        # made: a second client deletes the destination over the socket, as a racing request
        # would with the lock off.
        if not deletes:
            with httpx.Client(base_url=server.url, headers=client.headers) as other:
                deleted = other.post("em/files/delete", data={"filepath": "out"})
            deletes.append(deleted.status_code)
        real_move(source, target)

    monkeypatch.setattr(_uplink, "_move", move_after_a_racing_delete)
    raced = client.post("em/files/uplink", files=files, data={"dest_path": "out/deep"})
    assert deletes == [200]
    assert raced.status_code == 400, raced.text
    assert raced.json()["error"] == "INVALID_PATH"
    assert "'out/deep' changed while the files were being stored" in raced.json()["message"]
    monkeypatch.undo()
    # nothing half-stored is left, and the next uplink works
    assert client.get("em/files/list").json()["data"] == []
    again = client.post("em/files/uplink", files=files, data={"dest_path": "out/deep"})
    assert again.status_code == 200, again.text
    assert not any(server.emulator.data.tmp.iterdir())  # no staged file left either


# ------------------------- issue 12 item 10: a client going away is one line, no traceback


def test_a_client_gone_mid_uplink_is_one_log_line_without_traceback(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dphi_em_emulator",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
            "--user",
            "client1:secret",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        credentials = {"username": "client1", "password": "secret"}
        access = httpx.post(f"{url}auth/", data=credentials).json()["access"]
        with _connect(url) as sock:
            sock.sendall(
                b"POST /em/files/uplink HTTP/1.1\r\nHost: em\r\n"
                b"Authorization: Bearer " + access.encode() + b"\r\n"
                b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n"
                b"\r\n--b\r\nContent-Disposition: form-data; name=files; filename=a.bin\r\n\r\n"
                + b"x"
                * 200_000
            )  # half the body, then Ctrl-C on the client side
        # The emulator logs the cut before it frees the one-at-a-time lock: once a request
        # gets through, the line is written.
        headers = {"Authorization": f"Bearer {access}"}
        for _ in range(200):
            listed = httpx.get(f"{url}em/files/list", headers=headers)
            if listed.status_code != 423:
                break
            time.sleep(0.05)
        assert listed.status_code == 200
        assert listed.json()["data"] == []
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    assert "Traceback" not in stderr, stderr
    about_it = [line for line in stderr.splitlines() if "went away" in line]
    assert len(about_it) == 1, stderr
    assert "POST '/em/files/uplink'" in about_it[0]
    assert process.returncode == 0


def test_a_client_gone_mid_login_body_is_one_warning_without_traceback(
    emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dphi_em_emulator")
    with _connect(emulator.url) as sock:
        sock.sendall(
            b"POST /auth/ HTTP/1.1\r\nHost: em\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"username": "client1", '
        )
    deadline = time.monotonic() + 10
    while not any("went away" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "no log line about the client gone"
        time.sleep(0.05)
    records = [r for r in caplog.records if r.name == "dphi_em_emulator"]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert records[0].getMessage().startswith("POST '/auth/': the client went away")
    assert records[0].exc_info is None
