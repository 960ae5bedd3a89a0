"""The seed's example client, as the walkthrough writes its calls, against the emulator on real
pods: every call succeeds, or fails for a reason the EM gives too (emulator/README.md, "The
vendor's example client against the emulator", lists them). The client is the request shapes
of the vendor's `em-api-interface.py` (`VendorLikeClient`); the images are the walkthrough's
own (`fpga.dphi.space:5000/alpine`, `python:3.11-alpine`), stood in for offline.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from support.vendor_client import VendorLikeClient

pytestmark = pytest.mark.docker

DOCKERFILE = (
    b"FROM fpga.dphi.space:5000/alpine\n\nWORKDIR /app\nCOPY echo-test.sh .\n"
    b'RUN chmod +x /app/echo-test.sh\n\nENTRYPOINT [ "/app/echo-test.sh" ]\n'
)
SCRIPT = (
    b'#!/bin/sh\n\necho "Hello from the container !"\n'
    b'echo "Is this the final frontier?" >/data/downlink.txt\n'
)


def _wait(client: VendorLikeClient, pod: str, until: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = client.pod_status(pod)["data"]["state"]
        kind, detail = next(iter(state.items()))
        if until in (kind, detail.get("reason")):
            return detail
        assert time.monotonic() < deadline, f"{pod}: still {state}"
        time.sleep(0.2)


def test_the_seed_walkthrough_on_real_pods(standin, make_docker_em, tmp_path: Path) -> None:
    standin("python:3.11-alpine")
    standin("alpine:latest")
    # a pod minute lasts 6 s: the walkthrough's 1-minute pods run Python under qemu
    server = make_docker_em(time_scale=10)
    client = VendorLikeClient(server.url, "client1", "secret")
    for name, data in (("Dockerfile", DOCKERFILE), ("echo-test.sh", SCRIPT)):
        (tmp_path / name).write_bytes(data)
    (tmp_path / "hello-world.txt").write_text("Is this the final frontier?\n")
    out = tmp_path / "downlink"
    out.mkdir()

    # 1. simple operations: the build FROM the onboard registry's alpine runs on its stand-in
    assert client.files_list()["data"] == []
    uplinked = client.uplink(
        [tmp_path / "Dockerfile", tmp_path / "echo-test.sh"], dest_path="echo-test"
    )
    assert uplinked["data"]["file_count"] == 2
    built = client.image_build("./echo-test/Dockerfile", "echo-test", "./echo-test")
    assert built == {"message": "Docker Image built successfully"}
    assert client.run("echo-test", max_duration=1)["message"] == "Docker run scheduled successfully"
    assert _wait(client, "", "terminated")["exitCode"] == 0
    assert client.downlink("downlink.txt", out).read_bytes() == b"Is this the final frontier?\n"
    # the GPU run's shell line in `command` is split into argv: echo prints it, no file (EM too)
    client.run("echo-test", node="GPU", max_duration=1, command="echo 123 > /data/gpu.txt")
    assert _wait(client, "", "terminated")["exitCode"] == 0
    assert client.files_list()["data"]
    assert "gpu.txt" not in str(client.files_list()["data"])
    at = (datetime.now(timezone(timedelta(hours=2))) + timedelta(minutes=1)).isoformat()
    scheduled = client.run(
        "echo-test", max_duration=1, scheduled_time=at, command='sh -c "date > /data/time.txt"'
    )
    assert scheduled["message"] == "Docker run scheduled successfully"
    assert _wait(client, "", "terminated")["exitCode"] == 0
    assert client.downlink("time.txt", out).read_bytes().strip()
    assert client.delete("echo-test")["message"] == "File deleted successfully"

    # 2. pod volumes: the walkthrough's `echo ... > file` without a shell writes no file (EM too)
    client.run(
        "python:3.11-alpine",
        pod_name="pod-a",
        max_duration=30,
        command="echo 'Is this the final frontier?' > /data/hello-space.txt",
    )
    assert _wait(client, "pod-a", "terminated")["exitCode"] == 0
    assert client.files_list(pod_name="pod-a")["data"] == []
    client.uplink([tmp_path / "hello-world.txt"], pod_name="pod-a")
    assert [n["name"] for n in client.files_list(pod_name="pod-a")["data"]] == ["hello-world.txt"]
    assert client.delete("hello-world.txt")["error"] == "DELETE_FAILED"  # the default volume
    assert client.delete("hello-world.txt", pod_name="pod-a")["message"]

    # 3. inter-pod communication: python -m http.server, and wget from a second pod
    assert client.namespace_create()["message"] == "Namespace created successfully"
    client.run(
        "python:3.11-alpine",
        pod_name="server",
        max_duration=30,
        namespace=True,
        ports=[80],
        command="python -m http.server 80",
    )
    _wait(client, "server", "running")
    for _ in range(10):  # the server may still be starting to listen: run the client again
        client.run(
            "python:3.11-alpine",
            pod_name="client",
            max_duration=1,
            namespace=True,
            command="wget client1-server:80/ -O /data/server-data.txt",
        )
        if _wait(client, "client", "terminated")["exitCode"] == 0:
            break
    listing = client.downlink("server-data.txt", out, pod_name="client").read_text()
    consoles = {
        pod: client._authorized(
            "GET", server.url + "/em/emulator/pod/log", params={"pod_name": pod}
        ).text
        for pod in ("server", "client")
    }
    assert "Directory listing for /" in listing, (consoles, client.pod_status("server"))
    assert '<a href="data/">data/</a>' in listing  # the server's working directory is /

    # 4. envs and args: the second argument is `sh -c`'s $0: printed, no file (EM too)
    run = client.run(
        "echo-test",
        max_duration=1,
        command="/bin/sh -c",
        args=["echo testing args $DURATION $SIZE", " > /data/test.txt"],
        envs={"DURATION": 60, "SIZE": 1024},
    )
    assert run["message"] == "Docker run scheduled successfully"
    assert _wait(client, "", "terminated")["exitCode"] == 0
    assert "test.txt" not in str(client.files_list()["data"])

    # errors, as the EM answers them
    missing = client._authorized(
        "GET", server.url + "/em/files/downlink", params={"filepath": "nope", "pod_name": ""}
    )
    assert missing.status_code == 404
    failed = client.image_build("./echo-test/Dockerfile", "echo-test", "./echo-tes")
    assert failed["error"] == "BUILD_FAILED"
    client.run("echo-test12", pod_name="broken", max_duration=1)
    assert "ErrImagePull" in str(_wait(client, "broken", "ErrImagePull"))
