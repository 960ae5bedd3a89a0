"""`sync_up` / `sync_down` (both clients) and `dphi-em sync`, against the emulator."""

from __future__ import annotations

import json
import os
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
from dphi_em import NotFoundError, SyncResult, ValidationError
from facade_helpers import client_for


def _write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


FILES = {
    "a.txt": b"alpha\n",
    "sub/b.txt": b"bravo\n",
    "sub/deep/c.bin": os.urandom(50_000),
    "other/b.txt": b"another bravo\n",
}


def _remote(em: Any, pod: str, folder: str) -> dict[str, int]:
    """The volume's files under `folder`, with their sizes."""
    out: dict[str, int] = {}

    def walk(nodes: Any, prefix: str) -> None:
        for node in nodes:
            if node.is_dir:
                walk(node.contents, f"{prefix}{node.name}/")
            else:
                out[f"{prefix}{node.name}"] = node.size

    walk(em.files_list(pod), "")
    return {k.removeprefix(folder + "/"): v for k, v in out.items() if k.startswith(folder + "/")}


def _local(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _age(path: Path, seconds: float) -> None:
    """Move a file's modification time `seconds` into the past (negative: the future)."""
    st = path.stat()
    os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds))


def test_sync_up_sends_only_what_differs_and_mirrors_deletions(
    emulator: Any, client_kind: str, pod_name: str, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    _write(local, FILES)
    with client_for(emulator, client_kind) as em:
        first = em.sync_up(local, "mirror", pod_name)
        assert isinstance(first, SyncResult)
        assert sorted(i.path for i in first.transferred) == sorted(FILES)
        assert {i.reason for i in first.transferred} == {"new"}
        assert first.calls == 4  # one per volume folder: ., sub, sub/deep, other
        assert _remote(em, pod_name, "mirror") == {k: len(v) for k, v in FILES.items()}

        again = em.sync_up(local, "/mirror/", pod_name)
        assert (again.transferred, again.deleted, again.calls) == ((), (), 0)
        assert sorted(i.path for i in again.skipped) == sorted(FILES)

        (local / "sub" / "b.txt").write_bytes(b"bravo, changed\n")  # a new size
        (local / "a.txt").write_bytes(b"ALPHA\n")  # same size, new bytes
        changed = em.sync_up(local, "mirror", pod_name)
        assert {(i.path, i.reason) for i in changed.transferred} == {
            ("sub/b.txt", "size"),
            ("a.txt", "local-changed"),
        }
        assert changed.calls == 2
        assert _remote(em, pod_name, "mirror")["sub/b.txt"] == len(b"bravo, changed\n")

        (local / "other" / "b.txt").unlink()
        (local / "other").rmdir()
        (local / "sub" / "deep" / "c.bin").unlink()
        dry = em.sync_up(local, "mirror", pod_name, delete=True, dry_run=True)
        assert dry.dry_run
        assert dry.deleted == ("other", "sub/deep")  # a folder the source lacks goes whole
        assert set(_remote(em, pod_name, "mirror")) == set(FILES)  # nothing changed

        kept = em.sync_up(local, "mirror", pod_name)  # without delete=True: nothing deleted
        assert kept.deleted == ()
        assert set(_remote(em, pod_name, "mirror")) == set(FILES)

        mirrored = em.sync_up(local, "mirror", pod_name, delete=True)
        assert mirrored.deleted == ("other", "sub/deep")
        assert set(_remote(em, pod_name, "mirror")) == {"a.txt", "sub/b.txt"}


def test_sync_down_fetches_only_what_differs_and_mirrors_deletions(
    emulator: Any, client_kind: str, pod_name: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    _write(src, FILES)
    local = tmp_path / "local"
    with client_for(emulator, client_kind) as em:
        em.sync_up(src, "data", pod_name)
        first = em.sync_down("data", local, pod_name)
        assert sorted(i.path for i in first.transferred) == sorted(FILES)
        assert _local(local) == FILES

        again = em.sync_down("data", local, pod_name)
        assert (again.transferred, again.calls) == ((), 0)

        (src / "sub" / "b.txt").write_bytes(b"BRAVO\n")  # same size, new bytes on the volume
        (src / "a.txt").write_bytes(b"alpha, longer\n")
        em.uplink([src / "sub" / "b.txt"], "data/sub", pod_name)  # sent whatever its time
        em.uplink([src / "a.txt"], "data", pod_name)
        _age(local / "sub" / "b.txt", 3600)  # the local copy was fetched an hour ago
        changed = em.sync_down("data", local, pod_name)
        assert {(i.path, i.reason) for i in changed.transferred} == {
            ("a.txt", "size"),
            ("sub/b.txt", "remote-changed"),
        }
        assert _local(local)["sub/b.txt"] == b"BRAVO\n"

        (local / "extra.txt").write_text("only here\n")
        (local / "junk" / "deeper").mkdir(parents=True)
        (local / "junk" / "deeper" / "j.txt").write_text("junk\n")
        dry = em.sync_down("data", local, pod_name, delete=True, dry_run=True)
        assert dry.deleted == ("extra.txt", "junk")
        assert (local / "extra.txt").exists()
        mirrored = em.sync_down("data", local, pod_name, delete=True)
        assert mirrored.deleted == ("extra.txt", "junk")
        assert _local(local) == {**FILES, "sub/b.txt": b"BRAVO\n", "a.txt": b"alpha, longer\n"}
        assert not (local / "junk").exists()

        with pytest.raises(NotFoundError, match="nope"):
            em.sync_down("nope", local, pod_name)


def test_sync_refuses_bad_arguments_before_sending(
    emulator: Any, client_kind: str, pod_name: str, tmp_path: Path
) -> None:
    with client_for(emulator, client_kind) as em:
        with pytest.raises(ValidationError, match="not a local folder"):
            em.sync_up(tmp_path / "missing", "x", pod_name)
        with pytest.raises(ValidationError, match=r"'\.\.'"):
            em.sync_up(tmp_path, "../x", pod_name)
        with pytest.raises(ValidationError, match="pod"):
            em.sync_down("x", tmp_path, "Bad Name")


def test_a_pod_handle_syncs_both_ways(
    emulator: Any, client_kind: str, pod_name: str, tmp_path: Path
) -> None:
    _write(tmp_path / "src", FILES)
    with client_for(emulator, client_kind) as em:
        pod = em.pod(pod_name)
        assert len(pod.sync_up(tmp_path / "src").transferred) == len(FILES)
        assert len(pod.sync_down("", tmp_path / "back").transferred) == len(FILES)
    assert _local(tmp_path / "back") == FILES


# -- the CLI ----------------------------------------------------------------------------------


def test_cli_sync_up_and_down(cli: Any, pod_name: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    _write(src, FILES)
    remote = f"pod:{pod_name}/work"
    first = cli("sync", str(src), remote)
    assert first.exit_code == 0, first.output
    assert f"Sent {len(FILES)} file(s)" in first.stderr

    again = cli("sync", str(src), remote, "--json")
    assert again.exit_code == 0, again.output
    doc = json.loads(again.stdout)
    assert (doc["direction"], doc["transferred"], doc["calls"]) == ("up", [], 0)
    assert len(doc["skipped"]) == len(FILES)

    back = tmp_path / "back"
    down = cli("sync", remote, str(back))
    assert down.exit_code == 0, down.output
    assert _local(back) == FILES

    (back / "stray.txt").write_text("stray\n")
    dry = cli("sync", remote, str(back), "--delete", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would delete stray.txt" in dry.stdout
    assert (back / "stray.txt").exists()

    refused = cli("sync", remote, str(back), "--delete", input="n\n")
    assert refused.exit_code != 0
    assert "Delete 1 path(s)" in refused.stderr
    assert (back / "stray.txt").exists()

    confirmed = cli("sync", remote, str(back), "--delete", input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert not (back / "stray.txt").exists()

    (back / "stray2.txt").write_text("stray\n")
    yes = cli("sync", remote, str(back), "--delete", "--yes")
    assert yes.exit_code == 0, yes.output
    assert not (back / "stray2.txt").exists()
    assert _local(back) == FILES


def test_cli_sync_needs_one_local_and_one_volume_side(cli: Any, tmp_path: Path) -> None:
    both_local = cli("sync", str(tmp_path), str(tmp_path / "x"))
    assert both_local.exit_code == 2
    assert "pod:NAME/DIR" in both_local.stderr
    bad = cli("sync", str(tmp_path), "pod:Bad_Name/x")
    assert bad.exit_code == 2


def test_an_edit_in_the_minute_of_the_upload_is_sent(
    emulator: Any, pod_name: str, tmp_path: Path
) -> None:
    """The old limit (same size, same minute as the upload) is gone: the record sees it."""
    src = tmp_path / "src"
    _write(src, {"f.txt": b"one\n"})
    with client_for(emulator) as em:
        em.sync_up(src, "", pod_name)
        [node] = em.files_list(pod_name)
        assert node.modified is not None
        stored = node.modified.replace(tzinfo=timezone.utc).timestamp()
        (src / "f.txt").write_bytes(b"two\n")
        os.utime(src / "f.txt", (stored + 30, stored + 30))  # in the minute it was stored
        sent = em.sync_up(src, "", pod_name)
    assert [(i.path, i.reason) for i in sent.transferred] == [("f.txt", "local-changed")]


def test_cli_sync_with_the_default_volume_dry_run(cli: Any, tmp_path: Path) -> None:
    _write(tmp_path / "src", {"only-planned.txt": b"x\n"})
    result = cli("sync", str(tmp_path / "src"), "pod:/never-sent", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["dry_run"] is True
    assert doc["remote_dir"] == "never-sent"
    assert [i["path"] for i in doc["transferred"]] == ["only-planned.txt"]
    listing = cli("ls", "never-sent")
    assert listing.exit_code == 4  # nothing was sent


# -- issue 20: links are not followed; any change on either side is seen ---------------------


def test_sync_down_never_writes_through_a_local_link(
    emulator: Any, client_kind: str, pod_name: str, tmp_path: Path
) -> None:
    src, dst, victim = tmp_path / "src", tmp_path / "dst", tmp_path / "victim"
    _write(src, {"dlink/secret.txt": b"from the volume\n", "plain.txt": b"plain\n"})
    _write(victim, {"secret.txt": b"keep me\n"})
    dst.mkdir()
    (dst / "dlink").symlink_to(victim, target_is_directory=True)
    with client_for(emulator, client_kind) as em:
        em.sync_up(src, "s2", pod_name)
        result = em.sync_down("s2", dst, pod_name, delete=True)
        assert (victim / "secret.txt").read_bytes() == b"keep me\n"
        assert [(i.path, i.reason) for i in result.transferred] == [("plain.txt", "new")]
        assert ("dlink/secret.txt", "link") in {(i.path, i.reason) for i in result.skipped}
        assert (dst / "dlink").is_symlink()  # left alone, even with delete=True
        (tmp_path / "dl" / "s2").mkdir(parents=True)
        (tmp_path / "dl" / "s2" / "dlink").symlink_to(victim, target_is_directory=True)
        with pytest.raises(ValidationError, match="symbolic link"):
            em.downlink_folder("s2", tmp_path / "dl", pod_name, overwrite=True)
        assert not (tmp_path / "dl" / "s2" / "plain.txt").exists()  # nothing fetched
        (tmp_path / "s2").symlink_to(victim, target_is_directory=True)
        with pytest.raises(ValidationError, match="symbolic link"):
            em.downlink_folder("s2", tmp_path, pod_name, overwrite=True)
    assert sorted(p.name for p in victim.iterdir()) == ["secret.txt"]
    assert (victim / "secret.txt").read_bytes() == b"keep me\n"


def test_sync_up_does_not_follow_links(
    emulator: Any, client_kind: str, pod_name: str, tmp_path: Path
) -> None:
    src, outside = tmp_path / "src", tmp_path / "outside"
    _write(src, {"mine.txt": b"mine\n"})
    _write(outside, {"private.txt": b"not for the EM\n"})
    (src / "dirlink").symlink_to(outside, target_is_directory=True)
    (src / "filelink.txt").symlink_to(outside / "private.txt")
    with client_for(emulator, client_kind) as em:
        result = em.sync_up(src, "up", pod_name, delete=True)
        assert [i.path for i in result.transferred] == ["mine.txt"]
        assert {(i.path, i.reason) for i in result.skipped} == {
            ("dirlink", "link"),
            ("filelink.txt", "link"),
        }
        assert _remote(em, pod_name, "up") == {"mine.txt": 5}


def test_a_change_on_either_side_is_seen_whatever_its_size(
    emulator: Any, client_kind: str, pod_name: str, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    _write(tree, {"cfg.txt": b"a=1\n", "other.txt": b"x\n"})
    with client_for(emulator, client_kind) as em:
        em.sync_up(tree, "inputs", pod_name)
        (tree / "cfg.txt").write_bytes(b"a=2\n")  # the edit: same size
        sent = em.sync_up(tree, "inputs", pod_name)
        assert [(i.path, i.reason) for i in sent.transferred] == [("cfg.txt", "local-changed")]
        assert em.sync_up(tree, "inputs", pod_name).transferred == ()

        # the volume's copy changes (same size): sync_up puts the local one back
        other = tmp_path / "other"
        _write(other, {"cfg.txt": b"a=9\n"})
        em.uplink([other / "cfg.txt"], "inputs", pod_name)
        back = em.sync_up(tree, "inputs", pod_name)
        assert [(i.path, i.reason) for i in back.transferred] == [("cfg.txt", "remote-changed")]

        # an edit that keeps size and mtime_ns is only seen by checksum=True
        st = (tree / "cfg.txt").stat()
        (tree / "cfg.txt").write_bytes(b"a=3\n")
        os.utime(tree / "cfg.txt", ns=(st.st_atime_ns, st.st_mtime_ns))
        hashed = em.sync_up(tree, "inputs", pod_name, checksum=True)
        assert [(i.path, i.reason) for i in hashed.transferred] == [("cfg.txt", "local-changed")]

        down = tmp_path / "down"
        em.sync_down("inputs", down, pod_name)
        assert _local(down) == {"cfg.txt": b"a=3\n", "other.txt": b"x\n"}
        (down / "cfg.txt").write_bytes(b"a=7\n")  # a local edit is put back by sync_down
        fixed = em.sync_down("inputs", down, pod_name)
        assert [(i.path, i.reason) for i in fixed.transferred] == [("cfg.txt", "local-changed")]
        assert _local(down)["cfg.txt"] == b"a=3\n"


def test_a_missing_or_corrupt_record_never_skips_a_change(
    emulator: Any, client_kind: str, pod_name: str, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    _write(tree, {"f.txt": b"v1\n", "g.txt": b"g\n"})
    records = tmp_path / "home" / ".local" / "state" / "dphi-em" / "sync"
    with client_for(emulator, client_kind) as em:
        em.sync_up(tree, "r", pod_name)
        [record] = list(records.iterdir())
        assert json.loads(record.read_text())["files"].keys() == {"f.txt", "g.txt"}
        assert em.sync_up(tree, "r", pod_name).transferred == ()
        (tree / "f.txt").write_bytes(b"v2\n")
        record.write_text("{not json")
        sent = em.sync_up(tree, "r", pod_name)
        assert {(i.path, i.reason) for i in sent.transferred} == {
            ("f.txt", "unrecorded"),
            ("g.txt", "unrecorded"),
        }
        record.unlink()
        again = em.sync_up(tree, "r", pod_name, dry_run=True)
        assert {i.path for i in again.transferred} == {"f.txt", "g.txt"}
        assert not record.exists()  # a dry run writes no record
