"""Hostile sizes and shapes: the emulator answers 400 early and stays usable."""

from __future__ import annotations

import io
import select
import socket
import tarfile
import time
from typing import Any
from urllib.parse import urlsplit

import pytest


def _rest_of_response(sock: socket.socket, received: bytes) -> bytes:
    """Read until the head and a Content-Length body are in (or the peer closes)."""
    while True:
        head, sep, body = received.partition(b"\r\n\r\n")
        if sep:
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            if len(body) >= length:
                return received
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:  # the server closed on the unread rest of our body
            return received
        if not chunk:
            return received
        received += chunk


def test_a_chunked_body_is_refused_once_past_the_cap_not_read_to_its_end(emulator: Any) -> None:
    # No Content-Length: only reading can tell the size. The answer must come while the
    # client is still sending, not after the emulator has taken in (and held) everything.
    url = urlsplit(emulator.url)
    chunk = b"x" * 65536
    sent = 0
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            b"POST /auth/ HTTP/1.1\r\nHost: em\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        answer = b""
        while sent < 64 * 1024 * 1024:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
            if select.select([sock], [], [], 0)[0]:
                answer = sock.recv(65536)
                break
        answer = _rest_of_response(sock, answer)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"Request body too large" in answer
    assert sent < 16 * 1024 * 1024  # refused after about 1 MiB, not 64


def test_uplink_plain_fields_are_capped(em_http: Any) -> None:
    client = em_http()
    junk = [(f"junk{i}", (None, "j" * 60_000)) for i in range(20)]  # 1.2 MB of plain parts
    response = client.post(
        "em/files/uplink", files=[*junk, ("files", ("a.txt", b"a"))], data={"pod_name": "cap"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "INVALID_PARAMETERS"
    assert client.get("em/files/list", params={"pod_name": "cap"}).json()["data"] == []
    # a few unknown fields are fine (and ignored)
    ok = client.post(
        "em/files/uplink",
        files=[("note", (None, "hello")), ("files", ("a.txt", b"a"))],
        data={"pod_name": "cap"},
    )
    assert ok.status_code == 200, ok.text


def test_folders_deeper_than_the_limit_are_refused(em_http: Any) -> None:
    client = em_http()
    deep = "a/" * 200
    response = client.post(
        "em/files/uplink", files=[("files", ("f.txt", b"f"))], data={"dest_path": deep}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_PATH"
    assert "deeper than 128 folders" in response.json()["message"]
    assert client.get("em/files/list").status_code == 200  # the volume still lists


def test_an_oversized_manifest_is_a_load_failure_not_a_500(em_http: Any) -> None:
    client = em_http()
    buffer = io.BytesIO()
    manifest = b" " * (16 * 1024 * 1024 + 1)
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    upload = client.post(
        "em/files/uplink",
        files=[("files", ("big.tar", buffer.getvalue()))],
        data={"pod_name": "big-manifest"},
    )
    assert upload.status_code == 200, upload.text
    response = client.post(
        "em/pod/image/load",
        json={"tarfile": "big.tar", "image": "x", "pod_name": "big-manifest"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "IMAGE_LOAD_FAILED"
    assert "larger than" in "".join(response.json()["log_tail"])


@pytest.mark.parametrize("name", ["abc\n", "web\n", "ok-name\n"])
def test_a_trailing_newline_does_not_pass_for_a_valid_pod_name(em_http: Any, name: str) -> None:
    client = em_http()
    listed = client.get("em/files/list", params={"pod_name": name})
    assert listed.status_code == 400
    run = client.post("em/pod/run", json={"image": "alpine", "max_duration": 1, "pod_name": name})
    assert run.status_code == 400


def test_a_stalled_upload_frees_the_lock_after_the_idle_timeout(
    make_emulator: Any, em_http: Any
) -> None:
    server = make_emulator(request_idle_timeout=0.5)
    other = em_http(server)
    url = urlsplit(server.url)
    token = other.headers["Authorization"].encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as stalled:
        stalled.sendall(
            b"POST /em/files/uplink HTTP/1.1\r\nHost: em\r\nAuthorization: " + token + b"\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
            b"--b\r\n"
        )  # ... and nothing more: the request holds the one-at-a-time lock
        deadline = time.monotonic() + 10
        while (status := other.get("em/files/list").status_code) == 423:
            assert time.monotonic() < deadline, "the stalled request kept the lock"
            time.sleep(0.1)
        assert status == 200
        answer = _rest_of_response(stalled, b"")
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"REQUEST_TIMEOUT" in answer
