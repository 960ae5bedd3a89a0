"""Issue 20 with real pods: a failed pod's reason is visible (`pod_logs`, `dphi-em logs`, the
last lines on exit 10), one failure rule for `wait`, the emulator's warnings in `status`, and
the StartError hint when an uplinked file is run as a program."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dphi_em import EMClient, PodFailedError
from dphi_em.cli import app

pytestmark = pytest.mark.docker

ONBOARD_BUSYBOX = "fpga.dphi.space:5000/busybox:1.36"
POLL = {"timeout": 60, "poll_interval": 0.1}


def _cli(server: Any, *args: str) -> Any:
    env = {
        "DPHI_EM_URL": server.url,
        "DPHI_EM_USERNAME": "client1",
        "DPHI_EM_PASSWORD": server.users["client1"],
    }
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def test_a_failed_pods_reason_is_visible_and_wait_has_one_rule(docker_em, docker_pod) -> None:
    with EMClient(docker_em.url, "client1", docker_em.users["client1"]) as em:
        em.run(
            ONBOARD_BUSYBOX,
            pod_name=docker_pod,
            command="/bin/sh -c",
            args=["echo step 1; echo 'cannot open /data/input.csv' >&2; exit 5"],
        )
        with pytest.raises(PodFailedError, match=r"ended with exit code 5 \(Error\)") as info:
            em.wait_for_pod(docker_pod, until="terminated", **POLL)
        assert info.value.state.exit_code == 5
        final = em.pod(docker_pod).wait(until="terminated", check=False, **POLL)
        assert (final.kind, final.exit_code) == ("terminated", 5)
        logs = em.pod_logs(docker_pod)  # stdout and stderr, in the order the engine kept
        assert sorted(logs.splitlines()) == ["cannot open /data/input.csv", "step 1"]
        assert em.pod(docker_pod).logs() == em.pod_logs(docker_pod)

        em.run("no-such-image", pod_name=docker_pod)  # cannot start: the same rule
        stuck = em.wait_for_pod(docker_pod, check=False, **POLL)
        assert (stuck.kind, stuck.reason) in {
            ("waiting", "ErrImagePull"),
            ("waiting", "ImagePullBackOff"),
        }
        with pytest.raises(PodFailedError, match="cannot start"):
            em.wait_for_pod(docker_pod, until="terminated", **POLL)


def test_cli_logs_and_the_last_lines_on_exit_10(docker_em, docker_pod) -> None:
    failed = _cli(
        docker_em,
        "run",
        ONBOARD_BUSYBOX,
        "--pod",
        docker_pod,
        "--command",
        "/bin/sh -c",
        "--arg",
        "echo 'missing /data/model.bin' >&2; exit 3",
        "--wait=terminated",
    )
    assert failed.exit_code == 10, failed.output
    assert "ended with exit code 3" in failed.stderr
    assert "last 1 console line(s)" in failed.stderr
    assert "missing /data/model.bin" in failed.stderr
    shown = _cli(docker_em, "logs", "--pod", docker_pod)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == "missing /data/model.bin\n"


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="an amd64 engine")
def test_status_carries_the_emulators_warnings(docker_em, docker_pod) -> None:
    with EMClient(docker_em.url, "client1", docker_em.users["client1"]) as em:
        em.run(ONBOARD_BUSYBOX, pod_name=docker_pod, command="/bin/true")
        state = em.wait_for_pod(docker_pod, until="terminated", **POLL)
    assert any("linux/amd64" in w and "arm64" in w for w in state.warnings)
    status = _cli(docker_em, "status", "--pod", docker_pod)
    assert status.exit_code == 0, status.output
    assert "warning: " in status.stderr
    assert "linux/amd64" in status.stderr


def test_an_uplinked_script_run_as_a_program_hints_at_chmod(
    docker_em, docker_pod, tmp_path: Path
) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)  # executable here: the uplink does not keep it
    with EMClient(docker_em.url, "client1", docker_em.users["client1"]) as em:
        em.uplink([script], "", docker_pod)
        em.run(ONBOARD_BUSYBOX, pod_name=docker_pod, command="/data/run.sh")
        with pytest.raises(PodFailedError) as info:
            em.wait_for_pod(docker_pod, until="terminated", **POLL)
    assert "StartError" in str(info.value)
    assert "RUN chmod +x" in str(info.value)
