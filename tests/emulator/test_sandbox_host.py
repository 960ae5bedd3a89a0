"""Issue 16, items 5, 6 and 10: pods and faults never reach the host or the other users.

- a pod cannot leave a set-user-ID root program or a device node for the host's users;
- a full data dir (a small tmpfs) fails no other user's call and ends no supervisor: service
  comes back when space is freed, and a stop on a full disk still removes everything;
- SIGTERM stops the command as Ctrl-C does: what `--on-stop` says is removed.

Mounting a tmpfs and running a program as another user need root: elsewhere those tests skip.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.docker

ONBOARD_BUSYBOX = "fpga.dphi.space:5000/busybox:1.36"
LABEL_EMULATOR = "space.dphi.em.emulator"


def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (mount a tmpfs, run a program as another user)")


@pytest.fixture
def open_data_dir() -> Iterator[Path]:
    """A data dir every local user may traverse (as a careless set-up would make one)."""
    _needs_root()
    folder = Path(tempfile.mkdtemp(prefix="dphi-em-open-"))
    folder.chmod(0o755)
    yield folder / "data"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB tmpfs."""
    _needs_root()
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, timeout=30)


def test_a_pod_leaves_no_setuid_program_or_device_for_the_host(
    open_data_dir: Path, make_docker_em, docker_http, docker_pod: str
) -> None:
    server = make_docker_em(data_dir=open_data_dir)
    alice = docker_http(server, "client1")
    plant = (
        "cp /bin/busybox /data/sh; chown 0:0 /data/sh; chmod 4755 /data/sh; "
        "mknod /data/null c 1 3; grep ' /data ' /proc/mounts > /data/mounts; true"
    )
    alice.run(ONBOARD_BUSYBOX, docker_pod, command="/bin/sh -c", args=[plant])
    assert alice.wait(docker_pod)["exitCode"] == 0
    # inside the pod, /data was nosuid,nodev (the emulator mounts as root here)
    mount_options = alice.fetch("mounts", docker_pod).text.split()[3].split(",")
    assert {"nosuid", "nodev"} <= set(mount_options), mount_options
    volume = open_data_dir / "volumes" / "client1" / docker_pod
    planted = volume / "sh"
    # no device node (no CAP_MKNOD), no set-user-ID bit left on the program
    assert not (volume / "null").exists()
    assert not planted.stat().st_mode & (stat.S_ISUID | stat.S_ISGID)
    # and an unprivileged local user gets no root through it
    try:
        ran = subprocess.run(
            [str(planted), "sh", "-c", "id -u"],
            user=65534,
            group=65534,
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert ran.stdout.strip() != "0", ran
    except PermissionError:
        pass  # the data dir is the emulator's alone: not even reachable


def _full(path: Path) -> bool:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize < 1024 * 1024


def _wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_full_disk_fails_no_other_user_and_service_comes_back(
    tiny_disk: Path, make_docker_em, docker_http, docker_leftovers, docker_pod: str
) -> None:
    server = make_docker_em(data_dir=tiny_disk / "data")
    instance = server.emulator.engine.instance
    alice, bob = docker_http(server, "client1"), docker_http(server, "client2")
    fill = "dd if=/dev/zero of=/data/fill bs=1M count=100; sleep 600"
    alice.run(ONBOARD_BUSYBOX, docker_pod, command="/bin/sh -c", args=[fill], max_duration=30)
    _wait_for(lambda: _full(tiny_disk), "the disk to fill")

    # bob, another user: his calls answer (no 500), his pod waits for space
    bob.run(ONBOARD_BUSYBOX, "bob", command="/bin/sh -c", args=["echo hi > /data/out"])
    for _ in range(3):
        assert "state" in bob.status("bob")
    alice_state = alice.state(docker_pod)
    assert "running" in alice_state, alice_state

    # space freed: bob's pod runs by itself (the supervisor lived on)
    deleted = alice.post("em/files/delete", data={"filepath": "fill", "pod_name": docker_pod})
    assert deleted.status_code == 200, deleted.text
    assert bob.wait("bob")["exitCode"] == 0
    assert bob.fetch("out", "bob").content == b"hi\n"

    # full again, then stopped: nothing of the instance is left in the engine
    bob.run(ONBOARD_BUSYBOX, "bob2", command="/bin/sh -c", args=[fill], max_duration=30)
    _wait_for(lambda: _full(tiny_disk), "the disk to fill again")
    bob.wait("bob2", until="running")
    server.stop()
    assert docker_leftovers(instance) == []


def _serve(data_dir: Path, base: str, *options: str) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "dphi_em_emulator", "--port", "0", "--pods", "docker"]
    command += ["--data-dir", str(data_dir), "--time-scale", "60", *options]
    # the onboard busybox is the stand-in (a name no test makes would pass only while another
    # emulator of the run has the onboard name tagged in the engine)
    command += ["--registry-map", f"{ONBOARD_BUSYBOX}={base}"]
    command += ["--user", "client1:secret", "--user", "client2:secret2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().split()[-1]
    assert url.startswith("http://127.0.0.1:"), (url, process.stderr and process.stderr.read())
    return process, url


def _login(url: str, user: str, password: str) -> httpx.Client:
    answer = httpx.post(f"{url}auth/", data={"username": user, "password": password}, timeout=30)
    assert answer.status_code == 200, answer.text
    headers = {"Authorization": f"Bearer {answer.json()['access']}"}
    return httpx.Client(base_url=url, headers=headers, timeout=120)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("on_stop", ["remove-pods", "purge"])
def test_a_stop_by_signal_removes_what_on_stop_says(
    signum: int, on_stop: str, tmp_path: Path, docker_client, docker_leftovers, busybox_image: str
) -> None:
    data_dir = tmp_path / "data"
    process, url = _serve(data_dir, busybox_image, "--on-stop", on_stop)
    instance = json.loads((data_dir / "state" / "docker.json").read_text())["instance"]
    try:
        with _login(url, "client1", "secret") as alice, _login(url, "client2", "secret2") as bob:
            dockerfile = f"FROM {ONBOARD_BUSYBOX}\n".encode()
            files = [("files", ("Dockerfile", dockerfile))]
            assert alice.post("em/files/uplink", files=files).status_code == 200
            # a name of its own: engine tags are shared by every emulator on the engine
            own = f"own-{instance}"
            body = {"dockerfile": "Dockerfile", "context": ".", "image": own}
            built = alice.post("em/pod/image/build", json=body)
            assert built.status_code == 200, built.text
            assert alice.post("em/pod/namespace/create").status_code == 200
            for client, pod in ((alice, "server"), (bob, "done")):
                command = "sleep 300" if pod == "server" else "true"
                run = {"image": ONBOARD_BUSYBOX, "max_duration": 30, "pod_name": pod}
                run.update(namespace=pod == "server", command=command)
                assert client.post("em/pod/run", json=run).status_code == 200

            def server_runs() -> bool:
                status = alice.get("em/pod/status", params={"pod_name": "server"})
                return "running" in status.json()["data"]["state"]

            _wait_for(server_runs, "the namespace pod to run")
        process.send_signal(signum)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()
    left = docker_leftovers(instance)
    built = docker_client.images.list(filters={"label": f"{LABEL_EMULATOR}={instance}"})
    try:
        assert not [thing for thing in left if not thing.startswith("image ")], left
        if on_stop == "purge":
            assert left == []
        else:  # remove-pods keeps the images: alice's build (and the pause image)
            assert {tag for image in built for tag in image.tags} >= {f"client1-{own}:latest"}
    finally:
        for image in built:
            docker_client.images.remove(image.id, force=True)
