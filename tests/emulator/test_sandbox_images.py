"""Issue 16, items 1, 2, 3 and 8: one user's images never reach another, whatever the name.

client2 ("bob") builds `secretimg` and loads `rt-bobload`, both holding his secret; client1
("alice") tries every way the engine would resolve a name to them. Ownership is by image ID,
so each is refused as if the image did not exist, and nothing of bob's reaches alice's volume.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from dphi_em_emulator import EmulatorConfig
from support.images import layered_image_tar, tar_bytes
from support.standins import ONBOARD_BUSYBOX

pytestmark = pytest.mark.docker

SECRET = b"bob-s3cret\n"


def image_tar(tags: list[str], payload: bytes, extra_manifests: list[list[str]] = ()) -> bytes:
    """A `docker save` tar of a busybox image holding `/secret` = `payload`, named `tags`;
    each of `extra_manifests` adds one more `manifest.json` entry naming the same image."""
    files = {"bin/busybox": Path("/bin/busybox").read_bytes(), "secret": payload}
    return layered_image_tar(
        tags,
        files,
        cmd=["/bin/busybox", "cat", "/secret"],
        extra_manifests=extra_manifests,
    )


def _load(em: Any, pod: str, tar: bytes, image: str) -> Any:
    em.uplink({"image.tar": tar}, pod=pod)
    return em.post(
        "em/pod/image/load", json={"tarfile": "image.tar", "image": image, "pod_name": pod}
    )


def pull_failure(em: Any, pod: str) -> dict[str, Any]:
    """Wait until the pod is past creating; return its `waiting` state (or fail)."""
    deadline = time.monotonic() + 60
    while True:
        state = em.state(pod)
        reason = state.get("waiting", {}).get("reason")
        if reason in ("ErrImagePull", "ImagePullBackOff") or "waiting" not in state:
            assert reason is not None, f"{pod} started: {state}"
            detail: dict[str, Any] = state["waiting"]
            return detail
        assert time.monotonic() < deadline, f"{pod}: still {state}"
        time.sleep(0.1)


def _denied(em: Any, pod: str, image: str) -> None:
    """A pod of `image` never starts: ErrImagePull, worded as for an image that is not there."""
    em.run(image, pod, command="/bin/busybox cp /secret /data/stolen")
    waiting = pull_failure(em, pod)
    assert "pull access denied" in waiting["message"], (image, waiting)
    assert em.fetch("stolen", pod).status_code == 404


def test_another_users_images_cannot_be_run_or_built_from(
    docker_em, docker_http, docker_client, docker_pod: str
) -> None:
    alice, bob = docker_http(username="client1"), docker_http(username="client2")
    dockerfile = f"FROM {ONBOARD_BUSYBOX}\nCOPY secret /secret\n".encode()
    bob.uplink({"Dockerfile": dockerfile, "secret": SECRET}, dest="s", pod=docker_pod)
    assert bob.build("s/Dockerfile", "s", "secretimg", pod=docker_pod).status_code == 200
    loaded = _load(bob, docker_pod, image_tar(["rt-bobload:latest"], SECRET), "rt-bobload")
    assert loaded.status_code == 200, loaded.text
    built_id = docker_client.images.get("client2-secretimg").id
    loaded_id = docker_client.images.get("client2-rt-bobload").id
    # bob's own images are his: his pod reads the secret
    bob.run("rt-bobload", docker_pod, command="/bin/busybox cp /secret /data/mine")
    assert bob.wait(docker_pod)["exitCode"] == 0
    assert bob.fetch("mine", docker_pod).content == SECRET

    refs = [
        "fpga.dphi.space:5000/client2-secretimg",
        "docker.io/library/client2-rt-bobload:latest",
        "client2-secretimg",
        built_id,
        loaded_id,
        loaded_id.removeprefix("sha256:")[:12],
    ]
    for number, ref in enumerate(refs):
        _denied(alice, f"{docker_pod}-a{number}", ref)

    builds = {
        "arg": "ARG B=client2-secretimg\nFROM $B\n",
        "arg-braces": "ARG B=secretimg\nFROM client2-${B}\n",
        "copy-from": f"FROM {ONBOARD_BUSYBOX}\nCOPY --from=client2-secretimg /secret /s\n",
        "onboard": "FROM fpga.dphi.space:5000/client2-secretimg\n",
        "library": "FROM docker.io/library/client2-rt-bobload\n",
        "by-id": f"FROM {loaded_id}\n",
        "escape": "# escape=`\nFROM `\n# a comment inside the continuation\n client2-secretimg\n",
    }
    for name, text in builds.items():
        alice.uplink({"Dockerfile": text.encode()}, dest=name, pod=docker_pod)
        answer = alice.build(f"{name}/Dockerfile", name, f"steal-{name}", pod=docker_pod)
        assert answer.status_code == 400, (name, answer.text)
        assert answer.json()["error"] == "BUILD_FAILED"
        assert "pull access denied" in answer.json()["log_tail"][-1], (name, answer.json())
    # an ONBUILD trigger of alice's own base image runs in her next build: checked too
    trigger = f"FROM {ONBOARD_BUSYBOX}\nONBUILD COPY --from=client2-secretimg /secret /s\n"
    alice.uplink({"Dockerfile": trigger.encode()}, dest="trigger", pod=docker_pod)
    assert alice.build("trigger/Dockerfile", "trigger", "base", pod=docker_pod).status_code == 400
    assert "client1-steal-arg" not in alice.get("em/pod/image/list").json()["data"]


def test_a_load_cannot_take_over_another_name(
    docker_em, docker_http, docker_client, docker_pod: str
) -> None:
    alice, bob = docker_http(username="client1"), docker_http(username="client2")
    loaded = _load(bob, docker_pod, image_tar(["app:latest"], b"bob's app\n"), "app")
    assert loaded.status_code == 200, loaded.text
    bob_app = docker_client.images.get("client2-app").id
    instance = docker_em.emulator.engine.instance
    # a namespace pod makes the pause image; its ID is the one the emulator recorded
    bob.post("em/pod/namespace/create")
    bob.run("app", docker_pod + "-b0", namespace=True)
    assert bob.wait(docker_pod + "-b0")["exitCode"] == 0
    pause = docker_client.images.get(f"dphi-em-pause:{instance}").id

    # two manifest.json entries: the emulator would check one, the engine load the other
    others = ["client2-app:latest", f"dphi-em-pause:{instance}"]
    hijack = image_tar(["evil:latest"], b"alice's code\n", [others])
    answer = _load(alice, docker_pod, hijack, "evil")
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "IMAGE_LOAD_FAILED"
    assert "manifest.json more than once" in answer.json()["log_tail"][-1]
    # names the tar carries besides the one asked for go back to what they named
    sneaky = image_tar(["evil:latest", *others], b"alice's code\n")
    assert _load(alice, docker_pod, sneaky, "evil").status_code == 200
    assert docker_client.images.get("client2-app").id == bob_app
    assert docker_client.images.get(f"dphi-em-pause:{instance}").id == pause
    assert "client2-app" in bob.get("em/pod/image/list").json()["data"]
    bob.run("app", docker_pod + "-b1", namespace=True)
    assert bob.wait(docker_pod + "-b1")["exitCode"] == 0
    log = bob.get("em/emulator/pod/log", params={"pod_name": docker_pod + "-b1"})
    assert log.content == b"bob's app\n"


def test_user_names_cannot_collide_in_image_names(
    make_docker_em, docker_http, tmp_path: Path, docker_pod: str
) -> None:
    # `team` building `b-app` and `team-b` building `app` would both write `team-b-app`
    with pytest.raises(ValueError, match="no '-'"):
        EmulatorConfig(data_dir=tmp_path / "x", users={"team": "p1", "team-b": "p2"})
    server = make_docker_em(users={"team": "p1", "teamb": "p2"})
    team, teamb = docker_http(server, "team"), docker_http(server, "teamb")
    team.uplink({"Dockerfile": f"FROM {ONBOARD_BUSYBOX}\n".encode()}, pod=docker_pod)
    assert team.build("Dockerfile", ".", "b-app", pod=docker_pod).status_code == 200
    teamb.run("app", docker_pod)
    assert "No such image" in pull_failure(teamb, docker_pod)["message"]


def test_a_deeply_nested_manifest_is_a_400(docker_http, docker_pod: str) -> None:
    em = docker_http(username="client2")
    deep = b"[" * 100_000 + b"]" * 100_000
    em.uplink({"deep.tar": tar_bytes({"manifest.json": deep})}, pod=docker_pod)
    answer = em.post(
        "em/pod/image/load", json={"tarfile": "deep.tar", "image": "x", "pod_name": docker_pod}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "IMAGE_LOAD_FAILED"
    assert "nested too deeply" in answer.json()["log_tail"][-1]
