"""Human output helpers: tree view, tables, sizes, JSON conversion, redaction, progress."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import click
import pytest
from dphi_em import FileNode, NodeStatus, PodState
from dphi_em.cli._common import State
from dphi_em.cli._debug import REDACTED, Redactor
from dphi_em.cli._output import (
    find_node,
    human_bytes,
    human_time,
    table,
    to_plain,
    tree_lines,
)
from dphi_em.cli._progress import bars_enabled, progress_for

TREE = [
    {"type": "file", "name": "downlink.txt", "size": "167", "time": "2025-11-20-12-31", "hash": 5},
    {
        "type": "directory",
        "name": "echo-test",
        "size": "487",
        "time": "2025-11-20-11-30",
        "contents": [
            {"type": "file", "name": "Dockerfile", "size": "121", "time": "2025-11-20-11-30"},
            {"type": "directory", "name": "empty", "size": "0", "time": "2025-11-20-11-30",
             "contents": []},
        ],
    },
]  # fmt: skip


def test_tree_lines_show_names_sizes_and_times() -> None:
    models = [FileNode.from_dict(d) for d in TREE]
    lines = [click.unstyle(line) for line in tree_lines(models)]
    assert lines == [
        "├── echo-test/      487 B  2025-11-20 11:30",
        "│   ├── empty/        0 B  2025-11-20 11:30",
        "│   └── Dockerfile  121 B  2025-11-20 11:30",
        "└── downlink.txt    167 B  2025-11-20 12:31",
    ]


def test_tree_lines_ascii() -> None:
    models = [FileNode.from_dict(d) for d in TREE]
    lines = [click.unstyle(line) for line in tree_lines(models, ascii_only=True)]
    assert lines[0].startswith("|-- echo-test/")
    assert lines[2].startswith("|   `-- Dockerfile")


def test_find_node() -> None:
    models = [FileNode.from_dict(d) for d in TREE]
    node = find_node(models, "echo-test/Dockerfile")
    assert node is not None
    assert node.name == "Dockerfile"
    assert find_node(models, "./echo-test/") is models[1]
    assert find_node(models, "echo-test/nope") is None


def test_table_aligns_on_plain_text() -> None:
    lines = [click.unstyle(x) for x in table(["NODE", "STATE"], [["fpga", "ready"], ["mpu1", "x"]])]
    assert lines == ["NODE  STATE", "fpga  ready", "mpu1  x"]
    right = table(["A", "N"], [["x", "5"], ["y", "100"]], right=[1])
    assert [click.unstyle(x) for x in right] == ["A    N", "x    5", "y  100"]


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), ("1023", "1023 B"), (1536, "1.5 KiB"), (3 * 1024**3, "3.0 GiB"), (None, "-"),
     ("x", "-")],
)  # fmt: skip
def test_human_bytes(size: Any, shown: str) -> None:
    assert human_bytes(size) == shown


def test_human_time() -> None:
    assert human_time(FileNode.from_dict(TREE[0]).modified) == "2025-11-20 12:31"
    assert human_time(FileNode.from_dict({"name": "x", "time": "other"}).modified) == ""
    assert human_time(None) == ""


def test_to_plain_is_json_ready() -> None:
    when = dt.datetime(2025, 5, 22, 12, 10, tzinfo=dt.timezone.utc)
    state = PodState(kind="terminated", reason="Completed", started_at=when, exit_code=0)
    data = to_plain(
        {"state": state, "node": NodeStatus(name="gpu", ready=True, status="True"),
         "path": Path("a/b"), "tree": [FileNode.from_dict(TREE[0])], "when": when}
    )  # fmt: skip
    json.dumps(data)
    assert data["state"]["kind"] == "terminated"
    assert data["state"]["started_at"] == "2025-05-22T12:10:00+00:00"
    assert data["node"] == {"name": "gpu", "ready": True, "status": "True"}
    assert data["path"] == "a/b"
    assert data["tree"][0]["hash"] == 5


def test_redactor() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2lnbmF0dXJl"
    r = Redactor(["hunter22"])
    text = r.redact(
        f'Authorization: Bearer {jwt} password=hunter22 {{"access": "{jwt}", "refresh": "x1"}}'
    )
    assert "hunter22" not in text
    assert jwt not in text
    assert '"refresh": "x1"' not in text
    assert text.count(REDACTED) >= 4
    assert r.headers({"Authorization": "Bearer abc", "Host": "em"}) == [
        f"Authorization: {REDACTED}",
        "Host: em",
    ]
    assert r.redact("Illegal path '../etc/passwd': it must stay inside") == (
        "Illegal path '../etc/passwd': it must stay inside"
    )


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_not_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not bars_enabled(State())
    with progress_for(State(), "uplink") as callback:
        assert callback is None
    monkeypatch.setattr("sys.stderr", _Tty())
    assert bars_enabled(State())
    assert not bars_enabled(State(quiet=True))
    assert not bars_enabled(State(json=True))


def test_cli_bar_is_the_library_progress_counting_bytes_and_rewinding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dphi_em._progress import Progress

    err = _Tty()
    monkeypatch.setattr("sys.stderr", err)
    with progress_for(State(), "uplink") as callback:
        assert isinstance(callback, Progress)
        callback(1024, 4096)
        callback(512, 4096)  # a retried request starts again
        callback(4096, 4096)
        assert (callback.done, callback.total) == (4096, 4096)
    shown = err.getvalue()
    assert "uplink" in shown
    assert "/4.00 KiB [" in shown  # the total, in IEC units
    assert shown.endswith("\r")  # cleared (leave=False): the command prints its summary


def test_server_text_cannot_drive_the_terminal() -> None:
    from dphi_em import APIError, PodState
    from dphi_em.cli._errors import one_line
    from dphi_em.cli._output import printable
    from dphi_em.cli._pods import describe_state

    evil = "x\x1b]0;owned\x07\u202e\x9b2J"
    assert printable(evil) == "x?]0;owned???2J"
    node = FileNode.from_dict({"type": "file", "name": evil, "size": "1", "time": "t"})
    shown = "\n".join(
        [
            *tree_lines([node]),
            *table(["NAME"], [[evil]]),
            one_line(APIError(evil, status_code=400, code="X")),
            describe_state(PodState(kind="waiting", reason=evil, message=evil)),
        ]
    )
    plain = click.unstyle(shown)  # our own colours out; an OSC or C1 sequence would stay
    assert "owned" in plain
    assert not any(c in plain for c in "\x1b\x07\u202e\x9b")
