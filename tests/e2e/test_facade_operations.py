"""The facade against the emulator over real sockets: every method, errors, tokens, 423."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dphi_em
import httpx
import pytest
from dphi_em import (
    AuthenticationError,
    BadRequestError,
    BuildFailedError,
    BusyError,
    ConnectionFailedError,
    EMClient,
    FileTooLargeError,
    ForbiddenPathError,
    ImageLoadFailedError,
    NotFoundError,
    PodFailedError,
    RetryPolicy,
    UplinkTooLargeError,
    ValidationError,
    iter_files,
)
from em_api_client.api.em import (
    em_files_list_create,
    em_files_list_list,
    em_pod_status_create,
    em_pod_status_list,
)
from em_api_client.models import EmFilesListRequest
from facade_helpers import client_factory, client_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.images import image_tar_file


@pytest.fixture
def em(emulator: Any, client_kind: str) -> Iterator[EMClient]:
    with client_for(emulator, client_kind) as client:
        yield client


def _paths(tree: list[dphi_em.FileNode]) -> list[str]:
    return [path for path, _ in iter_files(tree)]


@pytest.mark.api_modes
def test_every_file_method(em: EMClient, pod_name: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"alpha")
    (src / "b.bin").write_bytes(bytes(range(256)))
    result = em.uplink([src / "a.txt", src / "b.bin"], dest_path="in", pod_name=pod_name)
    assert (result.file_count, result.total_bytes, result.calls) == (2, 5 + 256, 1)
    assert _paths(em.files_list(pod_name)) == ["in/a.txt", "in/b.bin"]
    assert _paths(em.files_list(pod_name="t-other-" + pod_name[2:])) == []
    local = em.downlink("in/b.bin", tmp_path / "dl", pod_name=pod_name)
    assert local == tmp_path / "dl" / "b.bin"
    assert local.read_bytes() == bytes(range(256))
    assert em.delete("in/a.txt", pod_name=pod_name)
    assert _paths(em.files_list(pod_name)) == ["in/b.bin"]
    assert em.delete("in", pod_name=pod_name)
    assert em.files_list(pod_name) == []


@pytest.mark.parametrize("shape", ["two files", "two folders"])
def test_uplink_refuses_two_sources_for_one_volume_path(
    em: EMClient, pod_name: str, tmp_path: Path, shape: str
) -> None:
    for folder, data in (("x", b"first"), ("y", b"second")):
        (tmp_path / folder / "data").mkdir(parents=True)
        (tmp_path / folder / "data" / "x.txt").write_bytes(data)
    if shape == "two files":
        sources = [tmp_path / "x" / "data" / "x.txt", tmp_path / "y" / "data" / "x.txt"]
    else:  # both would merge under data/
        sources = [tmp_path / "x" / "data", tmp_path / "y" / "data"]
    with pytest.raises(ValidationError, match=r"both would land on '(data/)?x.txt'") as info:
        em.uplink(sources, pod_name=pod_name)
    assert str(tmp_path / "y" / "data") in str(info.value)
    assert em.files_list(pod_name) == []  # nothing was sent


def test_a_long_non_ascii_name_round_trips(em: EMClient, pod_name: str, tmp_path: Path) -> None:
    name = "数" * 80 + ".bin"  # 244 bytes: a legal name, its temp file name must be too
    (tmp_path / name).write_bytes(b"payload")
    em.uplink([tmp_path / name], pod_name=pod_name)
    local = em.downlink(name, tmp_path / "dl", pod_name=pod_name)
    assert local.name == name
    assert local.read_bytes() == b"payload"
    assert [p.name for p in (tmp_path / "dl").iterdir()] == [name]  # no temp file left


def test_directory_uplink_keeps_its_structure(em: EMClient, pod_name: str, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "src" / "deep").mkdir(parents=True)
    files = {"top.txt": b"t", "src/m.py": b"print(1)\n", "src/deep/d.bin": b"\x00\xff" * 100}
    for rel, data in files.items():
        (root / rel).write_bytes(data)
    result = em.uplink(root, dest_path="up", pod_name=pod_name)
    assert result.file_count == 3
    assert sorted(_paths(em.files_list(pod_name))) == sorted(f"up/proj/{r}" for r in files)
    for rel, data in files.items():
        got = em.downlink(f"up/proj/{rel}", tmp_path / "back" / rel.rsplit("/", 1)[0], pod_name)
        assert got.read_bytes() == data


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.one_of(
        st.binary(max_size=4096),
        st.sampled_from([b"", b"\r\n", b"--", b"\r\n--" + b"a" * 32 + b"--\r\n", b"\x00" * 70000]),
    )
)
def test_binary_content_round_trips(
    em: EMClient, pod_name: str, tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    folder = tmp_path_factory.mktemp("rt")  # one per example (tmp_path is one per test)
    try:
        source = folder / "blob.bin"
        source.write_bytes(data)
        em.uplink([source], pod_name=pod_name)
        back = em.downlink("blob.bin", folder / "back", pod_name=pod_name, overwrite=True)
        assert back.read_bytes() == data
    finally:
        shutil.rmtree(folder)


def test_uplink_splits_under_a_small_server_limit(
    make_emulator: Any, tmp_path: Path, client_kind: str
) -> None:
    server = make_emulator(max_uplink_bytes=1000)
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"f{i}.bin")
        paths[-1].write_bytes(bytes([i]) * 400)
    with client_for(server, client_kind, max_uplink_bytes=1000) as em:
        result = em.uplink(paths, dest_path="split")
        assert (result.file_count, result.calls) == (5, 3)
        assert _paths(em.files_list()) == [f"split/f{i}.bin" for i in range(5)]
        big = tmp_path / "big.bin"
        big.write_bytes(b"x" * 1001)
        with pytest.raises(FileTooLargeError):
            em.uplink([big])
    # A client whose limit is larger than the server's gets the server's refusal, typed.
    with client_for(server, client_kind) as em, pytest.raises(UplinkTooLargeError) as info:
        em.uplink([big])
    assert info.value.code == "MAX_UPLINK_SIZE_EXCEEDED"


@pytest.mark.api_modes
def test_images_and_pods(em: EMClient, pod_name: str, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-alpine\nCMD echo hi\n")
    pod = em.pod(pod_name)
    pod.uplink([tmp_path / "Dockerfile"], dest_path="ctx")
    assert pod.image_build("ctx/Dockerfile", "facade-built", "ctx")
    pod.uplink([image_tar_file(tmp_path / "image.tar", "facade-loaded:latest")])
    assert pod.image_load("image.tar", "facade-loaded")
    images = em.image_list()
    assert "client1-facade-built" in images
    assert any(i.startswith("client1-facade-loaded") for i in images)
    assert pod.run("facade-built", node="mpu", max_duration=1, envs={"N": 1}, args=["x"])
    assert pod.wait(until="running", poll_interval=0.1, timeout=30).kind in (
        "running",
        "terminated",
    )
    final = pod.wait(until="terminated", poll_interval=0.1, timeout=30)
    assert (final.kind, final.exit_code, final.reason) == ("terminated", 0, "Completed")
    assert final.started_at is not None
    assert final.finished_at is not None
    nodes = em.nodes_status()
    assert {n.name for n in nodes} >= {"fpga", "gpu"}
    assert all(isinstance(n.ready, bool) for n in nodes)


@pytest.mark.api_modes
def test_error_classes_from_the_server(em: EMClient, pod_name: str, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as not_found:
        em.downlink("missing.txt", tmp_path, pod_name=pod_name)
    assert not_found.value.status_code == 404
    assert not list(tmp_path.glob("*.part"))
    with pytest.raises(ForbiddenPathError):
        em.downlink("../../etc/passwd", tmp_path, pod_name=pod_name)
    with pytest.raises(BuildFailedError) as build:
        em.image_build("nope/Dockerfile", "x", "nope", pod_name=pod_name)
    assert build.value.log_tail
    with pytest.raises(ImageLoadFailedError) as load:
        em.image_load("missing.tar", "x", pod_name=pod_name)
    assert load.value.log_tail
    with pytest.raises(BadRequestError):
        em.delete("missing.txt", pod_name=pod_name)
    with pytest.raises(NotFoundError):
        em.pod_status("never-ran-" + pod_name[2:])
    em.run("no-such-image", pod_name=pod_name)
    with pytest.raises(PodFailedError) as info:
        em.wait_for_pod(pod_name, poll_interval=0.1, timeout=30)
    assert str(info.value).startswith(f"Pod {pod_name!r} cannot start: ImagePullBackOff: ")
    assert info.value.state is not None
    assert info.value.state.reason == "ImagePullBackOff"


def test_bad_credentials(emulator: Any, client_kind: str) -> None:
    with client_factory(client_kind)(emulator.url, emulator.username, "wrong") as em:
        with pytest.raises(AuthenticationError) as info:
            em.get_token()
        assert "wrong" not in str(info.value)


def test_connection_refused_is_typed(client_kind: str) -> None:
    policy = RetryPolicy(max_attempts=2, initial_delay=0.01)
    em = client_factory(client_kind)("http://127.0.0.1:9/", "u", "p", retry=policy)
    with em, pytest.raises(ConnectionFailedError):
        em.files_list()


def test_423_burst_is_waited_out(emulator: Any, em: EMClient) -> None:
    em.get_token()
    emulator.force_locked(3)
    assert isinstance(em.files_list(), list)
    assert emulator.emulator.lock.forced_remaining == 0  # three 423s were answered, and retried


def test_423_without_retries_raises_busy(make_emulator: Any, client_kind: str) -> None:
    # an emulator of its own: on the shared one, any other request (a watch left polling, a
    # pod's status) could take the one forced 423 first
    server = make_emulator()
    with client_for(server, client_kind, retry=False) as em:
        em.get_token()
        server.force_locked(1)
        with pytest.raises(BusyError) as info:
            em.files_list()
    assert info.value.code == "LOCKED"


def test_token_expiry_mid_session(make_emulator: Any, client_kind: str) -> None:
    import time

    server = make_emulator(access_lifetime=1.0)
    with client_for(server, client_kind) as em:
        em.files_list()
        time.sleep(1.2)  # the access token has expired: renewed before use
        em.files_list()
        assert em._auth.refresh_count >= 1
        # A client that trusts a stale token meets a 401: it refreshes and retries once.
        em._auth._clock = lambda: 0.0
        em._auth._tokens.renew_at = float("inf")  # type: ignore[union-attr]
        time.sleep(1.2)
        refreshes = em._auth.refresh_count
        em.files_list()
        assert em._auth.refresh_count == refreshes + 1
        assert em._auth.login_count == 1


def test_raw_calls_share_auth_and_retries(
    emulator: Any, em: Any, client_kind: str, pod_name: str, api_mode: str
) -> None:
    emulator.force_locked(2)
    # the generated calls of the revision the server speaks (the January one takes POST)
    listing: Any = em_files_list_list
    list_args: dict[str, Any] = {"pod_name": pod_name}
    status_call: Any = em_pod_status_list
    if api_mode == "2026-01":
        listing, status_call = em_files_list_create, em_pod_status_create
        list_args = {"body": EmFilesListRequest(pvc_name=pod_name)}
    if client_kind == "sync":
        response = listing.sync_detailed(client=em.raw, **list_args)
        status = status_call.sync_detailed(client=em.raw, pod_name=pod_name)
    else:  # the generated asyncio calls on AsyncEMClient.raw: authorized, retried
        response = em.run_coro(listing.asyncio_detailed(client=em.raw, **list_args))
        status = em.run_coro(status_call.asyncio_detailed(client=em.raw, pod_name=pod_name))
    assert response.status_code == 200
    assert status.status_code == 404


def test_raw_calls_of_the_other_kind_are_refused_rather_than_sent_without_a_token(
    em: Any, client_kind: str
) -> None:
    import asyncio

    if client_kind == "sync":
        with pytest.raises(dphi_em.ConfigurationError, match=r"AsyncEMClient\.raw"):
            asyncio.run(em_files_list_list.asyncio_detailed(client=em.raw))
    else:
        with pytest.raises(dphi_em.ConfigurationError, match=r"EMClient\.raw for the sync"):
            em_files_list_list.sync_detailed(client=em.raw)


def test_module_helpers_from_environment(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pod_name: str
) -> None:
    monkeypatch.setenv("DPHI_EM_URL", emulator.url)
    monkeypatch.setenv("DPHI_EM_USERNAME", emulator.username)
    monkeypatch.setenv("DPHI_EM_PASSWORD", emulator.password)
    monkeypatch.chdir(tmp_path)
    dphi_em.close_default_client()
    try:
        from dphi_em import downlink, files_list, get_token, uplink

        get_token()
        Path("hello.txt").write_text("hello")
        assert uplink(["hello.txt"], pod_name=pod_name).file_count == 1
        assert _paths(files_list(pod_name=pod_name)) == ["hello.txt"]
        path = downlink("hello.txt", pod_name=pod_name)
        assert path == Path("downlink/hello.txt")
        assert path.read_text() == "hello"
        with pytest.raises(ValidationError):
            files_list(pod_name="Hey no whitespaces")
    finally:
        dphi_em.close_default_client()


def test_keep_alive_connection_is_reused(em: Any, client_kind: str) -> None:
    em.files_list()
    ports = set()
    if client_kind == "sync":
        for _ in range(5):
            with em.http_client.stream("GET", "em/pod/image/list") as response:
                stream = response.extensions["network_stream"]
                ports.add(stream.get_extra_info("client_addr"))
                response.read()
    else:

        async def five() -> None:
            for _ in range(5):
                async with em.http_client.stream("GET", "em/pod/image/list") as response:
                    stream = response.extensions["network_stream"]
                    ports.add(stream.get_extra_info("client_addr"))
                    await response.aread()

        em.run_coro(five())
    assert len(ports) == 1


def test_failures_raise_the_package_errors_not_httpx_ones(
    em: EMClient, tmp_path: Path, client_kind: str
) -> None:
    folder = tmp_path / "dl"
    with pytest.raises(ValidationError):
        em.downlink("", folder)
    with pytest.raises(NotFoundError):
        em.downlink("no/such/file", folder)
    with pytest.raises(ForbiddenPathError):
        em.downlink("../../etc/passwd", folder)
    # a server that is not there: connection refused, retried, then one typed error
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    retry = RetryPolicy(max_attempts=2, initial_delay=0)
    with (
        client_factory(client_kind)(closed, "u", "p", retry=retry) as gone,
        pytest.raises(dphi_em.ConnectionFailedError) as info,
    ):
        gone.files_list()
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert not folder.exists() or list(folder.iterdir()) == []
