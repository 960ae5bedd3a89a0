"""The two revisions of the EM API (`--api 2025-11 | 2026-01 | both`), volumes, leading slashes.

Over real sockets, one emulator per mode (module-scoped): which methods and paths each mode
takes and how it refuses the others' (405 with `Allow`, 404, as Django REST Framework does);
which field names the volume (`pod_name` in 2025-11, `pvc_name` in 2026-01, `pvc_name` winning
in `both`), including the hazard a January EM poses to an old client (`pod_name` alone lands on
the default volume); `POST /em/pvc/list` and `POST /em/pvc/delete` with their refusals; and a
leading `/` in every path field meaning the volume root.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dphi_em_emulator import EmulatorConfig, EmulatorServer
from dphi_em_emulator._storage import remove_tree
from support.images import docker_save_tar

NOV, JAN, BOTH = "2025-11", "2026-01", "both"
USERS = {"client1": "secret", "client2": "secret2"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, EmulatorServer]]:
    started: dict[str, EmulatorServer] = {}
    try:
        for api in (NOV, JAN, BOTH):
            config = EmulatorConfig(
                data_dir=tmp_path_factory.mktemp(f"emulator-{api}"),
                users=USERS,
                time_scale=60.0,
                pod_start_delay=0.2,
                api=api,
            )
            started[api] = EmulatorServer(config).start()
        yield started
    finally:
        for server in started.values():
            server.stop()
            shutil.rmtree(server.config.data_dir, ignore_errors=True)


@pytest.fixture
def http(
    servers: dict[str, EmulatorServer], em_http: Callable[..., httpx.Client]
) -> Callable[..., httpx.Client]:
    """`http(api, username="client1")`: a logged-in client of the emulator serving `api`."""

    def make(api: str, username: str = "client1") -> httpx.Client:
        return em_http(servers[api], username)

    return make


@pytest.fixture
def name() -> str:
    """A fresh pod or volume name."""
    return f"r-{uuid.uuid4().hex[:10]}"


def volume_dir(server: EmulatorServer, volume: str | None, user: str = "client1") -> Path:
    return server.config.data_dir / "volumes" / user / (volume or "_default")


def uplink(client: httpx.Client, files: dict[str, bytes], **fields: str) -> httpx.Response:
    parts = [("files", (path, content)) for path, content in files.items()]
    return client.post("em/files/uplink", files=parts, data=fields)


def names_in(tree: list[dict[str, Any]]) -> set[str]:
    return {node["name"] for node in tree}


# ------------------------------------------------------------------------ routing per mode

#: (method, path, body) of each read-only call and volume call in its two forms.
CALLS = {
    "files list GET": ("GET", "em/files/list", None),
    "files list POST": ("POST", "em/files/list", {"data": {"pvc_name": ""}}),
    "image list GET": ("GET", "em/pod/image/list", None),
    "image list POST": ("POST", "em/pod/image/list", None),
    "nodes status GET": ("GET", "em/nodes/status", None),
    "nodes status POST": ("POST", "em/nodes/status", None),
    "pvc list": ("POST", "em/pvc/list", None),
}
NOVEMBER_ONLY = {"files list GET", "image list GET", "nodes status GET"}
JANUARY_ONLY = {"files list POST", "image list POST", "nodes status POST", "pvc list"}
#: Where a strict mode lacks the method (405), the method its path takes instead.
OTHER_METHOD = {
    "files list GET": "POST",
    "files list POST": "GET",
    "image list GET": "POST",
    "image list POST": "GET",
    "nodes status GET": "POST",
    "nodes status POST": "GET",
}


def _allow(response: httpx.Response) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("api", [NOV, JAN, BOTH])
def test_each_mode_takes_its_forms_and_refuses_the_others(http, api: str, call: str) -> None:
    method, path, kwargs = CALLS[call]
    response = http(api).request(method, path, **(kwargs or {}))
    lacking = (api == NOV and call in JANUARY_ONLY) or (api == JAN and call in NOVEMBER_ONLY)
    if not lacking:
        assert response.status_code == 200, response.text
        assert isinstance(response.json()["data"], list)
    elif call == "pvc list":  # a path the November revision does not have
        assert response.status_code == 404
        assert response.json()["error"] == "NOT_FOUND"
    else:  # DRF: the path exists, the method does not
        assert response.status_code == 405
        assert response.json() == {"detail": f'Method "{method}" not allowed.'}
        assert OTHER_METHOD[call] in _allow(response)
        assert method not in _allow(response)


@pytest.mark.parametrize(
    ("api", "status"), [(NOV, 404), (JAN, 405), (BOTH, 405)], ids=[NOV, JAN, BOTH]
)
def test_a_method_no_revision_has_is_405_in_every_mode_and_pvc_delete_404_in_november(
    http, api: str, status: int
) -> None:
    client = http(api)
    response = client.put("em/files/list")
    assert response.status_code == 405
    response = client.get("em/pvc/delete")
    assert response.status_code == status
    if status == 405:
        assert _allow(response) == {"POST"}


def test_pod_status_is_get_in_november_and_post_with_a_query_in_january(http, name: str) -> None:
    for api, method, other in ((NOV, "GET", "POST"), (JAN, "POST", "GET")):
        client = http(api)
        run = client.post(
            "em/pod/run", json={"image": "alpine:latest", "max_duration": 5, "pod_name": name}
        )
        assert run.status_code == 200, run.text
        response = client.request(method, "em/pod/status", params={"pod_name": name})
        assert response.status_code == 200, response.text
        assert set(response.json()["data"]["state"]) <= {"waiting", "running", "terminated"}
        assert client.request(other, "em/pod/status", params={"pod_name": name}).status_code == 405
    both = http(BOTH)
    assert both.post("em/pod/status", params={"pod_name": "nobody"}).status_code == 404
    assert both.get("em/pod/status", params={"pod_name": "nobody"}).json()["error"] == (
        "POD_NOT_FOUND"
    )


def test_namespaces_are_november_only(http) -> None:
    assert http(JAN).post("em/pod/namespace/create").status_code == 404
    for api in (NOV, BOTH):
        response = http(api).post("em/pod/namespace/create")
        assert response.status_code in (200, 400), response.text  # 400: created before
        if response.status_code == 400:
            assert response.json()["error"] == "NAMESPACE_CREATION_FAILED"


@pytest.mark.parametrize(("api", "status"), [(NOV, 400), (JAN, 200), (BOTH, 400)])
def test_run_s_namespace_field_is_ignored_in_january(
    http, name: str, api: str, status: int
) -> None:
    """A January EM has no namespaces: `namespace: true` is an unknown field, ignored as DRF
    ignores them; the others refuse it until the namespace exists (client2 never makes it)."""
    body = {"image": "alpine:latest", "max_duration": 1, "pod_name": name, "namespace": True}
    response = http(api, "client2").post("em/pod/run", json=body)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"] == "NAMESPACE_NOT_FOUND"
    bad = {**body, "namespace": "not a boolean"}
    expected = 200 if api == JAN else 400
    assert http(api, "client2").post("em/pod/run", json=bad).status_code == expected


# ---------------------------------------------------------------- which field is the volume


def test_january_reads_pvc_name_and_not_pod_name_the_hazard(
    http, servers: dict[str, EmulatorServer], name: str
) -> None:
    """Against a January EM, a client that names the volume only by `pod_name` (as every
    November client does) works on the default volume: its uplink, downlink, listing, delete
    and build all miss the pod's volume, silently."""
    server, client = servers[JAN], http(JAN)
    marker = f"{name}.txt"
    # pod_name only: the file lands on the default volume, the pod's volume is not even made
    assert uplink(client, {marker: b"default"}, pod_name=name).status_code == 200
    assert (volume_dir(server, None) / marker).read_bytes() == b"default"
    assert not volume_dir(server, name).exists()
    # pvc_name: the pod's volume
    assert uplink(client, {marker: b"pod's"}, pvc_name=name).status_code == 200
    assert (volume_dir(server, name) / marker).read_bytes() == b"pod's"
    # downlink and list with pod_name only read the default volume
    read = client.get("em/files/downlink", params={"filepath": marker, "pod_name": name})
    assert read.content == b"default"
    read = client.get("em/files/downlink", params={"filepath": marker, "pvc_name": name})
    assert read.content == b"pod's"
    listed = client.post("em/files/list", data={"pod_name": name}).json()["data"]
    assert marker in names_in(listed)
    listed = client.post("em/files/list", data={"pvc_name": name}).json()["data"]
    assert names_in(listed) == {marker}
    # delete with pod_name only deletes the default volume's file, not the pod's
    response = client.post("em/files/delete", json={"filepath": marker, "pod_name": name})
    assert response.status_code == 200
    assert not (volume_dir(server, None) / marker).exists()
    assert (volume_dir(server, name) / marker).exists()
    # build with pod_name only looks for the Dockerfile in the default volume
    assert uplink(client, {"Dockerfile": b"FROM alpine\n"}, pvc_name=name).status_code == 200
    body = {"dockerfile": "Dockerfile", "image": name, "pod_name": name}
    assert not (volume_dir(server, None) / "Dockerfile").exists()
    response = client.post("em/pod/image/build", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "BUILD_FAILED"
    assert "Dockerfile" in response.json()["message"] + "".join(response.json()["log_tail"])
    response = client.post("em/pod/image/build", json={**body, "pvc_name": name})
    assert response.status_code == 200, response.text


def test_january_ignores_pod_name_entirely_on_file_operations(http, name: str) -> None:
    """Not read means not checked either: an invalid `pod_name` is no error there."""
    client = http(JAN)
    response = uplink(client, {f"{name}.txt": b"x"}, pod_name="Not A Pod Name")
    assert response.status_code == 200, response.text
    bad = uplink(client, {"x.txt": b"x"}, pvc_name="Not A Volume")
    assert bad.status_code == 400
    assert "pvc_name" in bad.json()["message"]
    assert "Not A Volume" in bad.json()["message"]


def test_november_reads_pod_name_and_ignores_pvc_name(
    http, servers: dict[str, EmulatorServer], name: str
) -> None:
    server, client = servers[NOV], http(NOV)
    marker = f"{name}.txt"
    assert uplink(client, {marker: b"x"}, pvc_name=name).status_code == 200
    assert (volume_dir(server, None) / marker).exists()
    assert not volume_dir(server, name).exists()
    assert uplink(client, {marker: b"y"}, pod_name=name, pvc_name="other").status_code == 200
    assert (volume_dir(server, name) / marker).read_bytes() == b"y"


def test_both_pvc_name_wins_and_a_conflicting_pair_is_refused(
    http, servers: dict[str, EmulatorServer], name: str
) -> None:
    server, client = servers[BOTH], http(BOTH)
    assert uplink(client, {"a.txt": b"pod"}, pod_name=name).status_code == 200
    assert (volume_dir(server, name) / "a.txt").read_bytes() == b"pod"
    other = f"{name}-v"
    assert uplink(client, {"a.txt": b"pvc"}, pvc_name=other).status_code == 200
    assert (volume_dir(server, other) / "a.txt").read_bytes() == b"pvc"
    same = uplink(client, {"b.txt": b"same"}, pod_name=name, pvc_name=name)
    assert same.status_code == 200
    assert (volume_dir(server, name) / "b.txt").exists()
    empty_pod = uplink(client, {"c.txt": b"c"}, pod_name="", pvc_name=name)
    assert empty_pod.status_code == 200
    for response in (
        uplink(client, {"d.txt": b"d"}, pod_name=name, pvc_name=other),
        client.get("em/files/list", params={"pod_name": name, "pvc_name": other}),
        client.post("em/files/list", data={"pod_name": name, "pvc_name": other}),
        client.get(
            "em/files/downlink", params={"filepath": "a.txt", "pod_name": name, "pvc_name": other}
        ),
        client.post(
            "em/files/delete", json={"filepath": "a.txt", "pod_name": name, "pvc_name": other}
        ),
        client.post(
            "em/pod/image/build",
            json={"dockerfile": "a.txt", "image": "x", "pod_name": name, "pvc_name": other},
        ),
    ):
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] == "INVALID_PARAMETERS"
        assert name in body["message"]
        assert other in body["message"]
    assert not (volume_dir(server, name) / "d.txt").exists()
    assert (volume_dir(server, other) / "a.txt").exists()


@pytest.mark.parametrize(
    ("api", "pvc", "expected"),
    [
        (NOV, None, "pod"),
        (NOV, "vol", "pod"),  # pvc_name not read
        (JAN, None, "default"),  # no pvc_name: the default volume, not the pod's
        (JAN, "vol", "vol"),
        (BOTH, None, "pod"),
        (BOTH, "vol", "vol"),
    ],
)
def test_the_volume_a_run_mounts(
    http, servers: dict[str, EmulatorServer], name: str, api: str, pvc: str | None, expected: str
) -> None:
    volume = {"pod": name, "vol": f"{name}-vol", "default": None}
    body: dict[str, Any] = {"image": "alpine:latest", "max_duration": 60, "pod_name": name}
    if pvc:
        body["pvc_name"] = volume[pvc]
    assert http(api).post("em/pod/run", json=body).status_code == 200
    assert volume_dir(servers[api], volume[expected]).is_dir()
    for other in {"pod", "vol"} - {expected}:
        assert not volume_dir(servers[api], volume[other]).exists()
    if expected != "default" and api != NOV:  # the pod holds its volume: no deleting it
        response = http(api).post("em/pvc/delete", json={"pvc_name": volume[expected]})
        assert response.status_code == 409, response.text


# ------------------------------------------------------------------------------- volumes


def _volumes(client: httpx.Client) -> dict[str, dict[str, Any]]:
    response = client.post("em/pvc/list")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"]
    return {volume["name"]: volume for volume in body["data"]}


@pytest.mark.parametrize("api", [JAN, BOTH])
def test_volume_list_reports_name_size_and_file_count(http, name: str, api: str) -> None:
    client = http(api, "client2")
    files = {"a.txt": b"12345", "b.bin": bytes(1000)}
    assert uplink(client, files, pvc_name=name, dest_path="deep/er").status_code == 200
    assert uplink(client, {"c.txt": b"abc"}, pvc_name=name).status_code == 200
    volumes = _volumes(client)
    assert volumes[name] == {"name": name, "default": False, "size": 1008, "file_count": 3}
    response = client.post("em/pvc/list")
    first = response.json()["data"][0]
    assert first["name"] == ""  # the default volume, always there, always first
    assert first["default"] is True
    assert sorted(volumes) == sorted(v["name"] for v in response.json()["data"])
    # another user's volumes are not listed
    assert name not in _volumes(http(api, "client1"))


def test_volume_delete_removes_the_volume_and_its_files(
    http, servers: dict[str, EmulatorServer], name: str
) -> None:
    client = http(JAN)
    assert uplink(client, {"a.txt": b"a"}, pvc_name=name, dest_path="x").status_code == 200
    assert name in _volumes(client)
    response = client.post("em/pvc/delete", json={"pvc_name": name})
    assert response.status_code == 200, response.text
    assert response.json()["message"]
    assert name not in _volumes(client)
    assert not volume_dir(servers[JAN], name).exists()
    listed = client.post("em/files/list", data={"pvc_name": name}).json()["data"]
    assert listed == []
    again = client.post("em/pvc/delete", json={"pvc_name": name})
    assert again.status_code == 404
    assert again.json()["error"] == "VOLUME_NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "status", "error", "words"),
    [
        ({}, 400, "INVALID_PARAMETERS", "default volume"),
        ({"pvc_name": ""}, 400, "INVALID_PARAMETERS", "default volume"),
        ({"pvc_name": None}, 400, "INVALID_PARAMETERS", "default volume"),
        ({"pvc_name": "Bad Name"}, 400, "INVALID_PARAMETERS", "Bad Name"),
        ({"pvc_name": "_default"}, 400, "INVALID_PARAMETERS", "_default"),
        ({"pvc_name": "no-such-volume"}, 404, "VOLUME_NOT_FOUND", "no-such-volume"),
    ],
)
def test_volume_delete_refusals(
    http, servers: dict[str, EmulatorServer], body: dict, status: int, error: str, words: str
) -> None:
    client = http(JAN)
    assert uplink(client, {"keep.txt": b"k"}).status_code == 200
    response = client.post("em/pvc/delete", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert words in response.json()["message"]
    assert (volume_dir(servers[JAN], None) / "keep.txt").exists()


def test_the_default_volume_can_be_emptied_but_not_deleted(
    http, servers: dict[str, EmulatorServer]
) -> None:
    client = http(BOTH, "client2")
    assert uplink(client, {"one.txt": b"1"}, dest_path="d").status_code == 200
    for entry in client.get("em/files/list").json()["data"]:
        response = client.post("em/files/delete", json={"filepath": entry["name"]})
        assert response.status_code == 200
    default = _volumes(client)[""]
    assert (default["size"], default["file_count"]) == (0, 0)
    assert volume_dir(servers[BOTH], None, "client2").is_dir()
    response = client.post("em/pvc/delete", json={"pvc_name": ""})
    assert response.status_code == 400
    assert "can't be deleted" in response.json()["message"]


def _wait_terminated(client: httpx.Client, pod: str) -> None:
    for _ in range(200):
        state = client.post("em/pod/status", params={"pod_name": pod}).json()["data"]["state"]
        if "terminated" in state:
            return
        time.sleep(0.05)
    raise AssertionError(f"pod {pod} did not terminate: {state}")


def test_a_volume_in_use_by_a_pod_is_not_deleted_until_the_pod_ends(
    http, servers: dict[str, EmulatorServer], name: str
) -> None:
    client = http(JAN)
    volume, pod = f"{name}-v", f"{name}-p"
    assert uplink(client, {"in.txt": b"x"}, pvc_name=volume).status_code == 200
    run = {"image": "alpine:latest", "max_duration": 1, "pod_name": pod, "pvc_name": volume}
    assert client.post("em/pod/run", json=run).status_code == 200
    response = client.post("em/pvc/delete", json={"pvc_name": volume})
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"] == "VOLUME_IN_USE"
    assert pod in body["message"]
    assert volume in body["message"]
    assert (volume_dir(servers[JAN], volume) / "in.txt").exists()
    # another user's pod of the same names changes nothing for client1, and vice versa
    assert http(JAN, "client2").post("em/pvc/delete", json={"pvc_name": volume}).status_code == 404
    _wait_terminated(client, pod)
    assert client.post("em/pvc/delete", json={"pvc_name": volume}).status_code == 200


def test_a_pod_run_again_on_another_volume_frees_the_first(http, name: str) -> None:
    client = http(BOTH)
    first, second = f"{name}-a", f"{name}-b"
    run = {"image": "alpine:latest", "max_duration": 60, "pod_name": name, "pvc_name": first}
    assert client.post("em/pod/run", json=run).status_code == 200
    assert client.post("em/pvc/delete", json={"pvc_name": first}).status_code == 409
    assert client.post("em/pod/run", json={**run, "pvc_name": second}).status_code == 200
    assert client.post("em/pvc/delete", json={"pvc_name": first}).status_code == 200
    # the pod's own name's volume was never in use by it here (it mounts pvc_name's)
    assert uplink(client, {"x": b"x"}, pod_name=name).status_code == 200
    assert client.post("em/pvc/delete", json={"pvc_name": name}).status_code == 200
    assert client.post("em/pvc/delete", json={"pvc_name": second}).status_code == 409


def test_november_pods_hold_their_own_name_s_volume(http, name: str) -> None:
    """In `both`, a pod run the November way (no pvc_name) mounts its own name's volume."""
    client = http(BOTH)
    run = {"image": "alpine:latest", "max_duration": 60, "pod_name": name}
    assert client.post("em/pod/run", json=run).status_code == 200
    response = client.post("em/pvc/delete", json={"pvc_name": name})
    assert response.status_code == 409
    assert name in response.json()["message"]


# --------------------------------------------------------------------------- leading slash


@pytest.mark.parametrize("api", [NOV, JAN, BOTH])
def test_a_leading_slash_is_the_volume_root_in_every_path_field(
    http, servers: dict[str, EmulatorServer], name: str, api: str
) -> None:
    client = http(api)
    field = "pod_name" if api == NOV else "pvc_name"
    vol = {field: name}
    files = {"Dockerfile": b"FROM alpine\nCOPY run.sh /\n", "run.sh": b"echo hi\n"}
    assert uplink(client, files, dest_path="/echo-test", **vol).status_code == 200
    tar = docker_save_tar("echo-tar:latest")
    assert uplink(client, {"echo.tar": tar}, dest_path="//images/", **vol).status_code == 200
    root = volume_dir(servers[api], name)
    assert (root / "echo-test" / "Dockerfile").exists()
    assert (root / "images" / "echo.tar").exists()
    read = client.get("em/files/downlink", params={"filepath": "/echo-test/run.sh", **vol})
    assert read.status_code == 200
    assert read.content == b"echo hi\n"
    build = {"dockerfile": "/echo-test/Dockerfile", "context": "/echo-test", "image": name}
    response = client.post("em/pod/image/build", json={**build, **vol})
    assert response.status_code == 200, response.text
    response = client.post("em/pod/image/build", json={**build, "context": "/", **vol})
    assert response.status_code == 200, response.text  # the whole volume as the context
    missing = {**build, "dockerfile": "/Dockerfile", **vol}  # the root has none
    response = client.post("em/pod/image/build", json=missing)
    assert response.status_code == 400
    assert response.json()["error"] == "BUILD_FAILED"
    load = {"tarfile": "/images/echo.tar", "image": "echo-tar", **vol}
    response = client.post("em/pod/image/load", json=load)
    assert response.status_code == 200, response.text
    response = client.post("em/files/delete", json={"filepath": "/echo-test/run.sh", **vol})
    assert response.status_code == 200
    assert not (root / "echo-test" / "run.sh").exists()
    response = client.post("em/files/delete", json={"filepath": "/", **vol})
    assert response.status_code == 400  # the root itself is never deleted
    assert response.json()["error"] == "DELETE_FAILED"
    assert (root / "echo-test" / "Dockerfile").exists()
    response = client.get("em/files/downlink", params={"filepath": "/", **vol})
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_PATH"


@pytest.mark.parametrize(
    "path", ["/../x", "/echo/../../x", "//..", "/%2e%2e/x", "/a\x00b", "/C:/x"]
)
def test_a_leading_slash_does_not_open_a_way_out(http, name: str, path: str) -> None:
    client = http(JAN)
    assert uplink(client, {"a.txt": b"a"}, pvc_name=name, dest_path="echo").status_code == 200
    for response in (
        client.get("em/files/downlink", params={"filepath": path, "pvc_name": name}),
        client.post("em/files/delete", json={"filepath": path, "pvc_name": name}),
        uplink(client, {"b.txt": b"b"}, pvc_name=name, dest_path=path),
        client.post(
            "em/pod/image/build",
            json={"dockerfile": path, "context": "/", "image": "x", "pvc_name": name},
        ),
        client.post("em/pod/image/load", json={"tarfile": path, "image": "x", "pvc_name": name}),
    ):
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"] == "ILLEGAL_PATH"


def test_a_leading_slash_does_not_follow_a_symlink_out(
    http, servers: dict[str, EmulatorServer], name: str, tmp_path: Path
) -> None:
    client = http(JAN)
    assert uplink(client, {"a.txt": b"a"}, pvc_name=name).status_code == 200
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (volume_dir(servers[JAN], name) / "link.txt").symlink_to(outside)
    response = client.get("em/files/downlink", params={"filepath": "/link.txt", "pvc_name": name})
    assert response.status_code == 403
    assert response.json()["error"] == "ILLEGAL_PATH"
    assert outside.read_text() == "secret"


def test_api_is_checked_in_the_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="api must be one of 2025-11, 2026-01, both"):
        EmulatorConfig(data_dir=tmp_path, users=USERS, api="2026-02")


def test_a_volume_a_thousand_folders_deep_is_measured_and_deleted(http, servers, name: str) -> None:
    """A pod can make folders deeper than Python's recursion limit: listing the volumes and
    deleting one must not turn into a 500 (both walk without recursion)."""
    client = http(JAN, "client1")
    assert uplink(client, {"top.txt": b"top"}, pvc_name=name).status_code == 200
    import os

    fd = os.open(volume_dir(servers[JAN], name), os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(1200):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        with open(os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as f:
            f.write(b"leaf")
    finally:
        os.close(fd)
    try:
        listed = _volumes(client)[name]
        assert (listed["file_count"], listed["size"]) == (2, 7)
        deleted = client.post("em/pvc/delete", json={"pvc_name": name})
        assert deleted.status_code == 200, deleted.text
        assert not volume_dir(servers[JAN], name).exists()
    finally:  # never leave the chain to pytest's own (recursive) clean-up of old temp folders
        if volume_dir(servers[JAN], name).exists():
            remove_tree(volume_dir(servers[JAN], name))
