"""Folder downlink (`downlink_folder`, `dphi-em downlink DIR`) and the uplink of a tree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dphi_em import DownlinkResult, LocalFileExistsError, NotFoundError
from dphi_em.cli import app
from facade_helpers import client_for
from support.cli import runner_for


def _tree(root: Path) -> dict[str, bytes]:
    """Files of the same name in different folders, at several depths."""
    files = {
        "top/x.txt": b"top x\n",
        "top/a/x.txt": b"a's x\n",
        "top/b/x.txt": b"b's x, longer\n",
        "top/a/deep/x.txt": bytes(range(256)) * 40,
        "top/b/other.bin": b"\x00\x01" * 5000,
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def _local(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_folder_comes_down_with_its_tree_and_same_named_files_kept_apart(
    emulator: Any, client_kind: str, pod_name: str, tmp_path: Path
) -> None:
    files = _tree(tmp_path / "src")
    out = tmp_path / "out"
    with client_for(emulator, client_kind) as em:
        sent = em.uplink([tmp_path / "src" / "top"], pod_name=pod_name)
        assert sent.calls == 4  # one call per folder holding files: top, a, a/deep, b
        result = em.downlink_folder("top", out, pod_name=pod_name)
        assert isinstance(result, DownlinkResult)
        assert result.local_dir == out / "top"
        assert _local(out) == files
        assert sorted(result.files) == sorted(out / rel for rel in files)
        assert result.total_bytes == sum(len(d) for d in files.values())
        assert result.calls == len(files)
        # a subfolder becomes a folder of its own name; the volume root is the folder itself
        em.downlink_folder("/top/a/", tmp_path / "sub", pod_name=pod_name)
        assert _local(tmp_path / "sub") == {
            rel.removeprefix("top/"): d for rel, d in files.items() if rel.startswith("top/a/")
        }
        em.downlink_folder("", tmp_path / "root", pod_name=pod_name)
        assert _local(tmp_path / "root") == files


def test_existing_local_files_stop_a_folder_downlink_before_anything_is_fetched(
    emulator: Any, client_kind: str, pod_name: str, tmp_path: Path
) -> None:
    files = _tree(tmp_path / "src")
    out = tmp_path / "out"
    (out / "top" / "b").mkdir(parents=True)
    (out / "top" / "b" / "x.txt").write_bytes(b"mine")
    with client_for(emulator, client_kind) as em:
        em.uplink([tmp_path / "src" / "top"], pod_name=pod_name)
        with pytest.raises(LocalFileExistsError, match=r"b/x\.txt"):
            em.downlink_folder("top", out, pod_name=pod_name)
        assert _local(out) == {"top/b/x.txt": b"mine"}  # nothing fetched
        em.downlink_folder("top", out, pod_name=pod_name, overwrite=True)
        assert _local(out) == files
        with pytest.raises(NotFoundError, match="nope"):
            em.downlink_folder("nope", out, pod_name=pod_name)


def test_a_pod_handle_downlinks_a_folder(
    emulator: Any, client_kind: str, pod_name: str, tmp_path: Path
) -> None:
    files = _tree(tmp_path / "src")
    with client_for(emulator, client_kind) as em:
        pod = em.pod(pod_name)
        pod.uplink([tmp_path / "src" / "top"])
        result = pod.downlink_folder("top", tmp_path / "out")
    assert _local(tmp_path / "out") == files
    assert len(result.files) == len(files)


def test_a_tree_of_many_folders_takes_one_uplink_call_per_folder(
    emulator: Any, pod_name: str, tmp_path: Path
) -> None:
    root = tmp_path / "many"
    for i in range(12):
        (root / f"d{i:02}").mkdir(parents=True)
        for j in range(3):
            (root / f"d{i:02}" / f"f{j}.txt").write_text(f"{i}-{j}\n")
    with client_for(emulator) as em:
        result = em.uplink([root], pod_name=pod_name)
        assert (result.file_count, result.calls) == (36, 12)
        # the first sync records the tree (an uplink keeps no sync record: nothing proves
        # the copies equal, so it sends them again); then a sync where one file changed
        assert len(em.sync_up(root, "many", pod_name=pod_name).transferred) == 36
        (root / "d05" / "f1.txt").write_text("changed, longer\n")
        synced = em.sync_up(root, "many", pod_name=pod_name)
        assert [item.path for item in synced.transferred] == ["d05/f1.txt"]
        assert synced.calls == 1


def test_cli_downlink_of_a_folder(emulator: Any, pod_name: str, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src")
    cli = runner_for(emulator.url, emulator.username, emulator.password)
    assert cli("uplink", str(tmp_path / "src" / "top"), "--pod", pod_name).exit_code == 0
    out = tmp_path / "out"
    result = cli("downlink", "top", "-o", str(out), "--pod", pod_name)
    assert result.exit_code == 0, result.output
    assert _local(out) == files
    assert f"-> {out / 'top'} ({len(files)} file(s)" in result.stdout
    # again: the files exist, nothing is replaced without --overwrite
    again = cli("downlink", "top", "-o", str(out), "--pod", pod_name)
    assert again.exit_code == 2
    assert "--overwrite" in again.stderr
    listed = cli(
        "downlink", "top/a", "top/x.txt", "-o", str(tmp_path / "j"), "--pod", pod_name, "--json"
    )
    assert listed.exit_code == 0, listed.output
    doc = json.loads(listed.stdout)
    assert doc[0]["local"] == str(tmp_path / "j" / "a")
    assert len(doc[0]["files"]) == 2
    assert doc[1] == {"path": "top/x.txt", "local": str(tmp_path / "j" / "x.txt")}


def test_cli_downlink_refuses_two_paths_with_one_local_name(
    emulator: Any, pod_name: str, tmp_path: Path
) -> None:
    env = {
        "DPHI_EM_URL": emulator.url,
        "DPHI_EM_USERNAME": emulator.username,
        "DPHI_EM_PASSWORD": emulator.password,
    }
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["downlink", "top/a/x.txt", "top/b/x.txt", "-o", str(out), "--pod", pod_name],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    assert "would both be written as" in result.stderr
    assert not out.exists()  # nothing fetched
