"""The sync planner (`_sync`): decisions without I/O."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from dphi_em import ValidationError
from dphi_em._models import FileNode
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


def test_size_then_minute_decide() -> None:
    local = {
        "same.txt": _local("same.txt", 5, NOON_TS + 59),  # same minute: same
        "bigger.txt": _local("bigger.txt", 6),
        "later.txt": _local("later.txt", 5, NOON_TS + 60),
        "new.txt": _local("new.txt", 1),
    }
    remote = {
        p: RemoteEntry(p, 5, NOON) for p in ("same.txt", "bigger.txt", "later.txt", "gone.txt")
    }
    up = plan_sync("up", local, set(), remote, set(), delete=False)
    assert {(i.path, i.reason) for i in up.transfer} == {
        ("bigger.txt", "size"),
        ("later.txt", "newer"),
        ("new.txt", "new"),
    }
    assert [i.path for i in up.skip] == ["same.txt"]
    assert up.delete == ()
    down = plan_sync("down", local, set(), remote, set(), delete=True)
    assert {(i.path, i.reason) for i in down.transfer} == {
        ("bigger.txt", "size"),
        ("gone.txt", "new"),
    }
    assert down.delete == ("new.txt",)


def test_a_listed_file_without_time_is_sent() -> None:
    plan = plan_sync(
        "up", {"a": _local("a", 1)}, set(), {"a": RemoteEntry("a", 1, None)}, set(), delete=False
    )
    assert [(i.path, i.reason) for i in plan.transfer] == [("a", "newer")]


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
