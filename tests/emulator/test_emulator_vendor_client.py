"""The vendor's example client's habits, replayed with `requests` against the emulator.

The vendor client builds URLs as `BASE_URL + "/em/..."` with `BASE_URL = "http://host:8000/"`
(doubled slashes), logs in with form fields and expects exactly 200, sends files as
`files=[("files", open(...))]`, other bodies as `json=` with empty strings and nulls for absent
fields, re-logs in on 401, and walks through the seed's examples. This replays that flow.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt
import pytest

requests = pytest.importorskip("requests")


class VendorLikeClient:
    """The vendor client's request shapes, as a tiny class instead of module globals."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url, self.username, self.password = base_url, username, password
        self.token: str | None = None

    def get_token(self) -> None:
        response = requests.post(
            self.base_url + "/auth/",
            data={"username": self.username, "password": self.password},
            timeout=30,
        )
        assert response.status_code == 200
        self.token = response.json()["access"]

    def _authorized(self, method: str, url: str, **kwargs: Any) -> Any:
        if self.token is None:
            self.get_token()
        for _ in range(2):
            response = requests.request(
                method, url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60, **kwargs
            )
            if response.status_code != 401:
                return response
            self.get_token()
        return response

    def uplink(self, filepaths: list[Path], dest_path: str = "", pod_name: str = "") -> dict:
        handles = [open(path, "rb") for path in filepaths]  # noqa: SIM115
        try:
            return self._authorized(
                "POST",
                self.base_url + "/em/files/uplink",
                files=[("files", handle) for handle in handles],
                data={"dest_path": dest_path, "pod_name": pod_name},
            ).json()
        finally:
            for handle in handles:
                handle.close()

    def downlink(self, filepath: str, folder: Path, pod_name: str = "") -> Path:
        response = self._authorized(
            "GET",
            self.base_url + "/em/files/downlink",
            params={"filepath": filepath, "pod_name": pod_name},
            stream=True,
        )
        assert response.status_code == 200, response.text
        name = re.search(r'filename="([^"]+)"', response.headers["Content-Disposition"])
        assert name is not None
        target = folder / Path(name.group(1)).name
        with open(target, "wb") as file:
            for chunk in response.iter_content(65536):
                file.write(chunk)
        return target

    def files_list(self, pod_name: str = "") -> dict:
        url = self.base_url + "/em/files/list"
        return self._authorized("GET", url, params={"pod_name": pod_name}).json()

    def delete(self, filepath: str, pod_name: str = "") -> dict:
        body = {"filepath": filepath, "pod_name": pod_name}
        return self._authorized("POST", self.base_url + "/em/files/delete", json=body).json()

    def image_build(
        self, dockerfile: str, image: str, context: str = ".", pod_name: str = ""
    ) -> dict:
        body = {"dockerfile": dockerfile, "image": image, "context": context, "pod_name": pod_name}
        return self._authorized("POST", self.base_url + "/em/pod/image/build", json=body).json()

    def image_list(self) -> dict:
        return self._authorized("GET", self.base_url + "/em/pod/image/list").json()

    def namespace_create(self) -> dict:
        return self._authorized("POST", self.base_url + "/em/pod/namespace/create").json()

    def run(
        self,
        image: str,
        node: str = "FPGA",
        max_duration: int = 1,
        command: str = "",
        scheduled_time: str | None = None,
        pod_name: str | None = None,
        ports: list[int] | None = None,
        namespace: bool = False,
        args: list[str] | None = None,
        envs: dict[str, Any] | None = None,
    ) -> dict:
        body = {
            "image": image,
            "node": node,
            "max_duration": max_duration,
            "command": command,
            "scheduled_time": scheduled_time,
            "pod_name": pod_name,
            "ports": ports,
            "namespace": namespace,
            "args": args,
            "envs": envs,
        }
        return self._authorized("POST", self.base_url + "/em/pod/run", json=body).json()

    def pod_status(self, pod_name: str = "") -> dict:
        url = self.base_url + "/em/pod/status"
        return self._authorized("GET", url, params={"pod_name": pod_name}).json()

    def nodes_status(self) -> dict:
        return self._authorized("GET", self.base_url + "/em/nodes/status").json()


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
