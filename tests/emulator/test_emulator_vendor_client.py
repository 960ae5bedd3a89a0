"""The vendor's example client's habits, replayed with `requests` against the emulator.

The vendor client builds URLs as `BASE_URL + "/em/..."` with `BASE_URL = "http://host:8000/"`
(doubled slashes), logs in with form fields and expects exactly 200, sends files as
`files=[("files", open(...))]`, other bodies as `json=` with empty strings and nulls for absent
fields, re-logs in on 401, and walks through the seed's examples. This replays that flow.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import pytest

requests = pytest.importorskip("requests")

from support.vendor_client import VendorLikeClient  # noqa: E402


def test_the_seed_walkthrough(make_emulator, tmp_path: Path) -> None:
    server = make_emulator(access_lifetime=1)
    client = VendorLikeClient(server.url, "client1", "secret")
    (tmp_path / "Dockerfile").write_text("FROM fpga.dphi.space:5000/alpine\nCOPY . /app\n")
    (tmp_path / "echo-test.sh").write_text("#!/bin/sh\necho 123 > /data/downlink.txt\n")
    (tmp_path / "hello-world.txt").write_text("Is this the final frontier?\n")
    out = tmp_path / "downlink"
    out.mkdir()

    # 1. simple operations
    assert client.files_list()["data"] == []
    result = client.uplink(
        [tmp_path / "Dockerfile", tmp_path / "echo-test.sh"], dest_path="echo-test"
    )
    assert result["data"]["file_count"] == 2
    built = client.image_build("./echo-test/Dockerfile", "echo-test", "./echo-test")
    assert built == {"message": "Docker Image built successfully"}
    assert client.image_list()["data"] == ["client1-echo-test"]
    assert client.run("echo-test", max_duration=1)["message"] == "Docker run scheduled successfully"
    gpu = client.run("echo-test", node="GPU", max_duration=1, command="echo 123 > /data/x.txt")
    assert gpu["message"] == "Docker run scheduled successfully"
    scheduled_time = (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()
    later = client.run(
        "echo-test", max_duration=1, scheduled_time=scheduled_time, command='sh -c "date"'
    )
    assert later["message"] == "Docker run scheduled successfully"
    assert "state" in client.pod_status()["data"]
    downloaded = client.downlink("echo-test/echo-test.sh", out)
    assert downloaded.read_bytes() == (tmp_path / "echo-test.sh").read_bytes()
    assert client.delete("echo-test")["message"] == "File deleted successfully"

    # 2. pod volumes
    client.run("python:3.11-alpine", pod_name="pod-a", max_duration=30, command="echo hi")
    client.uplink([tmp_path / "hello-world.txt"], pod_name="pod-a")
    assert [n["name"] for n in client.files_list(pod_name="pod-a")["data"]] == ["hello-world.txt"]
    assert client.files_list()["data"] == []
    assert client.delete("hello-world.txt")["error"] == "DELETE_FAILED"
    assert client.delete("hello-world.txt", pod_name="pod-a")["message"]

    # 3. inter-pod communication
    assert client.namespace_create()["message"] == "Namespace created successfully"
    client.run("python:3.11-alpine", pod_name="server", max_duration=2, namespace=True, ports=[80])
    client.run("python:3.11-alpine", pod_name="client", max_duration=1, namespace=True)
    assert "state" in client.pod_status("server")["data"]

    # 4. envs and args
    run = client.run(
        "echo-test",
        max_duration=1,
        command="/bin/sh -c",
        args=["echo testing args $DURATION $SIZE", " > /data/test.txt"],
        envs={"DURATION": 60, "SIZE": 1024},
    )
    assert run["message"] == "Docker run scheduled successfully"

    # errors
    assert (
        "error"
        in client._authorized(
            "GET", server.url + "/em/files/downlink", params={"filepath": "nope", "pod_name": ""}
        ).json()
    )
    failed = client.image_build("./echo-test/Dockerfile", "echo-test", "./echo-tes")
    assert failed["error"] == "BUILD_FAILED"
    assert failed["log_tail"]
    client.run("echo-test12", pod_name="broken", max_duration=1)
    assert client.nodes_status()["data"][0] == {"name": "fpga", "status": "True"}

    # the access token lives one second here: the client's re-login on 401 keeps it going
    old = client.token
    expiry = jwt.decode(old, options={"verify_signature": False})["exp"]
    while time.time() < expiry + 1:
        time.sleep(0.2)
    assert client.files_list(pod_name="pod-a")["data"] == []
    assert client.token != old
