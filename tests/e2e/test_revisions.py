"""One client behaviour against both revisions of the EM API, with no configuration.

Each test runs against fresh emulators in strict modes (`--api 2025-11`, `--api 2026-01`)
and the default `both`, over real sockets, with `EMClient` and `AsyncEMClient`. Requests are
recorded with httpx event hooks on the client's own connection, so a test sees exactly what
was sent.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from dphi_em import EMClient, RevisionError, ValidationError, Volume, iter_files
from dphi_em.cli import app
from facade_helpers import client_for
from support.images import image_tar_file

MODES = ["2025-11", "2026-01", "both"]


def _record(em: Any, kind: str) -> list[tuple[str, str]]:
    """Every request the client sends from now on, as (method, path)."""
    sent: list[tuple[str, str]] = []
    if kind == "sync":
        em.http_client.event_hooks["request"].append(lambda r: sent.append((r.method, r.url.path)))
    else:

        async def hook(r: httpx.Request) -> None:
            sent.append((r.method, r.url.path))

        em.http_client.event_hooks["request"].append(hook)
    return sent


def test_on_a_january_server_no_operation_reaches_the_default_volume(
    make_emulator: Any, tmp_path: Path, client_kind: str
) -> None:
    server = make_emulator(api="2026-01")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "data.txt").write_text("mine")
    tar = image_tar_file(tmp_path / "image.tar", "loaded:latest")
    with client_for(server, client_kind) as em:
        pod = em.pod("job")
        pod.uplink([tmp_path / "Dockerfile", tmp_path / "data.txt", tar], dest_path="ctx")
        assert sorted(p for p, _ in iter_files(pod.files_list())) == [
            "ctx/Dockerfile",
            "ctx/data.txt",
            "ctx/image.tar",
        ]
        assert pod.downlink("ctx/data.txt", tmp_path / "out").read_text() == "mine"
        assert pod.image_build("ctx/Dockerfile", "built", "ctx")
        assert pod.image_load("ctx/image.tar", "loaded")
        pod.delete("ctx/data.txt")
        pod.run("built", max_duration=1)
        # the default volume holds nothing of it: every request named the pod's volume
        assert em.files_list() == []
        assert [p for p, _ in iter_files(pod.files_list())] == ["ctx/Dockerfile", "ctx/image.tar"]
        volumes = {v.name: v for v in em.volumes()}
        assert volumes["job"].file_count == 2
        assert volumes[""].file_count == 0


@pytest.mark.parametrize("mode", MODES)
def test_read_only_calls_work_whichever_method_the_server_takes(
    make_emulator: Any, client_kind: str, mode: str
) -> None:
    server = make_emulator(api=mode)
    with client_for(server, client_kind) as em:
        em.get_token()
        sent = _record(em, client_kind)
        for _ in range(2):
            assert em.files_list("p") == []
            assert len(em.nodes_status()) == 3
            assert isinstance(em.image_list(), list)
        reads = [m for m, path in sent if not path.startswith("/auth")]
        if mode == "2026-01":  # one GET refused (405) teaches POST, for the client's life
            assert reads == ["GET", "POST", "POST", "POST", "POST", "POST", "POST"]
            assert em.api_revision == "2026-01"
        else:
            assert reads == ["GET"] * 6


@pytest.mark.parametrize("mode", MODES)
def test_what_one_revision_lacks_fails_before_anything_is_done(
    make_emulator: Any, client_kind: str, mode: str, tmp_path: Path
) -> None:
    server = make_emulator(api=mode)
    with client_for(server, client_kind) as em:
        em.get_token()
        sent = _record(em, client_kind)
        if mode == "2025-11":
            with pytest.raises(RevisionError, match=r"January 2026 revision .* November 2025"):
                em.volumes()
            with pytest.raises(RevisionError, match="Nothing was sent"):
                em.delete_volume("old")
            with pytest.raises(RevisionError):
                em.run("img", pod_name="a", pvc_name="b")
            # only the read-only probe went out, once
            assert sent == [("POST", "/em/pvc/list")]
            assert em.namespace_create()
        elif mode == "2026-01":
            with pytest.raises(RevisionError, match=r"November 2025 revision .* January 2026"):
                em.namespace_create()
            with pytest.raises(RevisionError):
                em.run("img", pod_name="a", namespace=True)
            assert sent == [("GET", "/em/nodes/status")]  # the probe: 405, so January
            assert [v.name for v in em.volumes()] == [""]
            assert em.run("img", pod_name="a", pvc_name="b")
        else:  # both: everything
            assert em.namespace_create()
            assert isinstance(em.volumes()[0], Volume)
            assert em.run("img", pod_name="a", pvc_name="b", namespace=True)
        # a request that changes anything went out once, never twice to find out
        assert sum(1 for m, p in sent if p == "/em/pod/run") <= 1


def test_volume_delete_is_refused_while_a_pod_uses_it(make_emulator: Any, tmp_path: Path) -> None:
    server = make_emulator(api="2026-01")
    (tmp_path / "f").write_text("x")
    with client_for(server) as em:
        em.pod("busy").uplink([tmp_path / "f"])
        em.pod("idle").uplink([tmp_path / "f"])
        em.pod("busy").run("python:3.11-alpine", max_duration=5)
        with pytest.raises(Exception, match="in use"):
            em.delete_volume("busy")
        assert em.delete_volume("idle")
        assert {v.name for v in em.volumes()} == {"", "busy"}
        with pytest.raises(ValidationError, match="Invalid"):
            em.delete_volume("")


@pytest.mark.parametrize("api", ["2025-11", "2026-01"])
def test_a_pinned_revision_sends_its_own_forms_without_probing(
    make_emulator: Any, api: str
) -> None:
    server = make_emulator(api="both")
    with client_for(server, api=api) as em:
        em.get_token()
        sent = _record(em, "sync")
        em.files_list()
        if api == "2026-01":
            with pytest.raises(RevisionError, match="pinned"):
                em.namespace_create()
            assert sent == [("POST", "/em/files/list")]
        else:
            with pytest.raises(RevisionError, match="pinned"):
                em.volumes()
            assert sent == [("GET", "/em/files/list")]
    with pytest.raises(ValidationError, match="2025-11"):
        EMClient(server.url, "u", "p", api="2027-01")  # type: ignore[arg-type]


def test_the_vendors_leading_slash_means_the_volume_root(
    emulator: Any, client_kind: str, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with client_for(emulator, client_kind) as em:
        pod = em.pod("slash")
        pod.uplink([tmp_path / "Dockerfile"], dest_path="/echo-test")
        assert [p for p, _ in iter_files(pod.files_list())] == ["echo-test/Dockerfile"]
        assert pod.image_build("/echo-test/Dockerfile", "slashed", "/echo-test")
        assert pod.downlink("/echo-test/Dockerfile", tmp_path / "o").read_text() == "FROM scratch\n"
        pod.delete("/echo-test/Dockerfile")
        assert [p for p, _ in iter_files(pod.files_list())] == []


def test_cli_volumes_and_volume_rm(make_emulator: Any, tmp_path: Path) -> None:
    server = make_emulator(api="2026-01")
    (tmp_path / "f").write_text("x")
    with client_for(server) as em:
        em.pod("gone").uplink([tmp_path / "f"])
    env = {"DPHI_EM_URL": server.url, "DPHI_EM_USERNAME": "client1", "DPHI_EM_PASSWORD": "secret"}
    runner = CliRunner()
    listed = runner.invoke(app, ["volumes", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert {v["name"]: v["file_count"] for v in json.loads(listed.stdout)} == {"": 0, "gone": 1}
    table = runner.invoke(app, ["volumes"], env=env)
    assert "(default)" in table.stdout
    assert "gone" in table.stdout
    kept = runner.invoke(app, ["volume", "rm", "gone"], env=env, input="n\n")
    assert kept.exit_code != 0  # asked, and answered no: nothing deleted
    assert "gone" in runner.invoke(app, ["volumes"], env=env).stdout
    deleted = runner.invoke(app, ["volume", "rm", "gone", "--yes"], env=env)
    assert deleted.exit_code == 0, deleted.output
    assert "gone" not in runner.invoke(app, ["volumes"], env=env).stdout
    old = make_emulator(api="2025-11")
    env["DPHI_EM_URL"] = old.url
    refused = runner.invoke(app, ["volumes"], env=env)
    assert refused.exit_code == 2
    assert "January 2026" in refused.stderr


def test_async_client_learns_once_across_tasks(make_emulator: Any) -> None:
    server = make_emulator(api="2026-01")

    async def main() -> list[str]:
        from dphi_em import AsyncEMClient

        async with AsyncEMClient(server.url, "client1", "secret") as em:
            await em.get_token()
            sent = _record(em, "async")
            await em.nodes_status()
            await asyncio.gather(*(em.files_list() for _ in range(5)))
            return [m for m, _ in sent]

    assert asyncio.run(main()) == ["GET", "POST"] + ["POST"] * 5
