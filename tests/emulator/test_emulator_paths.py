"""Hostile paths: every path a request names stays inside its volume, or the answer is 403.

Each hostile path is tried on every endpoint that takes a path (downlink, delete, uplink's
`dest_path`, build's `dockerfile` and `context`, load's `tarfile`), and symlinks planted on
disk that point out of the volume are refused without touching their targets.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

HOSTILE = [
    "..",
    "../x",
    "../../etc/passwd",
    "a/../../x",
    "a/..",
    "./../x",
    # A leading / is the volume root, not the server's: "/etc/passwd" is "etc/passwd" of the
    # volume (test_emulator_revisions.py). Climbing out after it is still refused:
    "/../etc/passwd",
    "//a/../../x",
    "%2e%2e",
    "%2e%2e/x",
    "..%2fx",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252fx",
    "%25252e%25252e/x",
    "..\\x",
    "a\\..\\..\\x",
    "C:\\Windows\\win.ini",
    "C:/x",
    "x\x00y",
]


def _assert_illegal(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] == "ILLEGAL_PATH"
    assert body["message"]


@pytest.fixture
def client(em_http, pod_name: str) -> httpx.Client:
    client = em_http()
    response = client.post(
        "em/files/uplink",
        files=[("files", ("Dockerfile", b"FROM alpine\n"))],
        data={"pod_name": pod_name, "dest_path": "a"},
    )
    assert response.status_code == 200
    return client


@pytest.mark.parametrize("path", HOSTILE)
def test_downlink_refuses(client: httpx.Client, pod_name: str, path: str) -> None:
    response = client.get("em/files/downlink", params={"filepath": path, "pod_name": pod_name})
    _assert_illegal(response)


@pytest.mark.parametrize("raw", ["%2e%2e/x", "%2E%2E%2Fx", "..%2F..%2Fetc%2Fpasswd", "%2f..%2fx"])
def test_downlink_refuses_percent_encoded_query_strings(
    client: httpx.Client, emulator, pod_name: str, raw: str
) -> None:
    url = f"{emulator.url}em/files/downlink?filepath={raw}&pod_name={pod_name}"
    _assert_illegal(client.get(httpx.URL(url)))


@pytest.mark.parametrize("path", HOSTILE)
def test_delete_refuses(client: httpx.Client, pod_name: str, path: str) -> None:
    _assert_illegal(client.post("em/files/delete", json={"filepath": path, "pod_name": pod_name}))


@pytest.mark.parametrize("path", HOSTILE)
def test_uplink_dest_path_refuses(client: httpx.Client, pod_name: str, path: str) -> None:
    response = client.post(
        "em/files/uplink",
        files=[("files", ("escaped.txt", b"x"))],
        data={"pod_name": pod_name, "dest_path": path},
    )
    _assert_illegal(response)


@pytest.mark.parametrize("path", HOSTILE)
def test_build_refuses(client: httpx.Client, pod_name: str, path: str) -> None:
    for body in (
        {"dockerfile": path, "context": "a", "image": "x"},
        {"dockerfile": "a/Dockerfile", "context": path, "image": "x"},
    ):
        _assert_illegal(client.post("em/pod/image/build", json={**body, "pod_name": pod_name}))


@pytest.mark.parametrize("path", HOSTILE)
def test_load_refuses(client: httpx.Client, pod_name: str, path: str) -> None:
    body = {"tarfile": path, "image": "x", "pod_name": pod_name}
    _assert_illegal(client.post("em/pod/image/load", json=body))


@pytest.fixture
def planted(emulator, client: httpx.Client, pod_name: str, tmp_path: Path) -> Path:
    """Symlinks in the volume pointing out of it, made directly on disk."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (outside / "Dockerfile").write_text("FROM alpine\n")
    volume = emulator.config.data_dir / "volumes" / emulator.username / pod_name
    assert volume.is_dir()
    os.symlink(outside / "secret.txt", volume / "link.txt")
    os.symlink(outside, volume / "linkdir")
    os.symlink(outside / "secret.txt", volume / "a" / "nested-link.txt")
    return outside


def test_symlinks_out_of_the_volume_are_refused(
    client: httpx.Client, pod_name: str, planted: Path
) -> None:
    for path in ("link.txt", "linkdir/secret.txt", "linkdir", "a/nested-link.txt"):
        response = client.get("em/files/downlink", params={"filepath": path, "pod_name": pod_name})
        _assert_illegal(response)
        deleted = client.post("em/files/delete", json={"filepath": path, "pod_name": pod_name})
        _assert_illegal(deleted)
    uplinked = client.post(
        "em/files/uplink",
        files=[("files", ("secret.txt", b"overwritten"))],
        data={"pod_name": pod_name, "dest_path": "linkdir"},
    )
    _assert_illegal(uplinked)
    build = {"dockerfile": "linkdir/Dockerfile", "context": "a", "image": "x", "pod_name": pod_name}
    _assert_illegal(client.post("em/pod/image/build", json=build))
    _assert_illegal(
        client.post("em/pod/image/load", json={"tarfile": "link.txt", "image": "x", **build})
    )
    assert (planted / "secret.txt").read_text() == "secret"
    assert sorted(p.name for p in planted.iterdir()) == ["Dockerfile", "secret.txt"]


def test_symlinks_are_not_listed(client: httpx.Client, pod_name: str, planted: Path) -> None:
    tree = client.get("em/files/list", params={"pod_name": pod_name}).json()["data"]
    assert [node["name"] for node in tree] == ["a"]
    assert [node["name"] for node in tree[0]["contents"]] == ["Dockerfile"]


@pytest.mark.parametrize("path", ["a/./Dockerfile", "./a/Dockerfile", "a//Dockerfile"])
def test_harmless_spellings_still_work(client: httpx.Client, pod_name: str, path: str) -> None:
    response = client.get("em/files/downlink", params={"filepath": path, "pod_name": pod_name})
    assert response.status_code == 200
    assert response.content == b"FROM alpine\n"


@pytest.mark.parametrize(
    "name",
    [
        "Hey no whitespaces",
        "UPPER",
        "-leading",
        "trailing-",
        "under_score",
        "dot.ted",
        "a" * 64,
        "../x",
        "_default",
    ],
)
def test_invalid_pod_names_are_400_naming_the_value(client: httpx.Client, name: str) -> None:
    for response in (
        client.get("em/files/list", params={"pod_name": name}),
        client.get("em/files/downlink", params={"filepath": "x", "pod_name": name}),
        client.post("em/files/delete", json={"filepath": "x", "pod_name": name}),
        client.post("em/files/uplink", files=[("files", ("f", b"x"))], data={"pod_name": name}),
        client.get("em/pod/status", params={"pod_name": name}),
        client.post("em/pod/run", json={"image": "x", "max_duration": 1, "pod_name": name}),
    ):
        assert response.status_code == 400, response.request.url
        body = response.json()
        assert body["error"] == "INVALID_PARAMETERS"
        assert repr(name) in body["message"]


def test_the_longest_valid_pod_name_works(client: httpx.Client) -> None:
    name = "a" + "-" * 61 + "z"
    assert client.get("em/files/list", params={"pod_name": name}).status_code == 200


LONG_NAME = "n" * 256
LONG_PATH = "/".join(["d" * 200] * 20)


@pytest.mark.parametrize("path", [LONG_NAME, f"a/{LONG_NAME}", LONG_PATH, "é" * 128])
def test_names_too_long_for_a_file_system_are_400(
    client: httpx.Client, pod_name: str, path: str
) -> None:
    responses = [
        client.get("em/files/downlink", params={"filepath": path, "pod_name": pod_name}),
        client.post("em/files/delete", json={"filepath": path, "pod_name": pod_name}),
        client.post(
            "em/files/uplink",
            files=[("files", ("f.txt", b"x"))],
            data={"pod_name": pod_name, "dest_path": path},
        ),
    ]
    if "/" not in path:
        responses.append(
            client.post(
                "em/files/uplink", files=[("files", (path, b"x"))], data={"pod_name": pod_name}
            )
        )
    for response in responses:
        assert response.status_code == 400, response.request.url
        assert response.json()["error"] == "INVALID_PATH"


def test_a_name_of_255_bytes_is_fine(client: httpx.Client, pod_name: str) -> None:
    name = "é" * 127 + "x"  # 255 bytes in UTF-8
    sent = client.post(
        "em/files/uplink", files=[("files", (name, b"x"))], data={"pod_name": pod_name}
    )
    assert sent.status_code == 200
    got = client.get("em/files/downlink", params={"filepath": name, "pod_name": pod_name})
    assert got.content == b"x"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("em/files/delete", b'{"filepath": "\\ud800"}'),
        ("em/pod/run", b'{"image": "x\\udfff", "max_duration": 1}'),
        ("em/pod/image/build", b'{"dockerfile": "\\ud800", "image": "x"}'),
    ],
)
def test_lone_surrogates_in_json_are_400(client: httpx.Client, path: str, body: bytes) -> None:
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_PARAMETERS"


def test_a_lone_surrogate_login_is_400(emulator) -> None:
    response = httpx.post(
        f"{emulator.url}auth/",
        content=b'{"username": "\\ud800", "password": "x"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
