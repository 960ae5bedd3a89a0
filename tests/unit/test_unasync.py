"""`scripts/unasync.py --check` (run by `make check`): `_sync/` must be exactly what the
script makes from `_async/`, so a hand edit there, a file it does not make, or a stale
`_sync/` after an `_async/` edit all fail; an untouched copy passes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "unasync.py"
PACKAGE = ROOT / "facade" / "dphi_em"


def _check(async_dir: Path, sync_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--check",
            "--async-dir",
            str(async_dir),
            "--sync-dir",
            str(sync_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def copies(tmp_path: Path) -> tuple[Path, Path]:
    async_dir = shutil.copytree(PACKAGE / "_async", tmp_path / "_async")
    sync_dir = shutil.copytree(PACKAGE / "_sync", tmp_path / "_sync")
    return async_dir, sync_dir


def test_the_checked_in_sync_folder_is_what_the_script_makes(copies: tuple[Path, Path]) -> None:
    done = _check(*copies)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_hand_edited_line_in_sync_fails_the_check(copies: tuple[Path, Path]) -> None:
    async_dir, sync_dir = copies
    target = sync_dir / "_transport.py"
    text = target.read_text(encoding="utf-8")
    assert "self._sleep(delay)" in text
    target.write_text(text.replace("self._sleep(delay)", "self._sleep(delay * 2)"), "utf-8")
    done = _check(async_dir, sync_dir)
    assert done.returncode == 1
    assert "self._sleep(delay * 2)" in done.stdout  # the diff names the line
    assert "run `python scripts/unasync.py`" in done.stdout


def test_an_async_edit_not_regenerated_fails_and_a_stray_file_fails(
    copies: tuple[Path, Path],
) -> None:
    async_dir, sync_dir = copies
    source = async_dir / "_pod.py"
    source.write_text(source.read_text(encoding="utf-8") + "\nEXTRA = 1\n", "utf-8")
    assert _check(async_dir, sync_dir).returncode == 1
    source.write_text(source.read_text(encoding="utf-8").replace("\nEXTRA = 1\n", ""), "utf-8")
    assert _check(async_dir, sync_dir).returncode == 0
    (sync_dir / "_stray.py").write_text('"""Not made by the script."""\n', "utf-8")
    done = _check(async_dir, sync_dir)
    assert done.returncode == 1
    assert "_stray.py: not made from" in done.stdout


def test_the_sync_side_is_made_by_replacement() -> None:
    made = (PACKAGE / "_sync" / "_client.py").read_text(encoding="utf-8")
    assert "Generated from _async/_client.py by scripts/unasync.py" in made
    assert "async " not in made
    assert "await " not in made
    assert "class EMClient(ClientBase):" in made
