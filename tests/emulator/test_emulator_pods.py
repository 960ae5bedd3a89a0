"""Pods: run validation, the container state over time, namespaces, ports, nodes."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _status(client: httpx.Client, pod_name: str = "") -> dict:
    response = client.get("em/pod/status", params={"pod_name": pod_name})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Successfully fetched DPhi Pod status"
    state = body["data"]["state"]
    assert len(state) == 1
    return state


def _wait_for(client: httpx.Client, pod_name: str, key: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = _status(client, pod_name)
        if key in state:
            return state[key]
        assert time.monotonic() < deadline, f"pod {pod_name!r} never {key}: {state}"
        time.sleep(0.05)


def _run(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post("em/pod/run", json={"max_duration": 1, **body})


@pytest.fixture
def fast(make_emulator, em_http) -> httpx.Client:
    """A client of an emulator where a pod minute lasts 0.5 s, after 0.3 s of creation."""
    return em_http(make_emulator(time_scale=120.0, pod_start_delay=0.3))


@pytest.mark.parametrize(("value", "code", "reason"), [("3", 3, "Error"), (0, 0, "Completed")])
def test_a_run_can_ask_for_the_exit_code_its_pod_ends_with(
    fast: httpx.Client, value: object, code: int, reason: str
) -> None:
    envs = {"DPHI_EM_EMULATOR_EXIT_CODE": value}
    assert _run(fast, image="alpine", pod_name="ends", envs=envs).status_code == 200
    terminated = _wait_for(fast, "ends", "terminated")
    assert (terminated["exitCode"], terminated["reason"]) == (code, reason)


def test_a_pod_goes_from_creating_to_running_to_terminated(fast: httpx.Client) -> None:
    response = _run(fast, image="python:3.11-alpine", pod_name="life")
    assert response.status_code == 200
    assert response.json() == {"message": "Docker run scheduled successfully"}
    assert _status(fast, "life") == {"waiting": {"reason": "ContainerCreating"}}
    running = _wait_for(fast, "life", "running")
    assert RFC3339.match(running["startedAt"])
    terminated = _wait_for(fast, "life", "terminated")
    assert terminated["exitCode"] == 0
    assert terminated["reason"] == "Completed"
    assert terminated["startedAt"] == running["startedAt"]
    assert RFC3339.match(terminated["finishedAt"])
    assert terminated["finishedAt"] >= terminated["startedAt"]


def test_the_vendor_clients_defaults_run_the_default_pod(fast: httpx.Client) -> None:
    body = {
        "image": "python:3.11-alpine",
        "node": "FPGA",
        "max_duration": 1,
        "command": "",
        "scheduled_time": None,
        "pod_name": None,
        "ports": None,
        "namespace": False,
        "args": None,
        "envs": None,
    }
    assert fast.post("em/pod/run", json=body).status_code == 200
    assert "waiting" in _status(fast) or "running" in _status(fast)
    assert _wait_for(fast, "", "running")


def test_an_unknown_image_backs_off_with_the_vendor_message(fast: httpx.Client) -> None:
    assert _run(fast, image="echo-test12", pod_name="pull").status_code == 200
    waiting = _wait_for(fast, "pull", "waiting")
    deadline = time.monotonic() + 10
    while waiting.get("reason") != "ImagePullBackOff":
        assert time.monotonic() < deadline
        waiting = _wait_for(fast, "pull", "waiting")
    expected = 'Back-off pulling image "client1-echo-test12": ErrImagePull'
    assert waiting["message"].startswith(expected)


def test_own_images_run_by_their_short_name(fast: httpx.Client) -> None:
    fast.post(
        "em/files/uplink",
        files=[("files", ("Dockerfile", b"FROM alpine\n"))],
        data={"pod_name": "b", "dest_path": "e"},
    )
    built = fast.post(
        "em/pod/image/build",
        json={"dockerfile": "e/Dockerfile", "context": "e", "image": "echo", "pod_name": "b"},
    )
    assert built.status_code == 200
    assert _run(fast, image="echo", pod_name="mine").status_code == 200
    assert _run(fast, image="client1-echo", pod_name="full").status_code == 200
    for name in ("mine", "full"):
        assert _wait_for(fast, name, "running")
        assert fast.get("em/pod/status", params={"pod_name": name}).json()["data"]["emulator"][
            "image"
        ] == ("client1-echo")


def test_a_scheduled_pod_waits_for_its_time(make_emulator, em_http) -> None:
    client = em_http(make_emulator(time_scale=1.0, pod_start_delay=0.0))
    later = (datetime.now(timezone(timedelta(hours=2))) + timedelta(seconds=2)).isoformat()
    assert _run(client, image="alpine", pod_name="later", scheduled_time=later).status_code == 200
    waiting = _status(client, "later")["waiting"]
    assert waiting["reason"] == "ContainerCreating"
    assert "Scheduled to start at" in waiting["message"]
    assert _wait_for(client, "later", "running")
    past = "2020-01-01T00:00:00Z"
    assert _run(client, image="alpine", pod_name="past", scheduled_time=past).status_code == 200
    assert _wait_for(client, "past", "running", timeout=5)


def test_a_pod_scheduled_at_the_end_of_time_waits(em_http, pod_name: str) -> None:
    client = em_http()
    body = {"image": "alpine", "pod_name": pod_name, "scheduled_time": "9999-12-31T00:00:00Z"}
    assert _run(client, **body).status_code == 200
    assert _status(client, pod_name)["waiting"]["reason"] == "ContainerCreating"


def test_a_new_run_replaces_the_pod_of_the_same_name(fast: httpx.Client) -> None:
    assert _run(fast, image="alpine", pod_name="again").status_code == 200
    _wait_for(fast, "again", "running")
    assert _run(fast, image="does-not-exist", pod_name="again").status_code == 200
    report = fast.get("em/pod/status", params={"pod_name": "again"}).json()["data"]["emulator"]
    assert report["image"] == "client1-does-not-exist"


def test_unknown_pod_is_404(em_http, pod_name: str) -> None:
    response = em_http().get("em/pod/status", params={"pod_name": pod_name})
    assert response.status_code == 404
    assert response.json()["error"] == "POD_NOT_FOUND"
    assert em_http(username="client2").get("em/pod/status").status_code == 404


def test_pods_are_private_to_their_user(fast: httpx.Client, make_emulator, em_http) -> None:
    assert _run(fast, image="alpine", pod_name="private").status_code == 200
    server = make_emulator()
    client = em_http(server)
    assert _run(client, image="alpine", pod_name="private").status_code == 200
    other = em_http(server, username="client2")
    assert other.get("em/pod/status", params={"pod_name": "private"}).status_code == 404


def test_a_run_creates_the_pods_volume(em_http, pod_name: str) -> None:
    client = em_http()
    assert _run(client, image="alpine", pod_name=pod_name).status_code == 200
    assert client.get("em/files/list", params={"pod_name": pod_name}).json()["data"] == []


INVALID_RUNS = {
    "no-image": ({"image": ""}, "image"),
    "no-duration": ({"max_duration": None}, "max_duration"),
    "zero-duration": ({"max_duration": 0}, "max_duration"),
    "negative-duration": ({"max_duration": -5}, "max_duration"),
    "text-duration": ({"max_duration": "soon"}, "max_duration"),
    "bool-duration": ({"max_duration": True}, "max_duration"),
    "float-duration": ({"max_duration": 1.5}, "max_duration"),
    "huge-duration": ({"max_duration": 10**400}, "max_duration"),
    "year-10000-time": ({"scheduled_time": "9999-12-31T23:59:59-14:00"}, "out of range"),
    "lowercase-node": ({"node": "fpga"}, "'fpga'"),
    "unknown-node": ({"node": "CPU"}, "'CPU'"),
    "list-node": ({"node": ["GPU"]}, "node"),
    "object-node": ({"node": {"GPU": 1}}, "node"),
    "naive-time": ({"scheduled_time": "2025-05-22T12:10:00"}, "time zone"),
    "garbage-time": ({"scheduled_time": "tomorrow"}, "scheduled_time"),
    "number-time": ({"scheduled_time": 1700000000}, "scheduled_time"),
    "port-zero": ({"ports": [0]}, "port"),
    "port-too-big": ({"ports": [65536]}, "port"),
    "port-text": ({"ports": ["80"]}, "ports"),
    "ports-not-list": ({"ports": 80}, "ports"),
    "port-bool": ({"ports": [True]}, "ports"),
    "args-not-list": ({"args": "echo hi"}, "args"),
    "args-not-strings": ({"args": ["ok", 3]}, "args"),
    "envs-not-object": ({"envs": ["A=1"]}, "envs"),
    "envs-nested": ({"envs": {"A": {"b": 1}}}, "envs"),
    "envs-null-value": ({"envs": {"A": None}}, "envs"),
    "envs-bad-name": ({"envs": {"A B": "1"}}, "A B"),
    "command-not-string": ({"command": ["sh", "-c"]}, "command"),
    "namespace-not-bool": ({"namespace": "maybe"}, "namespace"),
    "bad-pod-name": ({"pod_name": "Hey no whitespaces"}, "Hey no whitespaces"),
}


@pytest.mark.parametrize("case", INVALID_RUNS)
def test_invalid_runs_are_400_naming_the_field(em_http, case: str) -> None:
    overrides, named = INVALID_RUNS[case]
    body = {"image": "alpine", "max_duration": 1, "node": "GPU", **overrides}
    response = em_http().post("em/pod/run", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["error"] == "INVALID_PARAMETERS"
    assert named in error["message"]


def test_a_full_run_is_recorded_and_reported(fast: httpx.Client) -> None:
    assert fast.post("em/pod/namespace/create").json() == {
        "message": "Namespace created successfully"
    }
    body = {
        "image": "python:3.11-alpine",
        "node": "GPU",
        "max_duration": 2,
        "command": "/bin/sh -c",
        "args": ["echo testing args $DURATION $SIZE", " > /data/test.txt"],
        "envs": {"DURATION": 60, "SIZE": 1024, "NAME": "x"},
        "ports": [80, 8080],
        "namespace": True,
        "pod_name": "server",
        "scheduled_time": "2025-05-22T12:10:00+02:00",
    }
    assert fast.post("em/pod/run", json=body).status_code == 200
    data = fast.get("em/pod/status", params={"pod_name": "server"}).json()["data"]
    assert data["emulator"] == {
        "pod_name": "server",
        "image": "python:3.11-alpine",
        "node": "GPU",
        "max_duration": 2,
        "scheduled_time": "2025-05-22T12:10:00+02:00",
        "command": "/bin/sh -c",
        "args": body["args"],
        "envs": body["envs"],
        "namespace": True,
        "ports": [80, 8080],
        "addresses": ["client1-server:80", "client1-server:8080"],
    }


def test_form_encoded_runs_are_accepted(fast: httpx.Client) -> None:
    fast.post("em/pod/namespace/create")
    response = fast.post(
        "em/pod/run",
        data={
            "image": "alpine",
            "max_duration": "3",
            "node": "MPU",
            "ports": ["80", "81"],
            "args": ["-c", "true"],
            "envs": '{"A": "1"}',
            "namespace": "true",
            "pod_name": "formed",
            "scheduled_time": "",
            "command": "",
        },
    )
    assert response.status_code == 200, response.text
    report = fast.get("em/pod/status", params={"pod_name": "formed"}).json()["data"]["emulator"]
    assert report["ports"] == [80, 81]
    assert report["args"] == ["-c", "true"]
    assert report["envs"] == {"A": "1"}
    assert report["namespace"] is True
    assert report["max_duration"] == 3
    assert report["command"] is None


def test_namespace_create_twice_fails_and_namespace_runs_need_one(make_emulator, em_http) -> None:
    client = em_http(make_emulator())
    without = _run(client, image="alpine", namespace=True, pod_name="early")
    assert without.status_code == 400
    assert without.json()["error"] == "NAMESPACE_NOT_FOUND"
    assert client.post("em/pod/namespace/create").status_code == 200
    again = client.post("em/pod/namespace/create")
    assert again.status_code == 400
    assert again.json()["error"] == "NAMESPACE_CREATION_FAILED"
    assert _run(client, image="alpine", namespace=True, pod_name="late").status_code == 200


def test_nodes_status(em_http) -> None:
    response = em_http().get("em/nodes/status")
    assert response.status_code == 200
    assert response.json()["data"] == [
        {"name": "fpga", "status": "True"},
        {"name": "gpu", "status": "True"},
        {"name": "mpu1", "status": "True"},
    ]


def test_a_pod_on_a_node_that_is_not_ready_stays_waiting(make_emulator, em_http) -> None:
    client = em_http(make_emulator(not_ready_nodes={"gpu"}, pod_start_delay=0))
    nodes = client.get("em/nodes/status").json()["data"]
    assert {n["name"]: n["status"] for n in nodes} == {
        "fpga": "True",
        "gpu": "False",
        "mpu1": "True",
    }
    assert _run(client, image="alpine", node="GPU", pod_name="stuck").status_code == 200
    time.sleep(0.1)
    assert _status(client, "stuck")["waiting"]["reason"] == "Unschedulable"
    assert _run(client, image="alpine", node="MPU", pod_name="fine").status_code == 200
    assert _wait_for(client, "fine", "running")
