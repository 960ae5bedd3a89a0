"""The engine from the command line: which engine runs pods, said at start; `run --wait`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support.standins import ONBOARD_BUSYBOX

pytestmark = pytest.mark.docker

NO_ENGINE = "unix:///nonexistent/docker.sock"


def _serve(tmp_path: Path, *options: str, docker_host: str | None = None) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    command = [sys.executable, "-m", "dphi_em_emulator", "--port", "0"]
    command += ["--data-dir", str(tmp_path / "data"), "--user", "client1:secret", *options]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _startup_lines(process: subprocess.Popen) -> list[str]:
    assert process.stdout is not None
    lines = []
    while not lines or not lines[-1].startswith("pods: "):
        line = process.stdout.readline()
        assert line, f"no 'pods:' line in {lines}; stderr: {process.stderr.read()}"
        lines.append(line)
    return lines


def _stop(process: subprocess.Popen, url: str) -> int:
    # once it answers, uvicorn serves (and handles Ctrl-C): the socket listens before
    httpx.post(f"{url}auth/", data={"username": "client1", "password": "secret"}, timeout=30)
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()
    return code


def test_auto_falls_back_to_simulated_and_says_why(tmp_path: Path) -> None:
    process = _serve(tmp_path, docker_host=NO_ENGINE)
    lines = _startup_lines(process)
    try:
        assert lines[-1].startswith(
            "pods: simulated (nothing runs): no Docker engine: none answers"
        )
        assert NO_ENGINE in lines[-1]
    finally:
        assert _stop(process, lines[0].split()[-1]) == 0


def test_docker_without_an_engine_is_an_error(tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": NO_ENGINE}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dphi_em_emulator",
            "--data-dir",
            str(tmp_path),
            "--user",
            "a:b",
            "--pods",
            "docker",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--pods docker: no Docker engine: none answers at" in result.stderr


def test_auto_takes_the_engine_and_cleans_up_on_ctrl_c(
    tmp_path: Path, docker_leftovers, busybox_image: str
) -> None:
    registry = f"--registry-map={ONBOARD_BUSYBOX}={busybox_image}"
    process = _serve(tmp_path, "--time-scale", "60", "--on-stop", "purge", registry)
    lines = _startup_lines(process)
    url = lines[0].split()[-1]
    try:
        assert lines[-1].startswith("pods: docker (Docker ")
        assert "pulls nothing" in lines[-1]
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "DPHI_EM_URL": url,
            "DPHI_EM_USERNAME": "client1",
            "DPHI_EM_PASSWORD": "secret",
        }
        dphi_em = [sys.executable, "-m", "dphi_em"]
        run = [*dphi_em, "run", ONBOARD_BUSYBOX, "--pod", "cli", "--wait", "--timeout", "60"]
        ok = subprocess.run(
            [*run, "--command", "/bin/sh -c", "--arg", "sleep 0.5; echo hi > /data/hi"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ok.returncode == 0, ok.stderr
        missing = subprocess.run(
            [*dphi_em, "run", "no-such-image", "--pod", "cli2", "--wait", "--timeout", "60"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert missing.returncode != 0
        assert "ErrImagePull" in missing.stderr or "ImagePullBackOff" in missing.stderr
    finally:
        assert _stop(process, url) == 0
    instance = json.loads((tmp_path / "data/state/docker.json").read_text())["instance"]
    assert docker_leftovers(instance) == []


def test_dphi_em_emulator_with_a_throwaway_data_dir_purges_its_images(
    tmp_path: Path, docker_client, docker_leftovers, busybox_image: str
) -> None:
    """`dphi-em emulator` without --data-dir deletes its data dir at exit: the images it built
    go too (`--on-stop purge`), not only its pods."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DPHI_EM_")}
    env["HOME"] = str(tmp_path)
    command = [sys.executable, "-m", "dphi_em", "emulator", "--port", "0"]
    command += ["--user", "client1:secret", "--", "--pods", "docker"]
    command += [f"--registry-map={ONBOARD_BUSYBOX}={busybox_image}"]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = _startup_lines(process)
    url = lines[0].split()[-1]
    image = f"throwaway-{os.getpid()}"
    try:
        assert lines[-1].startswith("pods: docker (")
        token = httpx.post(
            f"{url}auth/", data={"username": "client1", "password": "secret"}, timeout=30
        ).json()["access"]
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as em:
            dockerfile = f"FROM {ONBOARD_BUSYBOX}\nRUN echo built > /built\n".encode()
            uplink = em.post("em/files/uplink", files=[("files", ("Dockerfile", dockerfile))])
            assert uplink.status_code == 200, uplink.text
            body = {"dockerfile": "Dockerfile", "context": ".", "image": image}
            build = em.post("em/pod/image/build", json=body)
            assert build.status_code == 200, build.text
        built = docker_client.images.get(f"client1-{image}")
        instance = built.labels["space.dphi.em.emulator"]
    finally:
        assert _stop(process, url) == 0
    assert docker_leftovers(instance) == []
    assert not docker_client.images.list(name=f"client1-{image}")
