"""Issue 16, items 4 and 7: builds are sandboxed like pods.

No remote `ADD` (the engine would fetch it from the host's network, loopback included), and a
build's processes, time and output are bounded; a client that gives up frees the one-request
slot at once, and its step's container goes away.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.docker

ONBOARD_BUSYBOX = "fpga.dphi.space:5000/busybox:1.36"


@pytest.fixture
def secret_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 serving a secret; yields (its URL, the paths asked)."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = b"host-only secret\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/secret", asked
    finally:
        server.shutdown()
        server.server_close()


def _build(em: Any, pod: str, folder: str, dockerfile: str, image: str) -> httpx.Response:
    em.uplink({"Dockerfile": dockerfile.encode()}, dest=folder, pod=pod)
    answer: httpx.Response = em.build(f"{folder}/Dockerfile", folder, image, pod=pod)
    return answer


def _containers_running(docker_client: Any, marker: str) -> list[str]:
    """The engine's containers whose command holds `marker` (a build step's)."""
    # the list call's own records: inspecting each one races its removal (a 404)
    listed = docker_client.api.containers(all=True)
    return [c["Id"] for c in listed if marker in str(c.get("Command") or "")]


def _gone(docker_client: Any, marker: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _containers_running(docker_client, marker):
        assert time.monotonic() < deadline, f"a build step ({marker}) is still in the engine"
        time.sleep(0.2)


def test_remote_add_is_refused_and_nothing_is_fetched(
    docker_http, docker_pod: str, secret_server: tuple[str, list[str]]
) -> None:
    url, asked = secret_server
    alice = docker_http(username="client1")
    dockerfiles = {
        "plain": f"FROM {ONBOARD_BUSYBOX}\nADD {url} /secret\n",
        "arg": f"FROM {ONBOARD_BUSYBOX}\nARG U={url}\nADD $U /secret\n",
        "json": f'FROM {ONBOARD_BUSYBOX}\nADD ["{url}", "/secret"]\n',
        "flags": f"FROM {ONBOARD_BUSYBOX}\nADD --chown=1:1 \\\n  {url} /secret\n",
    }
    for name, text in dockerfiles.items():
        answer = _build(alice, docker_pod, name, text, f"remote-{name}")
        assert answer.status_code == 400, (name, answer.text)
        body = answer.json()
        assert body["error"] == "BUILD_FAILED"
        assert "remote sources are refused" in body["log_tail"][-1], (name, body)
        assert url in body["log_tail"][-1]
    assert asked == []  # the host's loopback server was never asked


def test_a_build_s_processes_time_and_output_are_bounded(
    make_docker_em, docker_http, docker_client, docker_pod: str
) -> None:
    server = make_docker_em(build_pids=64, build_timeout=5, build_log_bytes=64 * 1024)
    alice = docker_http(server, "client1")
    # processes: 300 background sleeps in a step bounded to 64
    forks = (
        f"FROM {ONBOARD_BUSYBOX}\n"
        "RUN (for i in $(seq 300); do sleep 30 & done) 2>/dev/null; "
        "set -- /proc/[0-9]*; echo procs=$#; exit 3\n"
    )
    answer = _build(alice, docker_pod, "forks", forks, "forks")
    assert answer.status_code == 400, answer.text
    counts = [int(m) for m in re.findall(r"procs=(\d+)", "".join(answer.json()["log_tail"]))]
    assert counts, answer.json()["log_tail"]
    assert counts[0] <= 64, answer.json()["log_tail"]

    # time: a step longer than the build timeout is cut, and its container goes
    marker = uuid.uuid4().hex
    started = time.monotonic()
    slow = f"FROM {ONBOARD_BUSYBOX}\nRUN sleep 300 && echo {marker}\n"
    answer = _build(alice, docker_pod, "slow", slow, "slow")
    assert answer.status_code == 400, answer.text
    assert "longer than 5 s (--build-timeout)" in answer.json()["log_tail"][-1]
    assert time.monotonic() - started < 60
    _gone(docker_client, marker)

    # output: a step printing more than the limit is cut
    chatty = f"FROM {ONBOARD_BUSYBOX}\nRUN yes a-line-of-build-output | head -c 5000000\n"
    answer = _build(alice, docker_pod, "chatty", chatty, "chatty")
    assert answer.status_code == 400, answer.text
    assert f"printed more than {64 * 1024} bytes" in answer.json()["log_tail"][-1]
    assert sum(len(line) for line in answer.json()["log_tail"]) < 64 * 1024
    assert "client1-chatty" not in alice.get("em/pod/image/list").json()["data"]


def test_a_client_that_gives_up_frees_the_slot_at_once(
    make_docker_em, docker_http, docker_client, docker_pod: str
) -> None:
    server = make_docker_em()  # the one-request-at-a-time lock on, as on the EM
    alice, bob = docker_http(server, "client1"), docker_http(server, "client2")
    marker = uuid.uuid4().hex
    alice.uplink(
        {"Dockerfile": f"FROM {ONBOARD_BUSYBOX}\nRUN sleep 300 && echo {marker}\n".encode()}
    )
    body = {"dockerfile": "Dockerfile", "context": ".", "image": "slow", "pod_name": ""}
    with pytest.raises(httpx.ReadTimeout):  # alice gives up while the step runs
        alice.post("em/pod/image/build", json=body, timeout=httpx.Timeout(120, read=4))
    gave_up = time.monotonic()
    while True:  # bob is served as soon as the build is cancelled, not 300 s later
        answer = bob.get("em/files/list")
        if answer.status_code != 423:
            break
        assert time.monotonic() - gave_up < 30, "the lock is still held by the abandoned build"
        time.sleep(0.2)
    assert answer.status_code == 200, answer.text
    _gone(docker_client, marker)
    assert "client1-slow" not in alice.get("em/pod/image/list").json()["data"]
