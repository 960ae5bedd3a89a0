"""Pods as real containers: exit codes, max_duration, missing images, containment, restarts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dphi_em_emulator._docker._pods import POD_CAPABILITIES

pytestmark = pytest.mark.docker

ONBOARD_BUSYBOX = "fpga.dphi.space:5000/busybox:1.36"
LABEL_EMULATOR = "space.dphi.em.emulator"
LABEL_POD = "space.dphi.em.pod"


def _containers(client, server, pod: str) -> list:
    instance = server.emulator.engine.instance
    labels = [f"{LABEL_EMULATOR}={instance}", f"{LABEL_POD}={pod}"]
    return client.containers.list(all=True, filters={"label": labels})


def test_a_crashing_pod_reports_its_exit_code(docker_http, docker_pod: str) -> None:
    em = docker_http()
    em.run(ONBOARD_BUSYBOX, docker_pod, command="/bin/sh -c", args=["echo dying >&2; exit 7"])
    terminated = em.wait(docker_pod)
    assert (terminated["exitCode"], terminated["reason"]) == (7, "Error")
    assert terminated["startedAt"].endswith("Z")
    assert terminated["finishedAt"].endswith("Z")
    assert terminated["startedAt"] <= terminated["finishedAt"]
    assert em.get("em/emulator/pod/log", params={"pod_name": docker_pod}).text == "dying\n"


def test_a_command_that_does_not_exist_fails_to_start(docker_http, docker_pod: str) -> None:
    em = docker_http()
    em.run(ONBOARD_BUSYBOX, docker_pod, command="no-such-program --flag")
    terminated = em.wait(docker_pod)
    assert (terminated["exitCode"], terminated["reason"]) == (128, "StartError")
    assert "no-such-program" in terminated["message"]


def test_a_pod_over_max_duration_is_stopped_then_killed(docker_http, docker_pod: str) -> None:
    em = docker_http()
    # PID 1 ignores SIGTERM unless it handles it: `sleep` is killed after the grace period
    em.run(ONBOARD_BUSYBOX, docker_pod, max_duration=1, command="sleep 600")
    assert "startedAt" in em.wait(docker_pod, until="running")
    terminated = em.wait(docker_pod, timeout=30)
    assert (terminated["exitCode"], terminated["reason"]) == (137, "Error")
    assert terminated["message"].startswith("DeadlineExceeded: max_duration (1 min) reached")
    assert "killed (SIGKILL)" in terminated["message"]


def test_a_pod_that_handles_sigterm_stops_gracefully(
    make_docker_em, docker_http, docker_pod: str
) -> None:
    em = docker_http(make_docker_em(stop_grace=600))  # 10 s to react: never killed here
    script = "trap 'echo bye > /data/bye; exit 0' TERM; while true; do sleep 0.1; done"
    em.run(ONBOARD_BUSYBOX, docker_pod, max_duration=1, command="/bin/sh -c", args=[script])
    terminated = em.wait(docker_pod, timeout=30)
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert "stopped (SIGTERM)" in terminated["message"]
    assert "SIGKILL" not in terminated["message"]
    assert em.fetch("bye", docker_pod).content == b"bye\n"


def test_a_missing_image_backs_off(docker_http, docker_pod: str) -> None:
    em = docker_http()
    em.run("echo-test12", docker_pod)
    waiting = em.wait(docker_pod, until="ImagePullBackOff")
    assert waiting["message"].startswith('Back-off pulling image "client1-echo-test12"')
    assert "ErrImagePull" in waiting["message"]
    assert "--pull is off" in waiting["message"]
    assert "waiting" in em.state(docker_pod)  # for good


def test_wait_for_pod_against_real_pods(docker_em, docker_pod: str) -> None:
    from dphi_em import EMClient, PodFailedError

    with EMClient(docker_em.url, "client1", docker_em.users["client1"]) as em:
        em.run(
            ONBOARD_BUSYBOX,
            pod_name=docker_pod,
            max_duration=1,
            command="/bin/sh -c",
            args=["sleep 0.3; echo done > /data/done"],
        )
        running = em.wait_for_pod(docker_pod, until="running", timeout=30, poll_interval=0.1)
        assert running.kind in ("running", "terminated")
        finished = em.wait_for_pod(docker_pod, until="terminated", timeout=30, poll_interval=0.1)
        assert (finished.kind, finished.exit_code) == ("terminated", 0)
        assert em.files_list(pod_name=docker_pod)  # the pod's file is there
        em.run("no-such-image", pod_name=docker_pod, max_duration=1)
        with pytest.raises(PodFailedError, match=r"ErrImagePull|ImagePullBackOff"):
            em.wait_for_pod(docker_pod, until="running", timeout=30, poll_interval=0.1)


def test_a_new_run_replaces_the_pod_of_the_same_name(
    docker_em, docker_client, docker_http, docker_pod
) -> None:
    em = docker_http()
    em.run(ONBOARD_BUSYBOX, docker_pod, max_duration=30, command="sleep 600")
    em.wait(docker_pod, until="running")
    (first,) = _containers(docker_client, docker_em, docker_pod)
    em.run(ONBOARD_BUSYBOX, docker_pod, command="/bin/sh -c", args=["echo second > /data/who"])
    assert em.wait(docker_pod)["exitCode"] == 0
    assert em.fetch("who", docker_pod).content == b"second\n"
    assert first.id not in {c.id for c in docker_client.containers.list(all=True)}
    assert _containers(docker_client, docker_em, docker_pod) == []  # finished ones are removed


def test_pods_are_contained(docker_em, docker_client, docker_http, docker_pod) -> None:
    em = docker_http(username="client2")
    em.post("em/pod/namespace/create")  # once per user and session: 200, or 400 when done
    for pod, namespace in ((docker_pod, False), (docker_pod + "-ns", True)):
        em.run(ONBOARD_BUSYBOX, pod, max_duration=30, namespace=namespace, command="sleep 600")
        em.wait(pod, until="running")
        (container,) = _containers(docker_client, docker_em, pod)
        host = container.attrs["HostConfig"]
        assert host["Privileged"] is False
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["PidsLimit"] == docker_em.config.pod_pids
        assert host["Memory"] == docker_em.config.pod_memory
        # every capability dropped, then only what pods need given back (issue 16)
        assert host["CapDrop"] == ["ALL"]
        assert set(host["CapAdd"]) == set(POD_CAPABILITIES)
        assert not {"MKNOD", "SETFCAP", "FSETID", "NET_RAW"} & set(host["CapAdd"])
        assert not host.get("PortBindings")
        mounts = {mount["Destination"]: mount for mount in container.attrs["Mounts"]}
        volume = Path(docker_em.config.data_dir).resolve() / "volumes" / "client2" / pod
        source = Path(mounts.pop("/data")["Source"])
        if os.geteuid() == 0:  # a short-lived nosuid,nodev view of the volume (issue 16)
            assert source.parent == volume.parents[2] / "mounts"
        else:
            assert source == volume
        # `both` mode: a run without `namespace=true` follows January's rule and joins the
        # user's loopback namespace too (November's "none": test_docker_networking.py)
        assert host["NetworkMode"].startswith("container:")
        assert mounts.pop("/etc/hosts")["RW"] is False
        assert mounts == {}  # nothing else of the host
        em.run(ONBOARD_BUSYBOX, pod, command="true")  # replace: stops it now
        em.wait(pod)


def test_files_a_pod_writes_as_another_uid_are_manageable(docker_http, docker_pod) -> None:
    em = docker_http()
    dockerfile = f"FROM {ONBOARD_BUSYBOX}\nUSER 1234:1234\n".encode()
    em.uplink({"Dockerfile": dockerfile}, dest="uid", pod=docker_pod)
    assert em.build("uid/Dockerfile", "uid", "uid-test", pod=docker_pod).status_code == 200
    script = (
        "mkdir /data/sub && echo s3cret > /data/sub/f && chmod 600 /data/sub/f "
        "&& chmod 700 /data/sub && id -u > /data/whoami"
    )
    em.run("uid-test", docker_pod, command="/bin/sh -c", args=[script])
    assert em.wait(docker_pod)["exitCode"] == 0
    if os.geteuid() == 0:  # an emulator run by root keeps the image's user
        assert em.fetch("whoami", docker_pod).content == b"1234\n"
    assert em.fetch("sub/f", docker_pod).content == b"s3cret\n"
    tree = em.get("em/files/list", params={"pod_name": docker_pod}).json()["data"]
    assert "sub" in {node["name"] for node in tree}
    answer = em.post("em/files/delete", json={"filepath": "sub", "pod_name": docker_pod})
    assert answer.status_code == 200, answer.text
    assert em.fetch("sub/f", docker_pod).status_code == 404


def test_an_oom_killed_pod_says_so(make_docker_em, docker_http, docker_pod) -> None:
    em = docker_http(make_docker_em(pod_memory=16 * 1024 * 1024))
    em.run(ONBOARD_BUSYBOX, docker_pod, command="dd if=/dev/zero of=/dev/null bs=64M count=1")
    terminated = em.wait(docker_pod)
    assert (terminated["exitCode"], terminated["reason"]) == (137, "OOMKilled")


def test_a_pod_killed_by_a_signal_is_not_called_oom_killed(docker_http, docker_pod) -> None:
    # a process SIGKILLed (its shell exits 137) is no OOM kill: neither engine nor kernel says so
    em = docker_http()
    em.run(
        ONBOARD_BUSYBOX,
        docker_pod,
        command="/bin/sh -c",
        args=["sleep 600 & kill -KILL $!; wait $!"],
    )
    terminated = em.wait(docker_pod)
    assert (terminated["exitCode"], terminated["reason"]) == (137, "Error")


def test_the_console_log_stays_out_of_the_volume(docker_em, docker_http, docker_pod) -> None:
    em = docker_http()
    em.run(ONBOARD_BUSYBOX, docker_pod, command="/bin/sh -c", args=["echo to the console"])
    em.wait(docker_pod)
    assert "console" in em.status(docker_pod)["emulator"]
    log = em.get("em/emulator/pod/log", params={"pod_name": docker_pod})
    assert (log.status_code, log.text) == (200, "to the console\n")
    assert em.get("em/files/list", params={"pod_name": docker_pod}).json()["data"] == []
    kept = Path(docker_em.config.data_dir) / "logs" / "client1" / f"{docker_pod}.log"
    assert kept.read_text() == "to the console\n"
    missing = em.get("em/emulator/pod/log", params={"pod_name": docker_pod + "-never"})
    assert missing.status_code == 404


def test_a_restarted_emulator_picks_up_its_pods(
    make_docker_em, docker_client, docker_http, tmp_path, docker_pod
) -> None:
    data_dir = tmp_path / "restart"
    first = make_docker_em(data_dir=data_dir, on_stop="keep-pods")
    em = docker_http(first)
    em.run(ONBOARD_BUSYBOX, docker_pod, max_duration=30, command="sleep 600")
    em.wait(docker_pod, until="running")
    em.run(ONBOARD_BUSYBOX, "later", scheduled_time="2100-01-01T00:00:00+00:00", command="true")
    first.stop()
    (kept,) = _containers(docker_client, first, docker_pod)
    assert kept.status == "running"  # keep-pods: still running without the emulator

    second = make_docker_em(data_dir=data_dir, on_stop="remove-pods")
    assert second.emulator.engine.instance == first.emulator.engine.instance
    em = docker_http(second)
    assert em.state(docker_pod) == {"running": em.state(docker_pod)["running"]}
    assert em.state("later")["waiting"]["reason"] == "ContainerCreating"
    second.stop()  # remove-pods: the running pod is stopped and removed
    assert _containers(docker_client, second, docker_pod) == []

    third = make_docker_em(data_dir=data_dir)  # purges at the end of the test
    terminated = docker_http(third).wait(docker_pod)
    assert terminated["message"] == "stopped with the emulator"


def test_special_files_a_pod_makes_never_block_the_emulator(docker_http, docker_pod) -> None:
    em = docker_http()
    script = (
        "mkfifo /data/fifo /data/Dockerfile /data/image.tar; mkdir /data/ctx; mkfifo /data/ctx/f"
    )
    em.run(ONBOARD_BUSYBOX, docker_pod, command="/bin/sh -c", args=[script])
    assert em.wait(docker_pod)["exitCode"] == 0
    answer = em.fetch("fifo", docker_pod)
    assert (answer.status_code, answer.json()["error"]) == (400, "INVALID_PATH")
    answer = em.build("Dockerfile", "ctx", "fifo-test", pod=docker_pod)
    assert (answer.status_code, answer.json()["error"]) == (400, "BUILD_FAILED")
    body = {"tarfile": "image.tar", "image": "x", "pod_name": docker_pod}
    answer = em.post("em/pod/image/load", json=body)
    assert (answer.status_code, answer.json()["error"]) == (400, "IMAGE_LOAD_FAILED")
    # a context holding a FIFO builds: the FIFO is left out
    em.uplink({"Dockerfile": f"FROM {ONBOARD_BUSYBOX}\nCOPY . /ctx\n".encode()}, "ctx", docker_pod)
    assert em.build("ctx/Dockerfile", "ctx", "fifo-test", pod=docker_pod).status_code == 200
    names = {
        node["name"]
        for node in em.get("em/files/list", params={"pod_name": docker_pod}).json()["data"]
    }
    assert "fifo" not in names  # listings show regular files and folders only
