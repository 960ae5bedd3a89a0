"""`423 LOCKED`: the EM serves one request at a time; forced, real, and switched off."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

BOUNDARY = "emulator-lock-test"


def _assert_locked(response: httpx.Response) -> None:
    assert response.status_code == 423
    body = response.json()
    assert body["error"] == "LOCKED"
    assert body["message"]


def test_force_locked_refuses_the_next_n_requests(make_emulator, em_http) -> None:
    server = make_emulator()
    client = em_http(server)
    server.force_locked(2)
    _assert_locked(client.get("em/files/list"))
    # login is not an /em/ call and never locked; unauthenticated calls get 401 first
    assert httpx.post(f"{server.url}auth/", data={"username": "client1", "password": "secret"})
    assert httpx.get(f"{server.url}em/files/list").status_code == 401
    _assert_locked(client.post("em/pod/run", json={"image": "alpine", "max_duration": 1}))
    assert client.get("em/files/list").status_code == 200
    assert client.get("em/pod/status").status_code == 404  # the forced run did nothing


def test_force_locked_works_with_the_lock_switched_off(make_emulator, em_http) -> None:
    server = make_emulator(lock_enabled=False)
    client = em_http(server)
    server.force_locked(1)
    _assert_locked(client.get("em/nodes/status"))
    assert client.get("em/nodes/status").status_code == 200


def _slow_multipart(started: threading.Event, release: threading.Event) -> Iterator[bytes]:
    yield (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="files"; filename="slow.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    yield b"x" * 65536
    started.set()
    release.wait(timeout=30)
    yield b"y" * 65536
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _start_slow_upload(
    server, client: httpx.Client
) -> tuple[threading.Thread, dict, threading.Event]:
    started, release = threading.Event(), threading.Event()
    result: dict[str, httpx.Response] = {}

    def upload() -> None:
        result["response"] = client.post(
            "em/files/uplink",
            content=_slow_multipart(started, release),
            headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
        )

    thread = threading.Thread(target=upload)
    thread.start()
    assert started.wait(10)
    return thread, result, release


def _first_status_while_busy(client: httpx.Client, wanted: int) -> httpx.Response:
    """The upload's headers may still be in flight: ask until the answer is `wanted`."""
    deadline = time.monotonic() + 10
    while True:
        response = client.get("em/files/list")
        if response.status_code == wanted or time.monotonic() > deadline:
            return response
        time.sleep(0.02)


def test_a_request_during_a_slow_upload_gets_423(make_emulator, em_http) -> None:
    server = make_emulator()
    uploader, other = em_http(server), em_http(server, username="client2")
    thread, result, release = _start_slow_upload(server, uploader)
    try:
        _assert_locked(_first_status_while_busy(other, 423))
        _assert_locked(other.get("em/nodes/status"))
    finally:
        release.set()
        thread.join(30)
    assert result["response"].status_code == 200
    assert result["response"].json()["data"]["file_count"] == 1
    assert other.get("em/files/list").status_code == 200
    listing = uploader.get("em/files/list").json()["data"]
    assert listing[0]["name"] == "slow.bin"
    assert listing[0]["size"] == str(2 * 65536)


def test_with_the_lock_off_requests_run_concurrently(make_emulator, em_http) -> None:
    server = make_emulator()
    server.set_lock_enabled(False)
    uploader, other = em_http(server), em_http(server)
    thread, result, release = _start_slow_upload(server, uploader)
    try:
        response = other.get("em/files/list")
        assert response.status_code == 200
        assert response.json()["data"] == []  # the upload is not committed yet
    finally:
        release.set()
        thread.join(30)
    assert result["response"].status_code == 200
    server.set_lock_enabled(True)


def test_sequential_requests_never_see_423(em_http, pod_name: str) -> None:
    client = em_http()
    client.post(
        "em/files/uplink", files=[("files", ("f", b"x" * 100_000))], data={"pod_name": pod_name}
    )
    for _ in range(30):
        got = client.get("em/files/downlink", params={"filepath": "f", "pod_name": pod_name})
        assert got.status_code == 200
        assert client.get("em/files/list", params={"pod_name": pod_name}).status_code == 200


def test_force_locked_rejects_a_negative_count(make_emulator) -> None:
    with pytest.raises(ValueError, match="negative"):
        make_emulator().force_locked(-1)


def test_small_responses_are_not_held_back_by_nagle(em_http) -> None:
    """With Nagle's algorithm on (TCP_NODELAY off), every small answer waits for a delayed
    ACK (40 ms at least, on Linux). Without it a call takes a few ms: of 20 calls, the
    fastest shows which, however loaded the machine (a busy CPU slows some calls, and none
    of them below the ACK's 40 ms when Nagle holds the answer back)."""
    client = em_http()
    client.get("em/nodes/status")
    took = []
    for _ in range(20):
        start = time.perf_counter()
        assert client.get("em/nodes/status").status_code == 200
        took.append(time.perf_counter() - start)
    assert min(took) < 0.03, [f"{t * 1000:.0f} ms" for t in took]
