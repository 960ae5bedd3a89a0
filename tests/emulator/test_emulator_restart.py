"""A restart with the same data dir keeps files, images, pods, namespaces and tokens."""

from __future__ import annotations

import httpx


def test_state_survives_a_restart(make_emulator, em_http, tmp_path) -> None:
    data_dir = tmp_path / "kept"
    first = make_emulator(data_dir=data_dir, time_scale=1.0)
    client = em_http(first)
    files = [("files", ("Dockerfile", b"FROM alpine\n")), ("files", ("data.bin", b"\x00\x01"))]
    assert client.post(
        "em/files/uplink", files=files, data={"pod_name": "keep", "dest_path": "src"}
    ).is_success
    built = client.post(
        "em/pod/image/build",
        json={
            "dockerfile": "src/Dockerfile",
            "context": "src",
            "image": "kept",
            "pod_name": "keep",
        },
    )
    assert built.status_code == 200
    assert client.post("em/pod/namespace/create").status_code == 200
    run = {"image": "kept", "max_duration": 60, "pod_name": "keep", "namespace": True}
    assert client.post("em/pod/run", json=run).status_code == 200
    before = {
        "files": client.get("em/files/list", params={"pod_name": "keep"}).json(),
        "images": client.get("em/pod/image/list").json(),
        "pod": client.get("em/pod/status", params={"pod_name": "keep"}).json()["data"]["emulator"],
    }
    token = client.headers["authorization"]
    first.stop()
    (data_dir / "tmp" / "leftover-from-a-crash").mkdir()

    second = make_emulator(data_dir=data_dir, time_scale=1.0)
    again = httpx.Client(base_url=second.url, headers={"Authorization": token})
    with again:
        assert again.get("em/files/list", params={"pod_name": "keep"}).json() == before["files"]
        assert again.get("em/pod/image/list").json() == before["images"]
        status = again.get("em/pod/status", params={"pod_name": "keep"}).json()["data"]
        assert status["emulator"] == before["pod"]
        assert set(status["state"]) <= {"waiting", "running"}
        assert again.post("em/pod/namespace/create").json()["error"] == "NAMESPACE_CREATION_FAILED"
        got = again.get(
            "em/files/downlink", params={"filepath": "src/data.bin", "pod_name": "keep"}
        )
        assert got.content == b"\x00\x01"
    assert list((data_dir / "tmp").iterdir()) == []


def test_a_fresh_data_dir_has_a_different_signing_key(make_emulator, em_http) -> None:
    first, second = make_emulator(), make_emulator()
    token = em_http(first).headers["authorization"]
    response = httpx.get(f"{second.url}em/nodes/status", headers={"Authorization": token})
    assert response.status_code == 401
