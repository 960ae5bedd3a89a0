"""The seed's four examples on real pods: each produces its files, downlinked byte-exact.

Simple operations with a build, pod volumes, inter-pod communication in a namespace, and env
and args; each as the vendor's walkthrough does it, and where the walkthrough's own call would
write nothing on the EM (a shell line in `command` without a shell), the emulator writes
nothing either.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

pytestmark = pytest.mark.docker

DOCKERFILE = b"""FROM fpga.dphi.space:5000/busybox:1.36
COPY echo-test.sh /echo-test.sh
RUN chmod +x /echo-test.sh
CMD ["/echo-test.sh"]
"""
SCRIPT = b"""#!/bin/sh
echo "echo-test ran with SIZE=$SIZE" > /data/echo-test.txt
"""


def _build_echo_test(em, pod=None) -> None:
    em.uplink({"Dockerfile": DOCKERFILE, "echo-test.sh": SCRIPT}, dest="echo-test", pod=pod)
    answer = em.build("./echo-test/Dockerfile", "./echo-test", "echo-test", pod=pod)
    assert answer.status_code == 200, answer.json()


def test_simple_operations(docker_http, docker_pod: str) -> None:
    em = docker_http()
    _build_echo_test(em, docker_pod)
    assert "client1-echo-test" in em.get("em/pod/image/list").json()["data"]

    # run on FPGA with the image's own command
    em.run("echo-test", docker_pod, envs={"SIZE": 1024})
    assert em.wait(docker_pod)["exitCode"] == 0
    assert em.fetch("echo-test.txt", docker_pod).content == b"echo-test ran with SIZE=1024\n"

    # the walkthrough's GPU run puts a shell line in `command`: split into argv, `echo` prints
    # "123 > /data/gpu-downlink.txt" and writes no file, on the EM as here
    em.run("echo-test", docker_pod, node="GPU", command="echo 123 > /data/gpu-downlink.txt")
    assert em.wait(docker_pod)["exitCode"] == 0
    assert em.fetch("gpu-downlink.txt", docker_pod).status_code == 404
    log = em.get("em/emulator/pod/log", params={"pod_name": docker_pod})
    assert log.text == "123 > /data/gpu-downlink.txt\n"
    # with a shell it does
    em.run(
        "echo-test",
        docker_pod,
        node="GPU",
        command="/bin/sh -c",
        args=["echo 123 > /data/gpu-downlink.txt"],
    )
    assert em.wait(docker_pod)["exitCode"] == 0
    assert em.fetch("gpu-downlink.txt", docker_pod).content == b"123\n"
    assert em.status(docker_pod)["emulator"]["node"] == "GPU"

    # scheduled a (scaled) minute ahead, with the walkthrough's quoted `sh -c "..."`
    at = datetime.now(timezone(timedelta(hours=2))) + timedelta(minutes=1)
    em.run(
        "echo-test",
        docker_pod,
        scheduled_time=at.isoformat(),
        command='sh -c "date > /data/time.txt"',
    )
    assert em.state(docker_pod)["waiting"]["reason"] == "ContainerCreating"
    assert em.wait(docker_pod)["reason"] == "Completed"
    written = em.fetch("time.txt", docker_pod)
    assert written.status_code == 200
    assert written.content.strip()  # `date` output, e.g. "Wed Dec  2 06:10:00 UTC 2026"

    # the uplinked files come back byte for byte; deleting works on what pods wrote
    assert em.fetch("echo-test/echo-test.sh", docker_pod).content == SCRIPT
    for path in ("gpu-downlink.txt", "time.txt", "echo-test.txt", "echo-test"):
        answer = em.post("em/files/delete", json={"filepath": path, "pod_name": docker_pod})
        assert answer.status_code == 200, answer.text
    assert em.get("em/files/list", params={"pod_name": docker_pod}).json()["data"] == []


def test_pod_volumes(docker_http, docker_pod: str) -> None:
    em = docker_http()
    text = "echo 'Is this the final frontier?' > /data/hello-space.txt"
    em.run(ONBOARD, docker_pod, max_duration=30, command="/bin/sh -c", args=[text])
    assert em.wait(docker_pod)["exitCode"] == 0
    assert em.fetch("hello-space.txt", docker_pod).content == b"Is this the final frontier?\n"
    # another pod name is another volume: a pod there sees none of it
    other = docker_pod + "-b"
    em.run(ONBOARD, other, command="/bin/sh -c", args=["ls -A /data > /data/seen.txt"])
    em.wait(other)
    assert em.fetch("seen.txt", other).content == b"seen.txt\n"
    assert em.fetch("hello-space.txt").status_code == 404  # nor the default volume
    # files uplinked to a pod's volume are what its next pod reads
    em.uplink({"hello-world.txt": b"Hello, world!\n"}, pod=docker_pod)
    em.run(ONBOARD, docker_pod, command="/bin/sh -c", args=["rev /data/hello-world.txt > /data/r"])
    em.wait(docker_pod)
    assert em.fetch("r", docker_pod).content == b"!dlrow ,olleH\n"


ONBOARD = "fpga.dphi.space:5000/busybox:1.36"


def test_pod_intercommunication_in_a_namespace(docker_http, docker_pod: str) -> None:
    em = docker_http(username="client2")
    created = em.post("em/pod/namespace/create")
    assert created.status_code in (200, 400), created.text  # once per user and session
    server, client = docker_pod + "-server", docker_pod + "-client"
    page = b"<h1>hello from the server pod</h1>\n"
    em.uplink({"index.html": page}, pod=server)
    em.run(
        ONBOARD,
        server,
        max_duration=30,
        namespace=True,
        ports=[80],
        command="httpd -f -p 80 -h /data",
    )
    em.wait(server, until="running")
    address = f"client2-{server}:80"
    fetch = (  # the server may still be starting to listen: a few tries
        f"for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O /data/server-data.txt {address}/ "
        "&& break; sleep 0.3; done"
    )
    em.run(ONBOARD, client, namespace=True, command="/bin/sh -c", args=[fetch])
    assert em.wait(client)["exitCode"] == 0
    assert em.fetch("server-data.txt", client).content == page
    # (a November pod outside a namespace has no network: test_docker_networking.py)
    # the server is stopped at its max_duration (30 scaled minutes): stop it now by replacing it
    em.run(ONBOARD, server, command="true")
    assert em.wait(server)["exitCode"] == 0


def test_env_and_args(docker_http, docker_pod: str) -> None:
    em = docker_http()
    _build_echo_test(em, docker_pod)
    envs = {"DURATION": 60, "SIZE": 1024}
    em.run(
        "echo-test",
        docker_pod,
        command="/bin/sh -c",
        args=["echo testing args $DURATION $SIZE > /data/test.txt"],
        envs=envs,
    )
    assert em.wait(docker_pod)["exitCode"] == 0
    assert em.fetch("test.txt", docker_pod).content == b"testing args 60 1024\n"
    # the walkthrough's own call passes the redirection as a second argument: `sh -c` takes it
    # as $0, the text goes to the console, and no file is written
    em.run(
        "echo-test",
        docker_pod,
        command="/bin/sh -c",
        args=["echo testing args $DURATION $SIZE", " > /data/test2.txt"],
        envs=envs,
    )
    assert em.wait(docker_pod)["exitCode"] == 0
    assert em.fetch("test2.txt", docker_pod).status_code == 404
    log = em.get("em/emulator/pod/log", params={"pod_name": docker_pod})
    assert log.text == "testing args 60 1024\n"


def test_a_scheduled_pod_starts_on_time(docker_http, docker_pod: str) -> None:
    em = docker_http()
    asked = time.time()
    at = datetime.fromtimestamp(asked, timezone.utc) + timedelta(minutes=2)  # 2 s, scaled
    em.run(
        ONBOARD,
        docker_pod,
        scheduled_time=at.isoformat(),
        command="/bin/sh -c",
        args=["date +%s > /data/t"],
    )
    waiting = em.state(docker_pod)["waiting"]
    assert waiting["reason"] == "ContainerCreating"
    assert "Scheduled to start at" in waiting["message"]
    em.wait(docker_pod)
    started = int(em.fetch("t", docker_pod).content)
    assert started >= int(asked + 2)  # not before its (scaled) time
