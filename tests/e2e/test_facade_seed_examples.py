"""The vendor walkthrough's four examples and its error examples, through the facade.

Same steps as the vendor's `em-api-interface.py` examples (see `shared/seed/`), with
`from dphi_em import *` in place of the vendor module. Each runs on a fresh emulator: the
first example uses the default volume and the third creates the user's namespace, which
exists once per user. Pods run nothing on the emulator, so files a pod would write are
checked only against a real EM (`DPHI_EM_TEST_URL`); on the emulator their absence is.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dphi_em
import pytest
from dphi_em import (
    BadRequestError,
    BuildFailedError,
    EMClient,
    NotFoundError,
    PodFailedError,
    ValidationError,
    iter_files,
)
from facade_helpers import client_for, is_local

POLL = {"poll_interval": 0.1, "timeout": 60}


@pytest.fixture
def server(make_emulator: Any, emulator: Any) -> Any:
    return make_emulator() if is_local(emulator) else emulator


@pytest.fixture
def em(server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EMClient]:
    monkeypatch.chdir(tmp_path)
    Path("Dockerfile").write_text(
        "FROM python:3.11-alpine\nCOPY echo-test.sh /echo-test.sh\nCMD sh /echo-test.sh\n"
    )
    Path("echo-test.sh").write_text("#!/bin/sh\necho 'hello from echo-test' > /data/echo.txt\n")
    Path("hello-world.txt").write_text("Hello, world!\n")
    with client_for(server) as client:
        dphi_em.set_default_client(client)
        try:
            yield client
        finally:
            dphi_em.set_default_client(None)


def _names(tree: list[dphi_em.FileNode]) -> list[str]:
    return [path for path, _ in iter_files(tree)]


def _pod_output(server: Any, path: str, pod_name: str = "") -> str | None:
    """A file a pod wrote: its text on a real EM; None on the emulator (nothing runs)."""
    if is_local(server):
        with pytest.raises(NotFoundError):
            dphi_em.downlink(path, pod_name=pod_name)
        return None
    return dphi_em.downlink(path, pod_name=pod_name, overwrite=True).read_text()


def test_example_simple_operations(em: EMClient, server: Any) -> None:
    from dphi_em import delete, downlink, files_list, image_build, pod_status, run, uplink

    files_list()
    uplink(["./Dockerfile", "./echo-test.sh"], dest_path="echo-test")
    assert _names(files_list()) == ["echo-test/Dockerfile", "echo-test/echo-test.sh"]
    image_build("./echo-test/Dockerfile", "echo-test", "./echo-test")
    assert "client1-echo-test" in dphi_em.image_list()

    run("echo-test", max_duration=1)
    assert dphi_em.wait_for_pod(until="terminated", **POLL).exit_code == 0
    _pod_output(server, "echo.txt")

    run("echo-test", node="GPU", max_duration=1, command="echo 123 > /data/gpu-downlink.txt")
    assert dphi_em.wait_for_pod(until="terminated", **POLL).kind == "terminated"
    output = _pod_output(server, "gpu-downlink.txt")
    assert output is None or output.strip() == "123"

    tz = timezone(timedelta(hours=2))
    scheduled_time = (datetime.now(tz) + timedelta(minutes=1)).isoformat()
    run(
        "echo-test",
        max_duration=1,
        scheduled_time=scheduled_time,
        command='sh -c "date > /data/time.txt"',
    )
    state = pod_status()
    assert state.kind in ("waiting", "running")
    assert dphi_em.wait_for_pod(until="terminated", **POLL).kind == "terminated"
    _pod_output(server, "time.txt")

    downloaded = downlink("echo-test/echo-test.sh")
    assert downloaded == Path("downlink/echo-test.sh")
    assert downloaded.read_text() == Path("echo-test.sh").read_text()
    delete("echo-test")
    assert "echo-test/Dockerfile" not in _names(files_list())


def test_example_pod_volumes(em: EMClient, server: Any) -> None:
    from dphi_em import delete, downlink, files_list, run, uplink

    run(
        "python:3.11-alpine",
        pod_name="pod-a",
        max_duration=30,
        command="echo 'Is this the final frontier?' > /data/hello-space.txt",
    )
    assert dphi_em.wait_for_pod("pod-a", until="running", **POLL).kind in ("running", "terminated")
    uplink(["hello-world.txt"], pod_name="pod-a")
    assert "hello-world.txt" in _names(files_list(pod_name="pod-a"))
    assert "hello-world.txt" not in _names(files_list())  # the default volume is another one
    output = _pod_output(server, "hello-space.txt", pod_name="pod-a")
    assert output is None or "final frontier" in output
    assert downlink("hello-world.txt", pod_name="pod-a").read_text() == "Hello, world!\n"
    with pytest.raises(BadRequestError):
        delete("hello-world.txt")  # looks in the default volume
    delete("hello-world.txt", pod_name="pod-a")
    assert "hello-world.txt" not in _names(files_list(pod_name="pod-a"))


def test_example_pod_intercommunication(em: EMClient, server: Any) -> None:
    from dphi_em import downlink, files_list, namespace_create, run

    namespace_create()
    run(
        "python:3.11-alpine",
        pod_name="server",
        max_duration=2,
        namespace=True,
        ports=[80],
        command="python -m http.server 80",
    )
    run(
        "python:3.11-alpine",
        pod_name="client",
        max_duration=1,
        namespace=True,
        command="wget client1-server:80/ -O /data/server-data.txt",
    )
    if is_local(server):
        recorded = em.raw.get_httpx_client().get("em/pod/status", params={"pod_name": "server"})
        assert recorded.json()["data"]["emulator"]["addresses"] == ["client1-server:80"]
    assert dphi_em.wait_for_pod("client", until="terminated", **POLL).kind == "terminated"
    files_list(pod_name="client")
    if is_local(server):
        with pytest.raises(NotFoundError):
            downlink("server-data.txt", pod_name="client")
    else:
        assert downlink("server-data.txt", pod_name="client").stat().st_size > 0


def test_example_env_and_args(em: EMClient, server: Any) -> None:
    from dphi_em import image_build, run, uplink

    uplink(["./Dockerfile", "./echo-test.sh"], dest_path="echo-test")
    image_build("./echo-test/Dockerfile", "echo-test", "./echo-test")
    run(
        "echo-test",
        max_duration=1,
        command="/bin/sh -c",
        args=["echo testing args $DURATION $SIZE", " > /data/test.txt"],
        envs={"DURATION": 60, "SIZE": 1024},
    )
    if is_local(server):
        recorded = em.raw.get_httpx_client().get("em/pod/status").json()["data"]["emulator"]
        assert recorded["envs"] == {"DURATION": "60", "SIZE": "1024"}
        assert recorded["args"] == ["echo testing args $DURATION $SIZE", " > /data/test.txt"]
        assert recorded["command"] == "/bin/sh -c"
    assert dphi_em.wait_for_pod(until="terminated", **POLL).kind == "terminated"
    _pod_output(server, "test.txt")


def test_examples_errors(em: EMClient, server: Any) -> None:
    from dphi_em import downlink, image_build, pod_status, run, uplink

    # Downlinking a file that does not exist.
    with pytest.raises(NotFoundError) as missing:
        downlink("does-not-exist.txt")
    assert missing.value.code
    assert not Path("downlink/does-not-exist.txt").exists()
    # Building with an incorrect context path.
    uplink(["./Dockerfile", "./echo-test.sh"], dest_path="echo-test")
    with pytest.raises(BuildFailedError) as build:
        image_build("./echo-test/Dockerfile", "echo-test", "./wrong-context")
    assert build.value.log_tail
    # A pod name the EM refuses is caught before anything is sent.
    with pytest.raises(ValidationError, match="Hey no whitespaces"):
        run("echo-test", pod_name="Hey no whitespaces")
    # Running an image that does not exist: scheduling succeeds, the status tells.
    run("echo-test12", max_duration=1)
    with pytest.raises(PodFailedError, match="ImagePullBackOff") as failed:
        dphi_em.wait_for_pod(**POLL)
    assert failed.value.state.reason == "ImagePullBackOff"
    state = pod_status()
    assert (state.kind, state.reason) == ("waiting", "ImagePullBackOff")
    assert "echo-test12" in (state.message or "")
