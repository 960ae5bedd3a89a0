"""Images: build (Dockerfile checks), load (`docker save` manifest), list (own images only)."""

from __future__ import annotations

import httpx
import pytest
from support.images import docker_save_tar


def _uplink(client: httpx.Client, pod_name: str, files: dict[str, bytes], dest: str = "") -> None:
    parts = [("files", (name, content)) for name, content in files.items()]
    response = client.post(
        "em/files/uplink", files=parts, data={"pod_name": pod_name, "dest_path": dest}
    )
    assert response.status_code == 200, response.text


def _images(client: httpx.Client) -> list[str]:
    response = client.get("em/pod/image/list")
    assert response.status_code == 200
    body = response.json()
    assert body["message"]
    assert all(isinstance(name, str) for name in body["data"])
    return body["data"]


def test_build_records_the_prefixed_image(make_emulator, em_http) -> None:
    server = make_emulator()
    client, other = em_http(server), em_http(server, username="client2")
    _uplink(client, "", {"Dockerfile": b"FROM python:3.11-alpine\n", "x.sh": b"x"}, "echo-test")
    assert _images(client) == []
    response = client.post(
        "em/pod/image/build",
        json={
            "dockerfile": "./echo-test/Dockerfile",
            "image": "echo-test",
            "context": "./echo-test",
            "pod_name": "",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Docker Image built successfully"}
    assert _images(client) == ["client1-echo-test"]
    assert _images(other) == []  # only the user's own images; public ones are never listed
    again = client.post(
        "em/pod/image/build",
        data={"dockerfile": "echo-test/Dockerfile", "image": "echo-test", "context": "echo-test"},
    )
    assert again.status_code == 200
    assert _images(client) == ["client1-echo-test"]


def test_build_context_defaults_to_the_volume_root(em_http, pod_name: str) -> None:
    client = em_http()
    _uplink(client, pod_name, {"Dockerfile": b"# comment\nARG V=3.19\nFROM alpine:${V}\n"})
    response = client.post(
        "em/pod/image/build",
        files={
            "dockerfile": (None, b"Dockerfile"),
            "image": (None, b"root-ctx"),
            "pod_name": (None, pod_name.encode()),
        },
    )
    assert response.status_code == 200, response.text
    assert "client1-root-ctx" in _images(client)


BUILD_CASES = {
    "missing-dockerfile": (
        {"dockerfile": "nope/Dockerfile", "context": "ctx"},
        "failed to read dockerfile: open nope/Dockerfile: no such file or directory",
    ),
    "missing-context": (
        {"dockerfile": "ctx/Dockerfile", "context": "./echo-tes"},
        'unable to prepare context: path "./echo-tes" not found',
    ),
    "context-is-a-file": (
        {"dockerfile": "ctx/Dockerfile", "context": "ctx/Dockerfile"},
        "unable to prepare context",
    ),
    "dockerfile-is-a-folder": (
        {"dockerfile": "ctx", "context": "ctx"},
        "failed to read dockerfile",
    ),
    "no-from": ({"dockerfile": "ctx/NoFrom", "context": "ctx"}, "no build stage"),
    "empty": ({"dockerfile": "ctx/Empty", "context": "ctx"}, "file with no instructions"),
    "from-without-image": ({"dockerfile": "ctx/BareFrom", "context": "ctx"}, "no build stage"),
    "bad-image-name": (
        {"dockerfile": "ctx/Dockerfile", "context": "ctx", "image": "Echo Test"},
        "invalid tag",
    ),
    "no-image": ({"dockerfile": "ctx/Dockerfile", "context": "ctx", "image": ""}, "image"),
    "no-dockerfile-field": ({"context": "ctx"}, "dockerfile"),
}


@pytest.mark.parametrize("case", BUILD_CASES)
def test_build_failures_carry_a_docker_like_log_tail(em_http, pod_name: str, case: str) -> None:
    client = em_http()
    _uplink(
        client,
        pod_name,
        {
            "Dockerfile": b"FROM python:3.11-alpine\nRUN true\n",
            "NoFrom": b"# just a comment\nRUN echo hi\n",
            "Empty": b"\n# nothing\n",
            "BareFrom": b"FROM\n",
        },
        "ctx",
    )
    fields, expected = BUILD_CASES[case]
    body = {"image": "broken", "pod_name": pod_name, **fields}
    response = client.post("em/pod/image/build", json=body)
    assert response.status_code == 400
    error = response.json()
    assert error["error"] == "BUILD_FAILED"
    assert error["message"]
    assert error["log_tail"]
    assert all(isinstance(line, str) and line.endswith("\n") for line in error["log_tail"])
    assert expected in "".join(error["log_tail"])
    assert "client1-broken" not in _images(client)


def _uplink_tar(client: httpx.Client, pod_name: str, name: str, content: bytes) -> None:
    _uplink(client, pod_name, {name: content}, "images")


@pytest.mark.parametrize("gz", [False, True])
def test_load_records_the_prefixed_image(make_emulator, em_http, gz: bool) -> None:
    client = em_http(make_emulator())
    _uplink_tar(client, "loader", "echo.tar", docker_save_tar(["echo-test:latest"], gz=gz))
    response = client.post(
        "em/pod/image/load",
        json={"tarfile": "images/echo.tar", "image": "echo-test", "pod_name": "loader"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Tar file loaded successfully"}
    assert _images(client) == ["client1-echo-test"]
    tagged = client.post(
        "em/pod/image/load",
        data={"tarfile": "images/echo.tar", "image": "echo-test:latest", "pod_name": "loader"},
    )
    assert tagged.status_code == 200
    assert _images(client) == ["client1-echo-test:latest"]


LOAD_CASES = {
    "name-differs": ("a.tar", docker_save_tar(["other:latest"]), "echo-test", "other:latest"),
    "untagged": ("b.tar", docker_save_tar(None), "echo-test", "no tagged image"),
    "tag-differs": ("c.tar", docker_save_tar(["echo-test:v2"]), "echo-test", "echo-test:v2"),
    "no-manifest": ("d.tar", docker_save_tar([], manifest="omit"), "echo-test", "repositories"),
    "bad-manifest": ("e.tar", docker_save_tar([], manifest={"x": 1}), "echo-test", "manifest"),
    "not-a-tar": ("f.tar", b"this is not a tar file" * 100, "echo-test", "tar"),
    "missing": ("g.tar", None, "echo-test", "no such file"),
    "a-folder": ("images", None, "echo-test", "no such file"),
    "no-image": ("a.tar", docker_save_tar(["x:latest"]), "", "image"),
}


@pytest.mark.parametrize("case", LOAD_CASES)
def test_load_failures_carry_a_log_tail(em_http, pod_name: str, case: str) -> None:
    client = em_http()
    name, content, image, expected = LOAD_CASES[case]
    _uplink_tar(client, pod_name, "present.txt", b"x")
    if content is not None:
        _uplink_tar(client, pod_name, name, content)
    tarpath = name if name == "images" else f"images/{name}"
    response = client.post(
        "em/pod/image/load", json={"tarfile": tarpath, "image": image, "pod_name": pod_name}
    )
    assert response.status_code == 400
    error = response.json()
    assert error["error"] == "IMAGE_LOAD_FAILED"
    assert error["log_tail"]
    assert all(line.endswith("\n") for line in error["log_tail"])
    assert expected in "".join(error["log_tail"])


def test_image_list_wrong_method_is_405(em_http) -> None:
    # GET (2025-11) and POST (2026-01) are both served in the default --api both mode.
    response = em_http().put("em/pod/image/list")
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
