"""`dphi-em` image, pod, node and namespace commands against the emulator."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from support.cli import one_error_line, runner_for
from support.images import image_tar_file


@pytest.fixture
def built_image(cli: Any, tmp_path: Path, pod_name: str) -> tuple[str, str]:
    """An image built from a Dockerfile uplinked to `pod_name`'s volume: (image, pod)."""
    folder = tmp_path / "echo-test"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM fpga.dphi.space:5000/alpine:3.19\nCOPY . /app\n")
    (folder / "echo-test.sh").write_text("echo hi > /data/out.txt\n")
    assert cli("uplink", str(folder), "--pod", pod_name, "-q").exit_code == 0
    image = f"img-{pod_name}"
    result = cli("image", "build", "echo-test/Dockerfile", "--image", image, "--pod", pod_name)
    assert result.exit_code == 0, result.output
    assert f"Built image {image}" in result.stdout
    return image, pod_name


def test_image_build_ls_and_run_wait(
    cli: Any, built_image: tuple[str, str], em_http: Any, read_method: str
) -> None:
    image, pod = built_image
    listed = cli("image", "ls", "--json")
    assert listed.exit_code == 0
    # listed by the name it was built as; the EM's stored name only in --json
    assert {"name": image, "full_name": f"client1-{image}"} in json.loads(listed.stdout)
    assert image in cli("image", "ls").stdout.splitlines()
    assert f"client1-{image}" not in cli("image", "ls").stdout

    result = cli(
        "run", image, "--pod", pod, "--node", "GPU", "--max-duration", "2",
        "--command", "/bin/sh -c", "--arg", "echo $SIZE > /data/x", "--env", "SIZE=1024",
        "--env", "EMPTY=", "--wait",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Scheduled {image} on GPU as pod '{pod}'" in result.stdout
    assert "running" in result.stdout.splitlines()[-1] or "terminated" in result.stdout
    # what reached the server (the emulator records the run beside the pod's state)
    recorded = (
        em_http().request(read_method, "em/pod/status", params={"pod_name": pod}).json()["data"]
    )
    assert {k: recorded["emulator"][k] for k in ("node", "max_duration", "command", "args")} == {
        "node": "GPU",
        "max_duration": 2,
        "command": "/bin/sh -c",
        "args": ["echo $SIZE > /data/x"],
    }
    assert recorded["emulator"]["envs"] == {"SIZE": "1024", "EMPTY": ""}


def test_run_wait_fails_for_a_pod_that_ended_with_an_error(
    make_emulator: Any, tmp_path: Path
) -> None:
    # a minute lasts 6 microseconds, far less than one request takes: the first poll after
    # the run always sees the pod terminated
    server = make_emulator(time_scale=10_000_000.0, pod_start_delay=0.0)
    cli = runner_for(server.url, server.username, server.password)
    args = ["run", "alpine", "--pod", "crashes", "--wait", "--env"]
    failed = cli(*args, "DPHI_EM_EMULATOR_EXIT_CODE=3")
    assert failed.exit_code == 10, failed.output
    assert "ended with exit code 3 (Error)" in one_error_line(failed, alone=False)
    fine = cli(*args, "DPHI_EM_EMULATOR_EXIT_CODE=0")
    assert fine.exit_code == 0, fine.output
    assert "terminated" in fine.stdout


def test_image_build_failure_shows_log_tail(cli: Any, pod_name: str) -> None:
    result = cli("image", "build", "missing/Dockerfile", "--image", "nope", "--pod", pod_name)
    assert result.exit_code == 7
    line = one_error_line(result, alone=False)
    assert "image build failed" in line
    assert "BUILD_FAILED" in line
    assert "--- log tail ---" in result.stderr
    assert 'path "missing" not found' in result.stderr


def test_image_load(cli: Any, tmp_path: Path, pod_name: str) -> None:
    tar = tmp_path / "img.tar"
    image_tar_file(tar, "loaded:latest")
    assert cli("uplink", str(tar), "--pod", pod_name, "-q").exit_code == 0
    ok = cli("image", "load", "img.tar", "--image", "loaded", "--pod", pod_name)
    assert ok.exit_code == 0, ok.output
    assert "Loaded image loaded" in ok.stdout
    bad = cli("image", "load", "img.tar", "--image", "other", "--pod", pod_name)
    assert bad.exit_code == 7
    assert "image load failed" in one_error_line(bad, alone=False)
    assert "not 'other'" in bad.stderr


def test_run_public_image_with_ports_namespace_and_status(make_emulator: Any) -> None:
    server = make_emulator()
    cli = runner_for(server.url, "client2", "secret2")
    created = cli("namespace", "create")
    assert created.exit_code == 0, created.output
    again = cli("namespace", "create")
    assert again.exit_code == 1
    assert "already exists" in one_error_line(again, alone=False)

    result = cli(
        "run", "python:3.11-alpine", "--pod", "server", "--namespace", "--port", "80",
        "--port", "8080", "--command", "python -m http.server 80", "--max-duration", "5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    status = cli("status", "--pod", "server", "--json")
    assert status.exit_code == 0
    doc = json.loads(status.stdout)
    assert doc["pod"] == "server"
    assert doc["kind"] in ("waiting", "running")
    assert set(doc) >= {"kind", "reason", "message", "started_at", "finished_at", "exit_code"}
    human = cli("status", "--pod", "server")
    assert human.stdout.startswith("pod 'server': ")


def test_run_wait_on_a_missing_image_fails_with_the_reason(cli: Any, pod_name: str) -> None:
    result = cli("run", "no-such-image", "--pod", pod_name, "--wait", "--timeout", "30")
    assert result.exit_code == 10
    assert "ImagePullBackOff" in one_error_line(result, alone=False)


def test_status_watch_until_terminated(cli: Any, pod_name: str) -> None:
    run = cli("run", "alpine:latest", "--pod", pod_name, "--max-duration", "1")
    assert run.exit_code == 0, run.output
    watched = cli("status", "--pod", pod_name, "--watch", "--interval", "0.2")
    assert watched.exit_code == 0, watched.output
    lines = watched.stdout.strip().splitlines()
    assert "terminated" in lines[-1]
    assert "exit code 0" in lines[-1]
    as_json = cli("status", "--pod", pod_name, "--watch", "--json", "--interval", "0.2")
    docs = [json.loads(line) for line in as_json.stdout.strip().splitlines()]
    assert docs[-1]["kind"] == "terminated"
    assert docs[-1]["exit_code"] == 0


def test_status_of_an_unknown_pod_is_not_found(cli: Any, pod_name: str) -> None:
    result = cli("status", "--pod", pod_name)
    assert result.exit_code == 4
    assert pod_name in one_error_line(result, alone=False)


def test_run_at_relative_and_absolute_times(cli: Any, pod_name: str) -> None:
    result = cli("run", "alpine:latest", "--pod", pod_name, "--at", "+1m")
    assert result.exit_code == 0, result.output
    assert " at " in result.stdout
    later = dt.datetime.now(dt.timezone(dt.timedelta(hours=2))) + dt.timedelta(minutes=2)
    result = cli("run", "alpine:latest", "--pod", pod_name, "--at", later.isoformat())
    assert result.exit_code == 0, result.output


def test_nodes(cli: Any) -> None:
    human = cli("nodes")
    assert human.exit_code == 0
    assert human.stdout.splitlines()[0].split() == ["NODE", "KIND", "STATE", "STATUS"]
    data = json.loads(cli("nodes", "--json").stdout)
    assert [n["name"] for n in data] == ["fpga", "gpu", "mpu1"]
    assert all(set(n) == {"name", "kind", "ready", "status"} for n in data)
    # the kind shown for a node is what run --node takes
    assert {n["name"]: n["kind"] for n in data} == {"fpga": "fpga", "gpu": "gpu", "mpu1": "mpu"}
    assert "mpu1  mpu" in human.stdout


def test_nodes_not_ready(make_emulator: Any) -> None:
    server = make_emulator(not_ready_nodes=frozenset({"gpu"}))
    cli = runner_for(server.url, "client1", "secret")
    data = json.loads(cli("--json", "nodes").stdout)
    assert {n["name"]: n["ready"] for n in data} == {"fpga": True, "gpu": False, "mpu1": True}
    assert "not ready" in cli("nodes").stdout
