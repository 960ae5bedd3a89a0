"""The sync planner (`_sync`): decisions without I/O."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from dphi_em import ValidationError
from dphi_em._models import FileNode
from dphi_em._syncrecord import Seen
from dphi_em._treesync import (
    LocalEntry,
    RemoteEntry,
    normalize_remote_dir,
    plan_folder_downlink,
    plan_sync,
    remote_entries,
)

NOON = datetime(2026, 12, 2, 12, 0)
NOON_TS = NOON.replace(tzinfo=timezone.utc).timestamp()


def _local(path: str, size: int, ts: float = NOON_TS) -> LocalEntry:
    return LocalEntry(path, size, ts)


def _seen(size: int, remote: RemoteEntry, mtime_ns: int = 1, sha: str = "h") -> Seen:
    return Seen(size, mtime_ns, sha, remote.size, remote.time, remote.hash)


def test_size_then_the_record_decide() -> None:
    remote = {
        p: RemoteEntry(p, 5, NOON, 7)
        for p in ("same.txt", "bigger.txt", "edited.txt", "theirs.txt", "bare.txt", "gone.txt")
    }
    local = {
        "same.txt": LocalEntry("same.txt", 5, NOON_TS, 1),
        "bigger.txt": LocalEntry("bigger.txt", 6, NOON_TS, 1),
        "edited.txt": LocalEntry("edited.txt", 5, NOON_TS, 2),  # same size, new mtime
        "theirs.txt": LocalEntry("theirs.txt", 5, NOON_TS, 1),
        "bare.txt": LocalEntry("bare.txt", 5, NOON_TS, 1),
        "new.txt": LocalEntry("new.txt", 1, NOON_TS, 1),
    }
    seen = {p: _seen(5, remote[p]) for p in ("same.txt", "bigger.txt", "edited.txt")}
    seen["theirs.txt"] = Seen(5, 1, "h", 5, remote["theirs.txt"].time, 8)  # hash moved on
    up = plan_sync("up", local, set(), remote, set(), delete=False, seen=seen)
    assert {(i.path, i.reason) for i in up.transfer} == {
        ("bigger.txt", "size"),
        ("edited.txt", "local-changed"),
        ("theirs.txt", "remote-changed"),
        ("bare.txt", "unrecorded"),
        ("new.txt", "new"),
    }
    assert [i.path for i in up.skip] == ["same.txt"]
    assert up.delete == ()
    down = plan_sync("down", local, set(), remote, set(), delete=True, seen=seen)
    assert ("gone.txt", "new") in {(i.path, i.reason) for i in down.transfer}
    assert down.delete == ("new.txt",)


def test_a_local_link_is_skipped_and_never_deleted_or_written_through() -> None:
    remote = {p: RemoteEntry(p, 1, NOON) for p in ("ln/secret", "ln", "box/x")}
    down = plan_sync("down", {}, set(), remote, set(), delete=True, links=["box", "ln"])
    assert down.transfer == ()
    assert {(i.path, i.reason) for i in down.skip} == {
        ("ln/secret", "link"),
        ("ln", "link"),
        ("box/x", "link"),
    }
    up = plan_sync("up", {}, set(), remote, {"box"}, delete=True, links=["box", "ln"])
    assert up.delete == ()
    assert {(i.path, i.reason) for i in up.skip} == {("box", "link"), ("ln", "link")}


def test_a_folder_the_source_lacks_is_deleted_whole() -> None:
    remote = {p: RemoteEntry(p, 1, NOON) for p in ("keep/a", "old/x/1", "old/x/2", "old/y")}
    plan = plan_sync(
        "up",
        {"keep/a": _local("keep/a", 1)},
        {"keep"},
        remote,
        {"keep", "old", "old/x", "old/empty"},
        delete=True,
    )
    assert plan.delete == ("old",)


def test_a_file_on_one_side_and_a_folder_on_the_other_is_refused() -> None:
    with pytest.raises(ValidationError, match="'data'"):
        plan_sync("up", {"data": _local("data", 1)}, set(), {}, {"data"}, delete=False)


@pytest.mark.parametrize(
    ("given", "normal"), [("", ""), ("/", ""), ("/a//b/", "a/b"), ("./a/./b", "a/b")]
)
def test_remote_folders_are_normalized(given: str, normal: str) -> None:
    assert normalize_remote_dir(given) == normal


def test_dot_dot_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"\.\."):
        normalize_remote_dir("a/../b")


def _tree(*names: str) -> list[FileNode]:
    files = tuple(FileNode(name=n, type="file", size=1, modified=NOON) for n in names)
    return [FileNode(name="d", type="directory", contents=files)]


def test_a_folder_downlink_keeps_the_tree_and_refuses_unsafe_names(tmp_path: Path) -> None:
    base, items = plan_folder_downlink("d", tmp_path, _tree("a.txt"), overwrite=False)
    assert base == tmp_path / "d"
    assert [(i.filepath, i.folder, i.name) for i in items] == [("d/a.txt", tmp_path / "d", "a.txt")]
    for bad in ("..", "CON", "bad\x01name"):
        with pytest.raises(ValidationError, match="safe local"):
            plan_folder_downlink("d", tmp_path, _tree(bad), overwrite=False)


def test_remote_entries_walk_the_tree() -> None:
    files, folders = remote_entries(_tree("a", "b"))
    assert set(files) == {"d/a", "d/b"}
    assert folders == {"d"}
