"""Fixtures for the emulator's Docker engine tests (`-m docker`).

Fixtures:
    docker_client (session): a Docker SDK client of the engine at `DOCKER_HOST` or the default
        socket. When none answers, the tests that use it skip with the reason, or fail under
        `CI=true` (CI must run them: `.ci/run` starts an engine).
    standin (session): `standin(name, arch=None) -> image id`: the offline stand-in of an
        onboard registry image (`busybox:latest`, `python:3.12-alpine`), made through the
        emulator's public `python -m dphi_em_emulator images prepare` at most once per engine
        (the stand-ins and their record, `STANDIN_RECORD`, outlive the test run; no test
        removes them). Needs mmdebstrap and, for arm64, qemu-user-static (`.ci/run`).
    busybox_image (session): the id of the amd64 busybox stand-in (Debian's busybox-static,
        `FROM scratch`): the base the tests map `fpga.dphi.space:5000/busybox:1.36` to.
    docker_em (session): an `EmulatorServer` with `pods="docker"`, users `client1:secret` and
        `client2:secret2`, pod minutes lasting a second (`time_scale=60`), and the onboard
        registry's `fpga.dphi.space:5000/busybox:1.36` mapped to `busybox_image`. Stopped with
        `on_stop="purge"`; its teardown fails when anything labelled with its instance is
        left in the engine (containers, images, volumes, networks: only its own, for other emulators
        share the engine).
    make_docker_em (function): a factory `make_docker_em(**overrides) -> EmulatorServer` for
        an emulator of its own (same defaults; pass the same `data_dir` to restart one).
        Each is stopped (and checked for leftovers) at the end of the test.
    docker_http (function): `docker_http(server=None, username="client1") -> EMCalls`: an
        `httpx.Client` logged in to `server` (default: `docker_em`) with a few shorthands
        for the calls the tests repeat (`uplink`, `build`, `run`, `state`, `wait`, `fetch`),
        in the revision a `2026-01` emulator speaks when `server` is one.
    docker_pod (function): a fresh pod name (so a fresh volume).
    docker_leftovers (function): `docker_leftovers(instance) -> list[str]`, the containers,
        images, volumes and networks an emulator instance left in the engine.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dphi_em_emulator import EmulatorConfig, EmulatorServer
from support.standins import ONBOARD_BUSYBOX, STANDIN_RECORD, images_command

DOCKER_USERS = {"client1": "secret", "client2": "secret2"}
LABEL_EMULATOR = "space.dphi.em.emulator"


def _no_engine(reason: str) -> None:
    message = f"no Docker engine: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI must run the engine tests: .ci/run starts dockerd)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    try:
        import docker
    except ImportError as exc:
        _no_engine(f"the Docker SDK is not installed ({exc})")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        _no_engine(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    yield client
    client.close()


@pytest.fixture(scope="session")
def standin(docker_client: Any) -> Callable[..., str]:
    made: dict[tuple[str, str | None], str] = {}

    def prepare(name: str, arch: str | None = None) -> str:
        if (name, arch) not in made:
            options = ["--arch", arch] if arch else []
            proc = images_command("prepare", "--json", *options, name, timeout=1800)
            if proc.returncode != 0:
                _no_engine(f"could not prepare a stand-in for {name}: {proc.stderr.strip()}")
            listing = proc.stdout[proc.stdout.index("\n[") + 1 :]
            made[(name, arch)] = json.loads(listing)[0]["id"]
        return made[(name, arch)]

    return prepare


@pytest.fixture(scope="session")
def busybox_image(standin: Callable[..., str]) -> str:
    return standin("busybox:latest", "amd64")


def leftovers(client: Any, instance: str) -> list[str]:
    """What the emulator instance left in the engine: containers, images, volumes and networks
    (it makes none of the last two: its pods' namespaces are containers on no network)."""
    selector = {"label": f"{LABEL_EMULATOR}={instance}"}
    found = [f"container {c.name}" for c in client.containers.list(all=True, filters=selector)]
    found += [f"image {i.id}" for i in client.images.list(all=True, filters=selector)]
    found += [f"volume {v.name}" for v in client.volumes.list(filters=selector)]
    found += [f"network {n.name}" for n in client.networks.list(filters=selector)]
    return found


def _config(tmp: Path, base: str, **overrides: Any) -> EmulatorConfig:
    options: dict[str, Any] = {
        "data_dir": tmp,
        "users": DOCKER_USERS,
        "pods": "docker",
        "time_scale": 60.0,
        "registry_map": {"fpga.dphi.space:5000/": "", ONBOARD_BUSYBOX: base},
        "on_stop": "purge",
        "pod_memory": 256 * 1024 * 1024,
        "standin_record": STANDIN_RECORD,
    }
    options.update(overrides)
    return EmulatorConfig(**options)


def _stop_and_check(server: EmulatorServer, client: Any) -> None:
    instance = server.emulator.engine.instance  # type: ignore[attr-defined]
    purge = server.config.on_stop == "purge"
    server.stop()
    if purge:
        left = leftovers(client, instance)
        assert not left, f"the emulator left {left} in the engine"


@pytest.fixture(scope="session")
def docker_em(
    docker_client: Any, busybox_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorServer]:
    data_dir = tmp_path_factory.mktemp("docker-em")
    server = EmulatorServer(_config(data_dir, busybox_image)).start()
    try:
        assert server.emulator.engine.name == "docker"
        yield server
    finally:
        _stop_and_check(server, docker_client)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def make_docker_em(
    docker_client: Any, busybox_image: str, tmp_path: Path
) -> Iterator[Callable[..., EmulatorServer]]:
    servers: list[EmulatorServer] = []

    def make(**overrides: Any) -> EmulatorServer:
        overrides.setdefault("data_dir", tmp_path / f"em-{len(servers)}")
        server = EmulatorServer(_config(overrides.pop("data_dir"), busybox_image, **overrides))
        servers.append(server.start())
        return server

    yield make
    for server in reversed(servers):
        _stop_and_check(server, docker_client)  # stopping twice is harmless


class EMCalls(httpx.Client):
    """An authenticated client of one emulator, with shorthands for the common calls.

    Against a `2026-01` emulator (`january`), the shorthands speak that revision: the volume
    is named by `pvc_name` (a run's too: the pod's own name), status is a `POST`.
    """

    january = False

    def _volume(self, pod: str | None) -> dict[str, str]:
        return {"pvc_name" if self.january else "pod_name": pod or ""}

    def uplink(self, files: dict[str, bytes], dest: str = "", pod: str | None = None) -> None:
        parts = [("files", (name, data)) for name, data in files.items()]
        fields = {"dest_path": dest, **self._volume(pod)}
        answer = self.post("em/files/uplink", files=parts, data=fields)
        assert answer.status_code == 200, answer.text

    def build(self, dockerfile: str, context: str, image: str, pod: str | None = None) -> Any:
        body = {"dockerfile": dockerfile, "context": context, "image": image, **self._volume(pod)}
        return self.post("em/pod/image/build", json=body)

    def run(self, image: str, pod: str | None = None, **fields: Any) -> None:
        body = {"image": image, "max_duration": 1, "pod_name": pod, **fields}
        if self.january:
            body.setdefault("pvc_name", pod)
        answer = self.post("em/pod/run", json=body)
        assert answer.status_code == 200, answer.text

    def status(self, pod: str | None = None) -> dict[str, Any]:
        method = "POST" if self.january else "GET"
        answer = self.request(method, "em/pod/status", params={"pod_name": pod or ""})
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    def state(self, pod: str | None = None) -> dict[str, Any]:
        state: dict[str, Any] = self.status(pod)["state"]
        return state

    def wait(self, pod: str | None = None, until: str = "terminated", timeout: float = 60) -> Any:
        """Poll until the pod's state has key `until` (or a waiting `reason` equal to it)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(pod)
            kind, detail = next(iter(state.items()))
            if until in (kind, detail.get("reason")):
                return detail
            assert time.monotonic() < deadline, f"{pod}: still {state} after {timeout} s"
            time.sleep(0.1)

    def console(self, pod: str | None = None) -> str:
        """What the pod wrote to its console (for a failing assertion's message)."""
        return self.get("em/emulator/pod/log", params={"pod_name": pod or ""}).text

    def fetch(self, path: str, pod: str | None = None) -> httpx.Response:
        return self.get("em/files/downlink", params={"filepath": path, **self._volume(pod)})


@pytest.fixture
def docker_http(docker_em: EmulatorServer) -> Iterator[Callable[..., EMCalls]]:
    clients: list[EMCalls] = []

    def make(server: EmulatorServer | None = None, username: str = "client1") -> EMCalls:
        server = server or docker_em
        password = server.users[username]
        answer = httpx.post(f"{server.url}auth/", data={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        client = EMCalls(
            base_url=server.url,
            headers={"Authorization": f"Bearer {answer.json()['access']}"},
            timeout=120,
        )
        client.january = server.config.api == "2026-01"
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def docker_leftovers(docker_client: Any) -> Callable[[str], list[str]]:
    """`docker_leftovers(instance)`: what an emulator instance left in the engine."""
    return lambda instance: leftovers(docker_client, instance)


@pytest.fixture
def docker_pod() -> str:
    """A fresh pod name (so a fresh volume) for a Docker engine test."""
    return f"d-{uuid.uuid4().hex[:10]}"
