"""EMClient: validation before sending, what is sent, typed results, life cycle, waiting."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import dphi_em
import dphi_em.testing
import httpx
import pytest
from dphi_em import (
    ClientClosedError,
    ConfigurationError,
    EMClient,
    NodeStatus,
    Pod,
    PodFailedError,
    PodState,
    ValidationError,
    WaitTimeoutError,
    validate_pod_name,
)
from dphi_em._waiting import PodWait
from fake_em import FakeEM, error, make_client


def _sent_json(fake: FakeEM) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(fake.requests[-1].content)
    return body


@pytest.mark.parametrize("name", ["a", "pod-a", "0", "a1-b2", "x" * 63, "client-server-80"])
def test_valid_pod_names(name: str) -> None:
    assert validate_pod_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["Hey no whitespaces", "Pod-A", "-a", "a-", "a_b", "a.b", "x" * 64, "é", "a b", "a\n"],
)
def test_invalid_pod_names_are_refused_naming_value_and_rule(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_pod_name(name)
    assert repr(name) in str(info.value)
    assert "lowercase" in str(info.value)


@pytest.mark.parametrize("name", [None, ""])
def test_empty_pod_name_is_the_default(name: str | None) -> None:
    assert validate_pod_name(name) is None


def test_run_sends_a_typed_body() -> None:
    fake = FakeEM()
    when = datetime(2025, 5, 22, 12, 10, tzinfo=timezone(timedelta(hours=2)))
    with make_client(fake) as em:
        assert (
            em.run(
                "echo-test",
                node="gpu",
                max_duration=3,
                command="/bin/sh -c",
                scheduled_time=when,
                pod_name="pod-a",
                ports=[80, 8080],
                namespace=True,
                args=["echo $SIZE", " > /data/x"],
                envs={"DURATION": 60, "SIZE": 1024, "FLAG": True, "NAME": "x"},
            )
            == "ok"
        )
    assert fake.calls[-1] == ("POST", "/em/pod/run")
    assert _sent_json(fake) == {
        "image": "echo-test",
        "max_duration": 3,
        "node": "GPU",
        "scheduled_time": "2025-05-22T12:10:00+02:00",
        "command": "/bin/sh -c",
        "args": ["echo $SIZE", " > /data/x"],
        "envs": {"DURATION": "60", "SIZE": "1024", "FLAG": "true", "NAME": "x"},
        "ports": [80, 8080],
        "namespace": True,
        "pod_name": "pod-a",
        "pvc_name": "pod-a",  # a pod uses its own name's volume on both revisions
    }


def test_run_defaults_send_only_what_is_given() -> None:
    fake = FakeEM()
    with make_client(fake) as em:
        em.run("python:3.11-alpine", command="")
    assert _sent_json(fake) == {
        "image": "python:3.11-alpine",
        "max_duration": 1,
        "node": "FPGA",
        "namespace": False,
    }


def test_run_accepts_an_iso_string_with_a_zone() -> None:
    fake = FakeEM()
    with make_client(fake) as em:
        em.run("img", scheduled_time="2025-05-22T12:10:00Z")
    assert _sent_json(fake)["scheduled_time"] == "2025-05-22T12:10:00+00:00"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"node": "TPU"}, "TPU"),
        ({"scheduled_time": datetime(2025, 5, 22, 12, 10)}, "time zone"),
        ({"scheduled_time": "2025-05-22T12:10:00"}, "time zone"),
        ({"scheduled_time": "tomorrow"}, "ISO 8601"),
        ({"ports": [0]}, "1 to 65535"),
        ({"ports": [65536]}, "1 to 65535"),
        ({"ports": ["80"]}, "port"),
        ({"ports": [True]}, "port"),
        ({"ports": 80}, "ports must be a list of integers"),
        ({"args": "echo hi"}, "list of strings"),
        ({"args": ["ok", 3]}, "list of strings"),
        ({"envs": {"A": None}}, "A"),
        ({"envs": ["A=1"]}, "mapping"),
        ({"envs": {"A B": "1"}}, "'A B'"),
        ({"envs": {"1X": "1"}}, "not starting with a digit"),
        ({"envs": {"": "1"}}, "name ''"),
        ({"max_duration": 0}, "max_duration"),
        ({"max_duration": 1.5}, "max_duration"),
        ({"pod_name": "Hey no whitespaces"}, "Hey no whitespaces"),
        ({"image": ""}, "image"),
    ],
)
def test_run_validates_before_sending(kwargs: dict[str, Any], match: str) -> None:
    fake = FakeEM()
    args = {"image": "img", **kwargs}
    with make_client(fake) as em, pytest.raises(ValidationError, match=match):
        em.run(**args)
    assert fake.calls == []


def test_file_and_image_operations_send_json_and_query() -> None:
    fake = FakeEM()
    with make_client(fake) as em:
        em.delete("a/b.txt", pod_name="pod-a")
        # the volume named for both revisions: pod_name (2025-11) and pvc_name (2026-01)
        assert _sent_json(fake) == {"filepath": "a/b.txt", "pod_name": "pod-a", "pvc_name": "pod-a"}
        em.delete("a/b.txt")
        assert _sent_json(fake) == {"filepath": "a/b.txt"}
        em.image_build("echo-test/Dockerfile", "echo-test", "echo-test")
        assert _sent_json(fake) == {
            "dockerfile": "echo-test/Dockerfile",
            "image": "echo-test",
            "context": "echo-test",
        }
        em.image_load("img.tar", "img", pod_name="pod-b")
        assert _sent_json(fake) == {
            "tarfile": "img.tar",
            "image": "img",
            "pod_name": "pod-b",
            "pvc_name": "pod-b",
        }
        em.namespace_create()
        em.files_list(pod_name="pod-a")
        assert fake.requests[-1].url.params["pod_name"] == "pod-a"
        em.files_list()
        assert "pod_name" not in fake.requests[-1].url.params
    assert [c for c in fake.calls if c[1] != "/auth/"] == [
        ("POST", "/em/files/delete"),
        ("POST", "/em/files/delete"),
        ("POST", "/em/pod/image/build"),
        ("POST", "/em/pod/image/load"),
        ("GET", "/em/nodes/status"),  # the read-only probe: does this EM have namespaces?
        ("POST", "/em/pod/namespace/create"),
        ("GET", "/em/files/list"),
        ("GET", "/em/files/list"),
    ]


def test_typed_results_and_dicts() -> None:
    fake = FakeEM()
    tree = [
        {
            "type": "file",
            "name": "downlink.txt",
            "size": "167",
            "time": "2025-11-20-12-31",
            "hash": 5,
        },
        {
            "type": "directory",
            "name": "echo-test",
            "size": "487",
            "time": "2025-11-20-11-30",
            "contents": [
                {"type": "file", "name": "Dockerfile", "size": "121", "time": "t", "hash": -6}
            ],
        },
    ]
    fake.routes[("GET", "/em/files/list")] = lambda r: httpx.Response(
        200, json={"message": "m", "data": tree}
    )
    fake.routes[("GET", "/em/nodes/status")] = lambda r: httpx.Response(
        200,
        json={"data": [{"name": "fpga", "status": "True"}, {"name": "gpu", "status": "False"}]},
    )
    fake.routes[("GET", "/em/pod/image/list")] = lambda r: httpx.Response(
        200, json={"message": "m", "data": ["client1-echo-test"]}
    )
    with make_client(fake) as em:
        files = em.files_list()
        assert [f.to_dict() for f in files] == [
            {
                "name": "downlink.txt",
                "type": "file",
                "size": 167,
                "modified": "2025-11-20T12:31:00",
                "hash": 5,
            },
            {
                "name": "echo-test",
                "type": "directory",
                "size": 487,
                "modified": "2025-11-20T11:30:00",
                "contents": [
                    {
                        "name": "Dockerfile",
                        "type": "file",
                        "size": 121,
                        "modified": None,
                        "hash": -6,
                    }
                ],
            },
        ]
        assert files[1].is_dir
        assert not files[0].is_dir
        assert not hasattr(files[0], "type_")
        assert [p for p, _ in dphi_em.iter_files(files)] == ["downlink.txt", "echo-test/Dockerfile"]
        assert em.nodes_status() == [
            NodeStatus(name="fpga", ready=True, status="True"),
            NodeStatus(name="gpu", ready=False, status="False"),
        ]
        assert em.nodes_status()[0].to_dict() == {"name": "fpga", "ready": True, "status": "True"}
        assert em.image_list() == ["client1-echo-test"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            {"running": {"startedAt": "2025-11-20T12:31:12Z"}},
            {
                "kind": "running",
                "reason": None,
                "message": None,
                "started_at": "2025-11-20T12:31:12+00:00",
                "finished_at": None,
                "exit_code": None,
            },
        ),
        (
            {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off"}},
            {
                "kind": "waiting",
                "reason": "ImagePullBackOff",
                "message": "Back-off",
                "started_at": None,
                "finished_at": None,
                "exit_code": None,
            },
        ),
        (
            {
                "terminated": {
                    "exitCode": 2,
                    "reason": "Error",
                    "startedAt": "2025-11-20T12:31:12Z",
                    "finishedAt": "2025-11-20T12:32:12Z",
                }
            },
            {
                "kind": "terminated",
                "reason": "Error",
                "message": None,
                "started_at": "2025-11-20T12:31:12+00:00",
                "finished_at": "2025-11-20T12:32:12+00:00",
                "exit_code": 2,
            },
        ),
        (
            {},
            {
                "kind": "unknown",
                "reason": None,
                "message": None,
                "started_at": None,
                "finished_at": None,
                "exit_code": None,
            },
        ),
    ],
)
def test_pod_status_is_typed(state: dict[str, Any], expected: dict[str, Any]) -> None:
    fake = FakeEM()
    fake.routes[("GET", "/em/pod/status")] = lambda r: httpx.Response(
        200, json={"message": "m", "data": {"state": state}}
    )
    with make_client(fake) as em:
        result = em.pod_status("pod-a")
    assert isinstance(result, PodState)
    assert result.to_dict() == expected
    assert fake.requests[-1].url.params["pod_name"] == "pod-a"


class Script:
    """Answers GET /em/pod/status from a list of states (the last one repeats)."""

    def __init__(self, *states: dict[str, Any] | int) -> None:
        self.states = list(states)
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        state = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        if isinstance(state, int):
            return error(state, "POD_NOT_FOUND", "no pod")
        return httpx.Response(200, json={"message": "m", "data": {"state": state}})


def _waiting_client(script: Script) -> EMClient:
    fake = FakeEM()
    fake.routes[("GET", "/em/pod/status")] = script
    return make_client(fake)


def test_wait_for_pod_polls_until_running() -> None:
    script = Script(
        404,
        {"waiting": {"reason": "ContainerCreating"}},
        {"running": {"startedAt": "2025-01-01T00:00:00Z"}},
    )
    em = _waiting_client(script)
    with em, dphi_em.testing.testing():
        state = em.wait_for_pod("pod-a", poll_interval=0.5)
    assert state.kind == "running"
    assert script.polls == 3


def test_pod_wait_sleeps_the_interval_then_what_remains() -> None:
    now = [0.0]
    wait = PodWait("pod-a", "running", 5, 2, clock=lambda: now[0])
    wait.start()
    delays = []
    for _ in range(3):
        assert wait.observe(PodState(kind="waiting", reason="X")) is None
        delays.append(wait.next_delay())
        now[0] += delays[-1]
    assert delays == [2, 2, 1]
    with pytest.raises(WaitTimeoutError, match=r"not running after 5 s; last seen: waiting \(X\)"):
        wait.next_delay()


def test_wait_for_terminated_skips_running() -> None:
    script = Script(
        {"running": {}}, {"running": {}}, {"terminated": {"exitCode": 0, "reason": "Completed"}}
    )
    em = _waiting_client(script)
    with em, dphi_em.testing.testing():
        assert em.pod("pod-a").wait(until="terminated", poll_interval=1).exit_code == 0
    assert script.polls == 3


def test_wait_fails_fast_with_the_waiting_reason() -> None:
    script = Script(
        {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}
    )
    em = _waiting_client(script)
    with (
        em,
        pytest.raises(PodFailedError, match="ImagePullBackOff: Back-off pulling image") as info,
    ):
        em.wait_for_pod("pod-a")
    assert script.polls == 1
    assert info.value.state.reason == "ImagePullBackOff"
    assert info.value.pod_name == "pod-a"


def test_wait_times_out_naming_the_last_state() -> None:
    script = Script({"waiting": {"reason": "Unschedulable"}})
    em = _waiting_client(script)
    with em, pytest.raises(WaitTimeoutError, match="Unschedulable") as info:
        em.wait_for_pod(timeout=0.3, poll_interval=0.1)
    assert script.polls >= 2
    assert isinstance(info.value, TimeoutError)


def test_wait_validates_until() -> None:
    with make_client(FakeEM()) as em, pytest.raises(ValidationError, match="until"):
        em.wait_for_pod(until="done")


def test_pod_handle_binds_the_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = FakeEM()
    fake.routes[("POST", "/em/files/uplink")] = lambda r: httpx.Response(
        200, json={"message": "ok", "data": {"file_count": 1, "total_size_kb": 0}}
    )
    fake.routes[("GET", "/em/files/downlink")] = lambda r: httpx.Response(200, content=b"d")
    fake.routes[("GET", "/em/pod/status")] = lambda r: httpx.Response(
        200, json={"data": {"state": {"running": {}}}}
    )
    f = tmp_path / "f.txt"
    f.write_bytes(b"1")
    with make_client(fake) as em:
        pod = em.pod("pod-a")
        assert isinstance(pod, Pod)
        assert pod.name == "pod-a"
        assert repr(pod) == "Pod('pod-a')"
        pod.uplink([f])
        assert b'name="pod_name"\r\n\r\npod-a' in fake.requests[-1].content
        pod.files_list()
        pod.downlink("f.txt", tmp_path / "dl")
        pod.delete("f.txt")
        pod.run("img", namespace=True)
        pod.image_build("Dockerfile", "img")
        pod.image_load("img.tar", "img")
        assert pod.status().kind == "running"
        assert pod.wait().kind == "running"
    for request in fake.requests:
        if request.url.path.startswith("/em/") and request.url.path != "/em/files/uplink":
            if request.method == "GET":
                assert request.url.params["pod_name"] == "pod-a"
            else:
                assert json.loads(request.content)["pod_name"] == "pod-a"
    with pytest.raises(ValidationError):
        em.pod("")
    with pytest.raises(ValidationError):
        em.pod("Bad Name")


def test_closed_client_refuses_reuse() -> None:
    fake = FakeEM()
    em = make_client(fake)
    with em:
        em.files_list()
    assert em.is_closed
    with pytest.raises(ClientClosedError):
        em.files_list()
    with pytest.raises(ClientClosedError), em:
        pass
    with pytest.raises(ClientClosedError):
        _ = em.raw
    em.close()  # closing twice is fine


def test_raw_shares_the_httpx_client() -> None:
    fake = FakeEM()
    with make_client(fake) as em:
        assert em.raw.get_httpx_client() is em.http_client
        assert em.raw is em.raw


def test_invalid_configuration() -> None:
    with pytest.raises(ConfigurationError, match="DPHI_EM_URL"):
        EMClient("ftp://x/", "u", "p")
    with pytest.raises(ValidationError):
        EMClient("http://x/", "u", "p", retry="yes")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        EMClient("http://x/", "u", "p", max_uplink_bytes=0)


def test_module_helpers_use_a_default_client_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeEM()
    monkeypatch.setenv("DPHI_EM_URL", "http://env.test/")
    monkeypatch.setenv("DPHI_EM_USERNAME", "client1")
    monkeypatch.setenv("DPHI_EM_PASSWORD", "x")
    try:
        client = dphi_em.get_default_client()
        assert str(client.base_url) == "http://env.test/"
        assert dphi_em.get_default_client() is client
        dphi_em.set_default_client(make_client(fake))
        dphi_em.get_token()
        dphi_em.ensure_token()
        dphi_em.files_list(pod_name="")
        dphi_em.run("img", command="")
        assert fake.logins == 1
        assert client.is_closed  # replaced, so closed
        assert _sent_json(fake) == {
            "image": "img",
            "max_duration": 1,
            "node": "FPGA",
            "namespace": False,
        }
    finally:
        dphi_em.close_default_client()


def test_a_malformed_file_tree_is_an_api_error_naming_the_call() -> None:
    fake = FakeEM()
    bad = [{"type": "link", "name": "x"}]
    fake.routes[("GET", "/em/files/list")] = lambda r: httpx.Response(
        200, json={"message": "m", "data": bad}
    )
    with make_client(fake) as em, pytest.raises(dphi_em.APIError, match="GET /em/files/list"):
        em.files_list()


class _Text(str):
    pass


class _Number(int):
    pass


def test_file_node_fast_build() -> None:
    """`from_dict` sets a `FileNode`'s slots itself: the node is the one attrs builds."""
    entries: list[dict[str, Any]] = [
        {"name": "a", "type": "file", "size": "12", "time": "2025-11-20-12-31", "hash": -5},
        {"name": "b"},
        {"name": "c", "type": "file", "size": 7, "hash": True, "time": 5},
        {"name": "d", "type": "file", "size": "x1", "hash": "9", "time": "yesterday"},
        {"name": _Text("e"), "size": _Text("3"), "time": _Text("2025-11-20-12-31")},
        {"name": "f", "size": _Number(4), "hash": _Number(6)},
        {"name": "g", "size": False, "hash": 1.5},
        {"name": "h", "type": "directory", "contents": [{"name": "i", "size": "1"}]},
        {"name": "j", "type": "directory", "contents": []},
    ]

    def by_attrs(entry: dict[str, Any]) -> dphi_em.FileNode:  # attrs' `__init__`
        inner = tuple(by_attrs(c) for c in entry.get("contents", ()))
        wire = {k: v for k, v in entry.items() if k != "contents"}
        return dphi_em.FileNode.from_wire(**{"type": "file", **wire}, contents=inner)

    for entry in entries:
        fast = dphi_em.FileNode.from_dict(entry)
        slow = by_attrs(entry)
        assert (fast, hash(fast), repr(fast)) == (slow, hash(slow), repr(slow))
        assert [getattr(fast, f) for f in ("size", "hash")] == [slow.size, slow.hash]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.name = "k"  # type: ignore[misc]


def test_file_times_parse_the_ems_format_and_refuse_nonsense() -> None:
    node = dphi_em.FileNode.from_dict
    assert node({"name": "a", "type": "file", "time": "2025-11-20-12-31"}).modified == datetime(
        2025, 11, 20, 12, 31
    )
    assert node({"name": "a", "type": "file", "time": "2025-13-20-12-31"}).modified is None
    assert node({"name": "a", "type": "file", "size": "\u00b2"}).size is None  # a digit, not ASCII
    assert node({"name": "a", "type": "file", "size": "12"}).size == 12
