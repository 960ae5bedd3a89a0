"""Base images a newcomer can run, on real pods: the onboard registry's catalogue and the
offline stand-ins (`images prepare`), arm64 where the machine runs it, as on CG2.

The stand-ins are made at most once per engine through the public `images prepare` (the
session fixture `standin`), and kept for the next run: no test removes them.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest
from support.images import layered_image_tar
from support.standins import ONBOARD_BUSYBOX, images_command

pytestmark = pytest.mark.docker

BINFMT_AARCH64 = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")


def _runs_arm64() -> bool:
    if platform.machine() in ("aarch64", "arm64"):
        return True
    try:
        return BINFMT_AARCH64.read_text().splitlines()[0] == "enabled"
    except (OSError, IndexError):
        return False


def test_images_list_shows_what_the_engine_has(standin) -> None:
    busybox = standin("busybox:latest", "amd64")
    listing = images_command("list", "--json", "--arch", "amd64")
    assert listing.returncode == 0, listing.stderr
    rows = {row["name"]: row for row in json.loads(listing.stdout)["images"]}
    assert len(rows) == 135
    # every busybox and alpine tag is served by the one busybox-static root file system
    for name in ("busybox:musl", "alpine:3.19"):
        row = rows[f"fpga.dphi.space:5000/{name}"]
        if row["has"] == "stand-in":  # (else another user of the engine put a real one there)
            assert row["id"] == busybox
            assert "busybox-static" in row["detail"]
    postgres = rows["fpga.dphi.space:5000/postgres:16"]
    assert postgres["has"] == "nothing"
    assert "no offline stand-in (a database server)" in postgres["detail"]
    assert "--pull" in postgres["detail"]
    jetson = rows["fpga.dphi.space:5000/l4t-pytorch-r36-4-0:latest"]
    assert "NVIDIA L4T/CUDA" in jetson["detail"]


def test_a_from_outside_the_catalogue_fails_before_any_build_step(docker_http, docker_pod) -> None:
    em = docker_http()
    dockerfile = b"FROM fpga.dphi.space:5000/python:3.13-slim\nRUN echo built > /built\n"
    em.uplink({"Dockerfile": dockerfile}, pod=docker_pod)
    answer = em.build("Dockerfile", ".", "outside", pod=docker_pod)
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "BUILD_FAILED"
    log = "".join(body["log_tail"])
    assert (
        "fpga.dphi.space:5000/python:3.13-slim: not in the onboard registry; closest: "
        "python:3.12-slim, python:3.11-slim" in log
    )
    assert "Step 1/" not in log
    assert "built" not in log


def test_a_run_outside_the_catalogue_waits_in_err_image_pull(docker_http, docker_pod) -> None:
    em = docker_http()
    em.run("redis:7", docker_pod)
    waiting = em.wait(docker_pod, until="ErrImagePull")
    assert waiting["message"].startswith("redis:7: not in the onboard registry; closest: ")
    assert "redis:7-alpine" in waiting["message"]


def test_any_image_and_a_catalogue_file(make_docker_em, docker_http, tmp_path, docker_pod) -> None:
    catalogue = tmp_path / "catalogue.tsv"
    catalogue.write_text("name\ttag\tversion_when_listed\nredis\t7\t7.4\n")
    em = docker_http(make_docker_em(catalogue=catalogue))
    em.run("redis:7-alpine", docker_pod)
    assert "closest: redis:7" in em.wait(docker_pod, until="ErrImagePull")["message"]
    em.run("redis:7", docker_pod)  # listed now: only the engine lacks it (and no stand-in)
    message = em.wait(docker_pod, until="ErrImagePull")["message"]
    assert "not in the onboard registry" not in message
    assert "redis:7 has no offline stand-in (a database server)" in message
    anything = docker_http(make_docker_em(any_image=True))
    anything.run("redis:6.0", docker_pod)
    message = anything.wait(docker_pod, until="ErrImagePull")["message"]
    assert "closest:" not in message  # not refused: only missing from the engine
    assert message.startswith("No such image: redis:6.0")
    assert "--pull is off" in message


MAIN = b"""import json, platform, sys
with open("/data/in.json") as source:
    numbers = json.load(source)["numbers"]
result = {"sum": sum(numbers), "count": len(numbers), "python": sys.version.split()[0]}
with open("/data/out.json", "w") as target:
    json.dump(result, target, sort_keys=True)
"""


def test_a_python_dockerfile_from_the_onboard_registry_runs_on_its_stand_in(
    standin, docker_http, docker_pod
) -> None:
    standin("python:3.12-alpine")
    standin("busybox:latest")
    em = docker_http()
    dockerfile = (
        b"FROM fpga.dphi.space:5000/python:3.12-alpine\n"
        b"COPY main.py /app/main.py\n"
        b'RUN python3 -c "import requests, zipfile, shutil"\n'
        b'CMD ["python3", "/app/main.py"]\n'
    )
    em.uplink({"Dockerfile": dockerfile, "main.py": MAIN}, dest="job", pod=docker_pod)
    numbers = list(range(1, 101))
    em.uplink({"in.json": json.dumps({"numbers": numbers}).encode()}, pod=docker_pod)
    answer = em.build("job/Dockerfile", "job", "py-job", pod=docker_pod)
    assert answer.status_code == 200, answer.text
    em.run("py-job", docker_pod, max_duration=30)
    assert em.wait(docker_pod, timeout=300)["exitCode"] == 0
    expected = json.dumps({"count": 100, "python": "3.11.2", "sum": 5050}, sort_keys=True)
    assert em.fetch("out.json", docker_pod).content == expected.encode()
    # a run of the catalogue name itself says it runs a stand-in
    em.run("python:3.12-alpine", docker_pod, max_duration=30, command="python3 -c pass")
    assert em.wait(docker_pod, timeout=300)["exitCode"] == 0
    warnings = em.status(docker_pod)["emulator"]["warnings"]
    assert any("is a local stand-in (Debian bookworm's python3 3.11" in w for w in warnings)


@pytest.mark.skipif(not _runs_arm64(), reason="no qemu-aarch64 binfmt_misc handler enabled")
def test_an_arm64_python_pod_under_require_arch(
    standin, make_docker_em, docker_http, docker_pod
) -> None:
    standin("python:3.12-alpine", "arm64")
    em = docker_http(make_docker_em(require_arch="arm64"))
    script = "import platform; open('/data/machine', 'w').write(platform.machine())"
    # (30 scaled minutes: python under qemu takes seconds to start on a busy machine)
    em.run("python:3.12-alpine", docker_pod, max_duration=30, command="python3 -c", args=[script])
    assert em.wait(docker_pod, timeout=300)["exitCode"] == 0
    assert em.fetch("machine", docker_pod).content == b"aarch64"
    assert em.status(docker_pod)["emulator"]["architecture"] == "arm64"
    # an amd64 image is still refused
    em.run(ONBOARD_BUSYBOX, docker_pod, command="true")
    refused = em.wait(docker_pod)
    assert refused["exitCode"] != 0
    assert "exec format error" in refused["message"]


def test_a_stand_in_made_on_first_need_says_so(
    standin, make_docker_em, docker_http, tmp_path, docker_pod
) -> None:
    standin("busybox:latest", "amd64")  # the same recipe: made again, from the engine's cache
    server = make_docker_em(require_arch="amd64", standin_record=tmp_path / "standins.json")
    em = docker_http(server)
    em.run("busybox:musl", docker_pod, command="/bin/sh -c", args=["echo ok > /data/ok"])
    assert em.wait(docker_pod, timeout=300)["exitCode"] == 0
    assert em.fetch("ok", docker_pod).content == b"ok\n"
    warnings = em.status(docker_pod)["emulator"]["warnings"]
    assert any(
        w.startswith("standing in for busybox:musl with Debian's busybox-static") for w in warnings
    ), warnings
    assert any("is a local stand-in" in w for w in warnings)
    assert (tmp_path / "standins.json").is_file()


def _impostor_tar(tag: str) -> bytes:
    """A `docker save` tar of an arm64 image holding one file, named `tag` (its layer is its
    own: the engine shares no layer with another test's images)."""
    return layered_image_tar(
        [tag], {"impostor": f"not {tag}\n".encode()}, arch="arm64", cmd=["/impostor"]
    )


def test_a_user_cannot_take_over_a_stand_in(standin, docker_http, docker_client, docker_pod):
    python = standin("python:3.12-alpine")
    tag = docker_client.images.get(python).tags
    assert any(t.startswith("dphi-em-standin:bookworm-python3-") for t in tag)
    two = docker_http(username="client2")
    for name in (tag[0], "fpga.dphi.space:5000/python:3.12-alpine", "python:3.12-alpine"):
        two.uplink({"mine.tar": _impostor_tar(name)}, pod=docker_pod)
        body = {"tarfile": "mine.tar", "image": name, "pod_name": docker_pod}
        answer = two.post("em/pod/image/load", json=body)
        assert answer.status_code == 200, answer.text  # loaded as client2-<name>, no more
    assert docker_client.images.get(tag[0]).id == python
    for name in ("fpga.dphi.space:5000/python:3.12-alpine", "python:3.12-alpine"):
        if docker_client.images.list(name=name):  # (tagged by an earlier build or run)
            assert docker_client.images.get(name).id == python
    # another user's run of the catalogue name still gets the stand-in
    one = docker_http()
    script = "import platform; open('/data/m', 'w').write(platform.machine())"
    one.run("python:3.12-alpine", docker_pod, max_duration=30, command="python3 -c", args=[script])
    assert one.wait(docker_pod, timeout=300)["exitCode"] == 0
    assert (
        one.status(docker_pod)["emulator"]["architecture"]
        == docker_client.images.get(python).attrs["Architecture"]
    )
    warnings = one.status(docker_pod)["emulator"]["warnings"]
    assert any("is a local stand-in (Debian bookworm's python3 3.11" in w for w in warnings)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "amd64"), reason="an amd64 host's case")
def test_without_an_arm64_handler_stand_ins_say_so_and_nothing_is_made(
    monkeypatch, tmp_path, capsys
) -> None:
    """A fresh machine without qemu-user-static: `list` says stand-ins are amd64 and why;
    `prepare --arch arm64` fails naming the package, before anything is made or recorded."""
    import docker
    from dphi_em_emulator import _images_command, _standins

    monkeypatch.setattr(_standins, "runs_arm64", lambda: False)
    record = tmp_path / "standins.json"
    engine = docker.from_env()
    try:
        before = {
            image.id for image in engine.images.list(filters={"label": _standins.LABEL_STANDIN})
        }
        assert _images_command.main(["list", "--standin-record", str(record)]) == 0
        listed = capsys.readouterr().out
        assert "stand-ins for linux/amd64 (stand-ins are amd64, not CG2's arm64" in listed
        assert "qemu-user-static" in listed

        code = _images_command.main(
            ["prepare", "--arch", "arm64", "busybox:latest", "--standin-record", str(record)]
        )
        refused = capsys.readouterr()
        assert code == 1
        assert "busybox:latest: this machine can't run arm64 programs" in refused.err
        assert "apt-get install qemu-user-static" in refused.err
        assert not record.exists()
        after = {
            image.id for image in engine.images.list(filters={"label": _standins.LABEL_STANDIN})
        }
        assert after == before
    finally:
        engine.close()
