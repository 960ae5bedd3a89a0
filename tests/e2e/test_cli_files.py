"""`dphi-em` file commands against the emulator: ls, uplink, downlink, rm (and login)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from support.cli import one_error_line


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "echo-test" / "sub").mkdir(parents=True)
    (root / "echo-test" / "Dockerfile").write_text("FROM fpga.dphi.space:5000/alpine\n")
    (root / "echo-test" / "echo-test.sh").write_text("echo hi\n")
    (root / "echo-test" / "sub" / "deep.bin").write_bytes(bytes(range(256)) * 4)
    (root / "hello.txt").write_text("hello\n")
    return root


def _names(nodes: Sequence[dict[str, Any]]) -> list[str]:
    return sorted(n["name"] for n in nodes)


def test_login_checks_credentials(cli: Any, emulator: Any) -> None:
    result = cli("login")
    assert result.exit_code == 0, result.output
    assert f"Logged in to {emulator.url} as {emulator.username}" in result.stdout


@pytest.mark.api_modes
def test_uplink_ls_downlink_rm(cli: Any, tree: Path, tmp_path: Path, pod_name: str) -> None:
    up = cli("uplink", str(tree / "echo-test"), str(tree / "hello.txt"), "--pod", pod_name)
    assert up.exit_code == 0, up.output
    assert "Uplinked 4 file(s)" in up.stdout

    ls = cli("ls", "--pod", pod_name)
    assert ls.exit_code == 0, ls.output
    assert ls.stdout.splitlines()[0] == f"{pod_name}:/"
    for name in ("echo-test/", "Dockerfile", "echo-test.sh", "sub/", "deep.bin", "hello.txt"):
        assert name in ls.stdout
    assert "4 file(s), 2 folder(s)" in ls.stdout

    as_json = cli("ls", "--pod", pod_name, "--json")
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)
    assert _names(data) == ["echo-test", "hello.txt"]
    folder = next(n for n in data if n["name"] == "echo-test")
    assert folder["type"] == "directory"
    assert _names(folder["contents"]) == ["Dockerfile", "echo-test.sh", "sub"]
    hello = next(n for n in data if n["name"] == "hello.txt")
    assert hello["type"] == "file"
    assert hello["size"] == 6  # normalized: an integer, not the server's string
    assert "T" in hello["modified"]  # ISO 8601, not the server's YYYY-MM-DD-HH-MM
    assert isinstance(hello["hash"], int)

    sub = json.loads(cli("ls", "echo-test/sub", "--pod", pod_name, "--json").stdout)
    assert _names(sub) == ["deep.bin"]

    out = tmp_path / "out"
    down = cli("downlink", "echo-test/sub/deep.bin", "hello.txt", "-o", str(out), "--pod", pod_name)
    assert down.exit_code == 0, down.output
    assert (out / "deep.bin").read_bytes() == (tree / "echo-test" / "sub" / "deep.bin").read_bytes()
    assert (out / "hello.txt").read_text() == "hello\n"

    again = cli("downlink", "hello.txt", "-o", str(out), "--pod", pod_name)
    assert again.exit_code == 2
    assert "--overwrite" in one_error_line(again)
    forced = cli(
        "downlink", "hello.txt", "-o", str(out), "--pod", pod_name, "--overwrite", "--json"
    )
    assert forced.exit_code == 0
    assert json.loads(forced.stdout) == [{"path": "hello.txt", "local": str(out / "hello.txt")}]

    folder = cli("rm", "echo-test", "--pod", pod_name)
    assert folder.exit_code == 2, folder.output
    assert "use 'rm -r'" in one_error_line(folder)
    rm = cli("rm", "-r", "echo-test", "--pod", pod_name)
    assert rm.exit_code == 0, rm.output
    assert _names(json.loads(cli("ls", "--pod", pod_name, "--json").stdout)) == ["hello.txt"]


def test_uplink_dest_and_volume_isolation(cli: Any, tree: Path, pod_name: str) -> None:
    result = cli(
        "uplink", str(tree / "hello.txt"), "--dest", "in/here", "--pod", pod_name, "--json"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["file_count"] == 1
    assert summary["total_bytes"] == 6
    assert summary["paths"] == ["in/here/hello.txt"]
    listed = json.loads(cli("ls", "in/here", "--pod", pod_name, "--json").stdout)
    assert _names(listed) == ["hello.txt"]
    other = cli("ls", "in/here", "--pod", pod_name + "-other")
    assert other.exit_code == 4
    assert "in/here" in one_error_line(other)


def test_ls_empty_volume(cli: Any, pod_name: str) -> None:
    result = cli("ls", "--pod", pod_name)
    assert result.exit_code == 0
    assert "(empty)" in result.stdout
    assert json.loads(cli("ls", "--pod", pod_name, "--json").stdout) == []


def test_quiet_prints_nothing(cli: Any, tree: Path, pod_name: str) -> None:
    result = cli("--quiet", "uplink", str(tree / "hello.txt"), "--pod", pod_name)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == ""
    after = cli("rm", "hello.txt", "--pod", pod_name, "-q")
    assert after.exit_code == 0
    assert after.stdout == ""


def test_downlink_missing_is_not_found(cli: Any, tmp_path: Path, pod_name: str) -> None:
    out = tmp_path / "out"
    result = cli("downlink", "no-such-file.txt", "-o", str(out), "--pod", pod_name)
    assert result.exit_code == 4
    assert "no-such-file.txt" in one_error_line(result)
    assert not out.exists() or list(out.iterdir()) == []


def test_downlink_outside_the_volume_is_forbidden(cli: Any, tmp_path: Path) -> None:
    result = cli("downlink", "../../etc/passwd", "-o", str(tmp_path))
    assert result.exit_code == 5
    assert "../../etc/passwd" in one_error_line(result)


def test_rm_missing_is_not_found_and_deletes_nothing(cli: Any, tree: Path, pod_name: str) -> None:
    assert cli("uplink", str(tree / "hello.txt"), "--pod", pod_name, "-q").exit_code == 0
    result = cli("rm", "hello.txt", "nothing-here.txt", "--pod", pod_name)
    assert result.exit_code == 4
    assert "nothing-here.txt" in one_error_line(result)
    assert _names(json.loads(cli("ls", "--pod", pod_name, "--json").stdout)) == ["hello.txt"]


def test_rm_several_paths_and_a_folder_with_r(cli: Any, tree: Path, pod_name: str) -> None:
    up = cli("uplink", str(tree / "echo-test"), str(tree / "hello.txt"), "--pod", pod_name)
    assert up.exit_code == 0, up.output
    refused = cli("rm", "hello.txt", "echo-test", "--pod", pod_name)
    assert refused.exit_code == 2
    assert "'echo-test' is a folder" in one_error_line(refused)
    assert _names(json.loads(cli("ls", "--pod", pod_name, "--json").stdout)) == [
        "echo-test",
        "hello.txt",
    ]  # nothing deleted, not even the file named first
    done = cli("rm", "-r", "hello.txt", "echo-test/sub", "--pod", pod_name, "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {
        "pod": pod_name,
        "deleted": [
            {"path": "hello.txt", "type": "file"},
            {"path": "echo-test/sub", "type": "directory"},
        ],
    }
    left = json.loads(cli("ls", "--pod", pod_name, "--json").stdout)
    assert _names(left) == ["echo-test"]
    assert _names(left[0]["contents"]) == ["Dockerfile", "echo-test.sh"]


def test_global_options_after_the_command(cli: Any, emulator: Any, pod_name: str) -> None:
    result = cli(
        "ls", "--pod", pod_name, "--url", emulator.url, "--username", emulator.username, "-q"
    )
    assert result.exit_code == 0, result.output
