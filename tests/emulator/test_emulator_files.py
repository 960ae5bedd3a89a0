"""Files: uplink, list, downlink, delete, volumes per pod name, over a real socket."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time
from urllib.parse import quote

import httpx
import pytest

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}$")


def _uplink(client: httpx.Client, files: dict[str, bytes], **data: str) -> httpx.Response:
    parts = [("files", (name, content)) for name, content in files.items()]
    return client.post("em/files/uplink", files=parts, data=data)


def _list(client: httpx.Client, pod_name: str = "") -> list[dict]:
    response = client.get("em/files/list", params={"pod_name": pod_name})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"]
    return body["data"]


def test_uplink_list_downlink_delete_round_trip(em_http, pod_name: str) -> None:
    client = em_http()
    dockerfile = b"FROM python:3.11-alpine\nCOPY echo-test.sh /\n"
    script = b"#!/bin/sh\necho hello > /data/out.txt\n"
    response = _uplink(
        client,
        {"Dockerfile": dockerfile, "echo-test.sh": script},
        dest_path="echo-test",
        pod_name=pod_name,
    )
    assert response.status_code == 200
    assert response.json() == {
        "message": "Successfully uplinked files",
        "data": {"file_count": 2, "total_size_kb": round((len(dockerfile + script)) / 1024, 2)},
    }

    tree = _list(client, pod_name)
    assert [node["name"] for node in tree] == ["echo-test"]
    folder = tree[0]
    assert folder["type"] == "directory"
    assert folder["size"] == str(len(dockerfile) + len(script))
    assert TIME.match(folder["time"])
    assert [node["name"] for node in folder["contents"]] == ["Dockerfile", "echo-test.sh"]
    for node, content in zip(folder["contents"], (dockerfile, script), strict=True):
        assert node["type"] == "file"
        assert node["size"] == str(len(content))
        assert TIME.match(node["time"])
        assert isinstance(node["hash"], int)
        assert -(2**63) <= node["hash"] < 2**63

    downloaded = client.get(
        "em/files/downlink", params={"filepath": "echo-test/echo-test.sh", "pod_name": pod_name}
    )
    assert downloaded.status_code == 200
    assert downloaded.content == script
    assert downloaded.headers["content-disposition"] == 'attachment; filename="echo-test.sh"'
    assert downloaded.headers["content-length"] == str(len(script))

    deleted = client.post(
        "em/files/delete", json={"filepath": "echo-test/Dockerfile", "pod_name": pod_name}
    )
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "File deleted successfully"}
    assert [node["name"] for node in _list(client, pod_name)[0]["contents"]] == ["echo-test.sh"]
    fields = {"filepath": "echo-test", "pod_name": pod_name}
    assert client.post("em/files/delete", data=fields).status_code == 200
    assert _list(client, pod_name) == []


def test_nested_folders_nest_under_contents(em_http, pod_name: str) -> None:
    client = em_http()
    assert _uplink(client, {"a.txt": b"aaaa"}, dest_path="x/y/z", pod_name=pod_name).is_success
    assert _uplink(client, {"b.txt": b"bb"}, dest_path="x", pod_name=pod_name).is_success
    (x,) = _list(client, pod_name)
    assert x["size"] == "6"
    kinds = [(n["type"], n["name"]) for n in x["contents"]]
    assert kinds == [("file", "b.txt"), ("directory", "y")]
    (z,) = x["contents"][1]["contents"]
    assert z["contents"][0]["name"] == "a.txt"


def test_empty_strings_and_null_mean_not_given(em_http, emulator) -> None:
    client = em_http(username="client2")
    name = "vendor-defaults.txt"
    response = _uplink(client, {name: b"x"}, dest_path="", pod_name="")
    assert response.status_code == 200
    assert name in [node["name"] for node in _list(client)]
    assert name in [n["name"] for n in client.get("em/files/list").json()["data"]]
    deleted = client.post("em/files/delete", json={"filepath": name, "pod_name": None})
    assert deleted.status_code == 200


def test_doubled_slashes_reach_the_endpoint(em_http, emulator, pod_name: str) -> None:
    client = em_http()
    base = emulator.url.rstrip("/")
    response = client.get(f"{base}//em/files/list", params={"pod_name": pod_name})
    assert response.status_code == 200
    assert response.json()["data"] == []


def test_volumes_are_private_to_pod_name_and_user(em_http, pod_name: str) -> None:
    client1, client2 = em_http(), em_http(username="client2")
    assert _uplink(client1, {"only-here.txt": b"1"}, pod_name=pod_name).is_success
    assert [n["name"] for n in _list(client1, pod_name)] == ["only-here.txt"]
    assert _list(client1, pod_name + "-other") == []
    assert "only-here.txt" not in [n["name"] for n in _list(client1)]
    assert _list(client2, pod_name) == []
    missing = client2.get(
        "em/files/downlink", params={"filepath": "only-here.txt", "pod_name": pod_name}
    )
    assert missing.status_code == 404


def test_uplink_replaces_an_existing_file(em_http, pod_name: str) -> None:
    client = em_http()
    assert _uplink(client, {"f.txt": b"old content"}, pod_name=pod_name).is_success
    assert _uplink(client, {"f.txt": b"new"}, pod_name=pod_name).is_success
    got = client.get("em/files/downlink", params={"filepath": "f.txt", "pod_name": pod_name})
    assert got.content == b"new"


def test_uplink_keeps_only_the_base_name_of_a_part(em_http, pod_name: str) -> None:
    client = em_http()
    response = client.post(
        "em/files/uplink",
        files=[("files", ("../../sneaky.txt", b"s"))],
        data={"pod_name": pod_name},
    )
    assert response.status_code == 200
    assert [n["name"] for n in _list(client, pod_name)] == ["sneaky.txt"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {"dest_path": "x"}, "files": []},
        {"json": {"files": ["a"]}},
        {"content": b""},
    ],
    ids=["multipart-without-files", "json-body", "empty-body"],
)
def test_uplink_without_files_is_no_files(em_http, kwargs: dict) -> None:
    client = em_http()
    if "files" in kwargs:  # a multipart body with only a plain field
        response = client.post(
            "em/files/uplink", files={"dest_path": (None, b"x")}, data=kwargs["data"]
        )
    else:
        response = client.post("em/files/uplink", **kwargs)
    assert response.status_code == 400
    assert response.json()["error"] == "NO_FILES"


def test_uplink_of_an_empty_file_works(em_http, pod_name: str) -> None:
    client = em_http()
    response = _uplink(client, {"empty.bin": b""}, pod_name=pod_name)
    assert response.json()["data"] == {"file_count": 1, "total_size_kb": 0}
    assert _list(client, pod_name)[0]["size"] == "0"


def test_uplink_over_the_limit_leaves_nothing_behind(make_emulator, em_http) -> None:
    server = make_emulator(max_uplink_bytes=1000)
    client = em_http(server)
    ok = _uplink(client, {"a.bin": b"a" * 600, "b.bin": b"b" * 400}, pod_name="limits")
    assert ok.status_code == 200
    assert ok.json()["data"]["file_count"] == 2
    too_big = _uplink(
        client, {"c.bin": b"c" * 600, "d.bin": b"d" * 401}, dest_path="new", pod_name="limits"
    )
    assert too_big.status_code == 400
    body = too_big.json()
    assert body["error"] == "MAX_UPLINK_SIZE_EXCEEDED"
    assert body["message"]
    assert sorted(n["name"] for n in _list(client, "limits")) == ["a.bin", "b.bin"]
    # nothing staged is left either, and a big single part is refused the same way
    assert list((server.config.data_dir / "tmp").iterdir()) == []
    big = _uplink(client, {"big.bin": b"z" * 1_000_000}, pod_name="limits")
    assert big.json()["error"] == "MAX_UPLINK_SIZE_EXCEEDED"
    assert list((server.config.data_dir / "tmp").iterdir()) == []
    assert client.get("em/nodes/status").status_code == 200  # the connection still works


def test_uplink_into_a_file_path_is_400(em_http, pod_name: str) -> None:
    client = em_http()
    assert _uplink(client, {"plain": b"x"}, pod_name=pod_name).is_success
    response = _uplink(client, {"f": b"y"}, dest_path="plain", pod_name=pod_name)
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_PATH"
    assert _uplink(client, {"plain": b"y"}, dest_path="", pod_name=pod_name).is_success
    assert _uplink(client, {"d": b"1"}, dest_path="d", pod_name=pod_name).is_success
    folder_in_the_way = _uplink(client, {"d": b"2"}, pod_name=pod_name)
    assert folder_in_the_way.json()["error"] == "INVALID_PATH"


def test_downlink_supports_ranges(em_http, pod_name: str) -> None:
    client = em_http()
    content = bytes(range(256)) * 40
    assert _uplink(client, {"r.bin": content}, pod_name=pod_name).is_success
    params = {"filepath": "r.bin", "pod_name": pod_name}
    part = client.get("em/files/downlink", params=params, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.content == content[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(content)}"
    tail = client.get("em/files/downlink", params=params, headers={"Range": "bytes=-10"})
    assert tail.content == content[-10:]
    assert client.get("em/files/downlink", params=params).headers["accept-ranges"] == "bytes"
    beyond = client.get("em/files/downlink", params=params, headers={"Range": "bytes=99999-"})
    assert beyond.status_code == 416


def test_downlink_bodies_of_many_reads_are_byte_exact_whole_and_in_ranges(
    em_http, pod_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body longer than one read (1 MiB), whole, in one range across reads and in
    several ranges, is the file's bytes; the emulator reads it itself (`pread` on the
    loop), not through Starlette's worker-thread reader (this fails if Starlette's hook
    moves)."""
    from dphi_em_emulator import _handlers

    reads: list[int] = []
    read = _handlers._OpenFile.read

    async def counting(self: object, size: int) -> bytes:
        data = await read(self, size)  # type: ignore[arg-type]
        reads.append(len(data))
        return data

    monkeypatch.setattr(_handlers._OpenFile, "read", counting)
    client = em_http()
    content = hashlib.sha256(b"seed").digest() * (3 * 512 * 1024 // 32) + b"end"  # 1.5 MiB
    assert _uplink(client, {"m.bin": content}, pod_name=pod_name).is_success
    params = {"filepath": "m.bin", "pod_name": pod_name}
    whole = client.get("em/files/downlink", params=params)
    assert whole.status_code == 200
    assert whole.headers["content-length"] == str(len(content))
    assert whole.content == content
    assert sum(reads) == len(content)
    span = "bytes=100000-1200000"  # longer than one read
    part = client.get("em/files/downlink", params=params, headers={"Range": span})
    assert part.status_code == 206
    assert part.content == content[100000:1200001]
    several = client.get(
        "em/files/downlink", params=params, headers={"Range": "bytes=0-9, 1048570-1048589"}
    )
    assert several.status_code == 206
    assert content[:10] in several.content
    assert content[1048570:1048590] in several.content
    assert sum(reads) == len(content) + 1100001 + 30
    assert max(reads) == 1024 * 1024


def test_downlink_names_non_ascii_files_per_rfc_5987(em_http, pod_name: str) -> None:
    client = em_http()
    name = "résumé 𝛑.txt"
    assert _uplink(client, {name: b"ok"}, pod_name=pod_name).is_success
    assert _list(client, pod_name)[0]["name"] == name
    got = client.get("em/files/downlink", params={"filepath": name, "pod_name": pod_name})
    assert got.status_code == 200
    disposition = got.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="r_sum_ _.txt"')
    assert f"filename*=utf-8''{quote(name, safe='')}" in disposition


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({}, 400, "INVALID_PATH"),
        ({"filepath": ""}, 400, "INVALID_PATH"),
        ({"filepath": "folder"}, 400, "INVALID_PATH"),
        ({"filepath": "."}, 400, "INVALID_PATH"),
        ({"filepath": "nope.txt"}, 404, "FILE_NOT_FOUND"),
        ({"filepath": "folder/nope.txt"}, 404, "FILE_NOT_FOUND"),
        ({"filepath": "folder/inner.txt/x"}, 404, "FILE_NOT_FOUND"),
        ({"filepath": "../etc/passwd"}, 403, "ILLEGAL_PATH"),
        ({"filepath": "x", "pod_name": "Hey no whitespaces"}, 400, "INVALID_PARAMETERS"),
    ],
)
def test_downlink_errors(em_http, pod_name: str, params: dict, status: int, error: str) -> None:
    client = em_http()
    assert _uplink(client, {"inner.txt": b"i"}, dest_path="folder", pod_name=pod_name).is_success
    response = client.get("em/files/downlink", params={"pod_name": pod_name, **params})
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["message"]
    assert "log_tail" not in body


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({}, 400, "DELETE_FAILED"),
        ({"filepath": ""}, 400, "DELETE_FAILED"),
        ({"filepath": "missing.txt"}, 400, "DELETE_FAILED"),
        ({"filepath": "."}, 400, "DELETE_FAILED"),
        ({"filepath": "/"}, 400, "DELETE_FAILED"),  # a leading / is the volume root
        ({"filepath": ".."}, 403, "ILLEGAL_PATH"),
        ({"filepath": 5}, 400, "INVALID_PARAMETERS"),
        ({"filepath": "x", "pod_name": "UPPER"}, 400, "INVALID_PARAMETERS"),
    ],
)
def test_delete_errors(em_http, pod_name: str, body: dict, status: int, error: str) -> None:
    client = em_http()
    response = client.post("em/files/delete", json={"pod_name": pod_name, **body})
    assert response.status_code == status
    assert response.json()["error"] == error


@pytest.mark.parametrize("encoding", ["json", "urlencoded", "multipart"])
def test_delete_accepts_every_body_encoding(em_http, pod_name: str, encoding: str) -> None:
    client = em_http()
    assert _uplink(client, {"gone.txt": b"x"}, pod_name=pod_name).is_success
    fields = {"filepath": "gone.txt", "pod_name": pod_name}
    if encoding == "json":
        response = client.post("em/files/delete", json=fields)
    elif encoding == "urlencoded":
        response = client.post("em/files/delete", data=fields)
    else:
        response = client.post(
            "em/files/delete", files={key: (None, value.encode()) for key, value in fields.items()}
        )
    assert response.status_code == 200, response.text
    assert _list(client, pod_name) == []


def test_bad_bodies_are_refused_with_an_envelope(em_http) -> None:
    client = em_http()
    bad_json = client.post(
        "em/files/delete", content=b"{", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"] == "INVALID_PARAMETERS"
    not_object = client.post("em/files/delete", content=json.dumps([1]).encode())
    assert not_object.status_code == 400
    other_type = client.post(
        "em/files/delete", content=b"x", headers={"content-type": "text/plain"}
    )
    assert other_type.status_code == 415
    assert other_type.json()["error"] == "UNSUPPORTED_MEDIA_TYPE"


def test_unknown_em_paths_and_wrong_methods(em_http) -> None:
    client = em_http()
    missing = client.get("em/nothing/here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NOT_FOUND"
    wrong = client.get("em/files/uplink")
    assert wrong.status_code == 405
    assert wrong.json() == {"detail": 'Method "GET" not allowed.'}


def test_list_hash_changes_when_the_file_changes(em_http, pod_name: str) -> None:
    client = em_http()
    assert _uplink(client, {"h.txt": b"one"}, pod_name=pod_name).is_success
    first = _list(client, pod_name)[0]["hash"]
    assert _list(client, pod_name)[0]["hash"] == first
    assert _uplink(client, {"h.txt": b"three"}, pod_name=pod_name).is_success
    assert _list(client, pod_name)[0]["hash"] != first


def test_many_files_in_one_call(em_http, pod_name: str) -> None:
    client = em_http()
    files = {f"f{i:03d}.txt": hashlib.sha256(str(i).encode()).digest() for i in range(50)}
    response = _uplink(client, files, dest_path="many", pod_name=pod_name)
    assert response.json()["data"]["file_count"] == 50
    assert len(_list(client, pod_name)[0]["contents"]) == 50


def test_an_interrupted_uplink_leaves_nothing_behind(make_emulator, em_http) -> None:
    server = make_emulator()
    client = em_http(server)
    token = client.headers["authorization"]
    boundary = "cut-short"
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="files"; filename="partial.bin"\r\n\r\n'
    ).encode()
    request = (
        "POST /em/files/uplink HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Authorization: {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + 10_000_000}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        raw.sendall(request + head + b"p" * 3_000_000)
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while client.get("em/files/list").status_code == 423:  # the server notices the hang-up
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.get("em/files/list").json()["data"] == []
    assert list((server.config.data_dir / "tmp").iterdir()) == []


@pytest.mark.parametrize("name", ["..", ".", "a/..", "dir/"])
def test_uplink_refuses_part_names_without_a_file_name(em_http, pod_name: str, name: str) -> None:
    client = em_http()
    response = client.post(
        "em/files/uplink", files=[("files", (name, b"x"))], data={"pod_name": pod_name}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_PATH"
    assert _list(client, pod_name) == []
