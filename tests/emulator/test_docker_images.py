"""Real image builds and loads on the Docker engine: logs, registry names, owners, arm64, paths."""

from __future__ import annotations

import io
import tarfile

import pytest
from support.images import real_image_tar, tar_bytes

pytestmark = pytest.mark.docker

ONBOARD_BUSYBOX = "fpga.dphi.space:5000/busybox:1.36"


def test_a_failing_build_answers_the_real_log_tail(docker_http, docker_pod: str) -> None:
    em = docker_http()
    dockerfile = (
        f"FROM {ONBOARD_BUSYBOX}\nRUN for i in $(seq 1 150); do echo build line $i; done; exit 3\n"
    ).encode()
    em.uplink({"Dockerfile": dockerfile}, dest="bad", pod=docker_pod)
    before = em.get("em/files/list", params={"pod_name": docker_pod}).json()["data"]
    answer = em.build("bad/Dockerfile", "bad", "bad", pod=docker_pod)
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "BUILD_FAILED"
    tail = body["log_tail"]
    assert len(tail) == 100  # the last 100 lines of a longer log
    assert all(line.endswith("\n") for line in tail)
    assert "build line 150\n" in tail
    assert "build line 1\n" not in tail
    assert "returned a non-zero code: 3" in tail[-1]
    # the user's files are only read: nothing added or rewritten
    assert em.get("em/files/list", params={"pod_name": docker_pod}).json()["data"] == before
    assert "client1-bad" not in em.get("em/pod/image/list").json()["data"]


def test_a_base_image_the_engine_lacks_fails_without_pulling(docker_http, docker_pod) -> None:
    em = docker_http()
    # in the onboard registry's catalogue, but with no offline stand-in
    em.uplink({"Dockerfile": b"FROM fpga.dphi.space:5000/postgres:16\n"}, pod=docker_pod)
    answer = em.build("Dockerfile", ".", "nobase", pod=docker_pod)
    assert answer.status_code == 400
    log = answer.json()["log_tail"]
    assert "postgres:16 has no offline stand-in (a database server)" in "".join(log)
    assert "fpga.dphi.space:5000/postgres:16" in log[-1]
    assert "(nor its local stand-in postgres:16)" in log[-1]  # the local name it looked for
    assert "pulling is off" in log[-1]


def test_dockerignore_and_a_dockerfile_outside_the_context(docker_http, docker_pod) -> None:
    em = docker_http()
    em.uplink(
        {
            "keep.txt": b"kept\n",
            "secret.txt": b"left out\n",
            ".dockerignore": b"# comment\nsecret.txt\n",
        },
        dest="ctx",
        pod=docker_pod,
    )
    dockerfile = f"FROM {ONBOARD_BUSYBOX}\nCOPY . /ctx\n".encode()
    em.uplink({"Dockerfile": dockerfile}, dest="build", pod=docker_pod)
    answer = em.build("build/Dockerfile", "ctx", "ignore-test", pod=docker_pod)
    assert answer.status_code == 200, answer.json()
    em.run("ignore-test", docker_pod, command="/bin/sh -c", args=["ls -A /ctx > /data/seen"])
    assert em.wait(docker_pod)["exitCode"] == 0
    assert em.fetch("seen", docker_pod).content == b".dockerignore\nkeep.txt\n"


def test_paths_leading_out_of_the_volume_are_refused(docker_http, docker_pod: str) -> None:
    em = docker_http()
    em.uplink({"Dockerfile": f"FROM {ONBOARD_BUSYBOX}\n".encode()}, dest="ok", pod=docker_pod)
    for fields in (
        {"dockerfile": "../../../../etc/passwd", "context": "ok"},
        {"dockerfile": "ok/Dockerfile", "context": "../.."},
        {"dockerfile": "ok/%2e%2e/%2e%2e/x", "context": "ok"},
    ):
        answer = em.post(
            "em/pod/image/build", json={**fields, "image": "x", "pod_name": docker_pod}
        )
        assert answer.status_code == 403, (fields, answer.text)
        assert answer.json()["error"] == "ILLEGAL_PATH"
    body = {"tarfile": "../../../etc/passwd", "image": "x", "pod_name": docker_pod}
    answer = em.post("em/pod/image/load", json=body)
    assert answer.status_code == 403, answer.text
    # a leading "/" is the volume's root, as on the EM: /etc/passwd is looked for there
    answer = em.build("/etc/passwd", "ok", "x", pod=docker_pod)
    assert answer.status_code == 400
    assert answer.json()["error"] == "BUILD_FAILED"
    body = {"tarfile": "/etc/passwd", "image": "x", "pod_name": docker_pod}
    assert em.post("em/pod/image/load", json=body).json()["error"] == "IMAGE_LOAD_FAILED"
    # symlinks a pod plants: one to a host folder, one inside a context to a host file
    em.run(
        ONBOARD_BUSYBOX,
        docker_pod,
        command="/bin/sh -c",
        args=["ln -s /etc /data/etc-link; ln -s /etc/passwd /data/ok/leak"],
    )
    em.wait(docker_pod)
    answer = em.build("etc-link/passwd", "ok", "x", pod=docker_pod)
    assert answer.status_code == 403
    answer = em.build("etc-link/passwd", "etc-link", "x", pod=docker_pod)
    assert answer.status_code == 403
    em.uplink(
        {"Dockerfile": f"FROM {ONBOARD_BUSYBOX}\nCOPY leak /leak\n".encode()}, "ok", docker_pod
    )
    answer = em.build("ok/Dockerfile", "ok", "leak", pod=docker_pod)
    # the link travels as a link: COPY resolves it inside the context, where it leads nowhere
    assert answer.status_code == 400
    assert not any("root:" in line for line in answer.json()["log_tail"])


def test_images_are_listed_and_run_only_by_their_owner(docker_http, docker_pod: str) -> None:
    one, two = docker_http(), docker_http(username="client2")
    one.uplink({"Dockerfile": f"FROM {ONBOARD_BUSYBOX}\n".encode()}, pod=docker_pod)
    assert one.build("Dockerfile", ".", "mine", pod=docker_pod).status_code == 200
    assert "client1-mine" in one.get("em/pod/image/list").json()["data"]
    assert "client1-mine" not in two.get("em/pod/image/list").json()["data"]
    two.run("client1-mine", docker_pod, command="true")
    waiting = two.wait(docker_pod, until="ImagePullBackOff")
    assert "client1-mine" in waiting["message"]
    # nor can another user build on it
    two.uplink({"Dockerfile": b"FROM client1-mine\n"}, pod=docker_pod)
    answer = two.build("Dockerfile", ".", "theirs", pod=docker_pod)
    assert answer.status_code == 400
    assert "pull access denied for client1-mine" in answer.json()["log_tail"][-1]
    # its owner runs it by its short name
    one.run("mine", docker_pod, command="true")
    assert one.wait(docker_pod)["exitCode"] == 0
    assert one.status(docker_pod)["emulator"]["image"] == "client1-mine"


def test_load_a_docker_save_tar(docker_http, docker_client, busybox_image, docker_pod) -> None:
    em = docker_http()
    image = docker_client.images.get(busybox_image)
    loadme = f"dphi-em-test/loadme-{docker_pod}"  # the engine's tags are shared: this test's own
    image.tag(loadme, "v1")
    try:
        saved = b"".join(docker_client.api.get_image(f"{loadme}:v1"))
    finally:
        docker_client.images.remove(f"{loadme}:v1")
    em.uplink({"loadme.tar": saved}, pod=docker_pod)
    wrong = {"tarfile": "loadme.tar", "image": "other:v1", "pod_name": docker_pod}
    answer = em.post("em/pod/image/load", json=wrong)
    assert answer.status_code == 400
    assert answer.json()["error"] == "IMAGE_LOAD_FAILED"
    body = {"tarfile": "loadme.tar", "image": f"{loadme}:v1", "pod_name": docker_pod}
    answer = em.post("em/pod/image/load", json=body)
    assert answer.status_code == 200, answer.text
    assert f"client1-{loadme}:v1" in em.get("em/pod/image/list").json()["data"]
    # the tar's own name was not in the engine before, and is not left there
    assert not docker_client.images.list(name=loadme)
    em.run(f"{loadme}:v1", docker_pod, command="/bin/sh -c", args=["echo ok > /data/o"])
    assert em.wait(docker_pod)["exitCode"] == 0
    assert em.fetch("o", docker_pod).content == b"ok\n"
    # a tar whose layers are missing: the engine's own message
    with tarfile.open(fileobj=io.BytesIO(real_image_tar("broken:1", "amd64"))) as complete:
        members = {m.name: complete.extractfile(m).read() for m in complete if m.isfile()}
    del members["l/layer.tar"]
    em.uplink({"broken.tar": tar_bytes(members, mode=0o755)}, pod=docker_pod)
    body = {"tarfile": "broken.tar", "image": "broken:1", "pod_name": docker_pod}
    answer = em.post("em/pod/image/load", json=body)
    assert answer.status_code == 400
    assert answer.json()["log_tail"]


def test_require_arch_refuses_what_cg2_cannot_run(
    make_docker_em, docker_http, docker_leftovers, docker_pod
) -> None:
    server = make_docker_em(require_arch="arm64")
    if server.emulator.engine.arch != "amd64":
        pytest.skip("builds here must make amd64 images")
    em = docker_http(server)
    em.uplink({"Dockerfile": f"FROM {ONBOARD_BUSYBOX}\n".encode()}, pod=docker_pod)
    answer = em.build("Dockerfile", ".", "amd", pod=docker_pod)
    assert answer.status_code == 400
    assert "linux/amd64" in answer.json()["log_tail"][-1]
    assert "arm64" in answer.json()["log_tail"][-1]
    em.uplink(
        {"amd.tar": real_image_tar("amd:1", "amd64"), "arm.tar": real_image_tar("arm:1", "arm64")}
    )
    answer = em.post("em/pod/image/load", json={"tarfile": "amd.tar", "image": "amd:1"})
    assert answer.status_code == 400
    assert "linux/amd64" in answer.json()["log_tail"][-1]
    answer = em.post("em/pod/image/load", json={"tarfile": "arm.tar", "image": "arm:1"})
    assert answer.status_code == 200, answer.text
    assert em.get("em/pod/image/list").json()["data"] == ["client1-arm:1"]
    # a public image of the wrong architecture: the pod fails as on the EM
    em.run(ONBOARD_BUSYBOX, docker_pod, command="true")
    terminated = em.wait(docker_pod)
    assert (terminated["exitCode"], terminated["reason"]) == (1, "Error")
    assert "exec format error" in terminated["message"]
    instance = server.emulator.engine.instance
    server.stop()
    assert docker_leftovers(instance) == []  # the loaded arm64 image is gone too


def test_without_require_arch_a_local_image_runs_with_a_warning(
    docker_em, docker_http, docker_pod
) -> None:
    if docker_em.emulator.engine.arch == "arm64":
        pytest.skip("the engine runs arm64 images: no warning to give")
    em = docker_http()
    em.run(ONBOARD_BUSYBOX, docker_pod, command="true")
    em.wait(docker_pod)
    warnings = em.status(docker_pod)["emulator"]["warnings"]
    assert any("linux/amd64" in warning and "arm64" in warning for warning in warnings)
