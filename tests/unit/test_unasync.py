"""`scripts/unasync.py --check` (run by `make check`): `_sync/` must be exactly what the
script makes from `_async/`, and `telemetry/_client.py` what it makes from
`telemetry/_async_client.py`, so a hand edit there, a file it does not make, or a stale twin
after an async edit all fail; an untouched copy passes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "unasync.py"
PACKAGE = ROOT / "facade" / "dphi_em"


def _check(package: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--package", str(package)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of facade/dphi_em (deleted with tmp_path)."""
    return shutil.copytree(
        PACKAGE, tmp_path / "dphi_em", ignore=shutil.ignore_patterns("__pycache__")
    )


def test_the_checked_in_twins_are_what_the_script_makes(package: Path) -> None:
    done = _check(package)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_hand_edited_line_in_sync_fails_the_check(package: Path) -> None:
    target = package / "_sync" / "_transport.py"
    text = target.read_text(encoding="utf-8")
    assert "self._sleep(delay)" in text
    target.write_text(text.replace("self._sleep(delay)", "self._sleep(delay * 2)"), "utf-8")
    done = _check(package)
    assert done.returncode == 1
    assert "self._sleep(delay * 2)" in done.stdout  # the diff names the line
    assert "run `python scripts/unasync.py`" in done.stdout


def test_a_hand_edited_line_in_the_telemetry_client_fails_the_check(package: Path) -> None:
    target = package / "telemetry" / "_client.py"
    text = target.read_text(encoding="utf-8")
    assert "for chunk in response.iter_bytes(_core.CHUNK_BYTES):" in text
    target.write_text(text.replace("_core.CHUNK_BYTES)", "1)"), "utf-8")
    done = _check(package)
    assert done.returncode == 1
    assert "response.iter_bytes(1)" in done.stdout
    target.unlink()  # a missing twin fails too
    assert _check(package).returncode == 1


def test_an_async_edit_not_regenerated_fails_and_a_stray_file_fails(package: Path) -> None:
    for source in (package / "_async" / "_pod.py", package / "telemetry" / "_async_client.py"):
        original = source.read_text(encoding="utf-8")
        source.write_text(original + "\nEXTRA = 1\n", "utf-8")
        assert _check(package).returncode == 1, source
        source.write_text(original, "utf-8")
    assert _check(package).returncode == 0
    (package / "_sync" / "_stray.py").write_text('"""Not made by the script."""\n', "utf-8")
    done = _check(package)
    assert done.returncode == 1
    assert "_stray.py: not made by scripts/unasync.py" in done.stdout


def test_the_sync_side_is_made_by_replacement() -> None:
    made = (PACKAGE / "_sync" / "_client.py").read_text(encoding="utf-8")
    assert "Generated from _async/_client.py by scripts/unasync.py" in made
    assert "async " not in made
    assert "await " not in made
    telemetry = (PACKAGE / "telemetry" / "_client.py").read_text(encoding="utf-8")
    assert "Generated from telemetry/_async_client.py by scripts/unasync.py" in telemetry
    assert "async def" not in telemetry
    assert "await " not in telemetry
    assert "async with" not in telemetry
    assert "class TelemetryClient(Closing):" in telemetry
    assert "from .._sync._closing import Closing" in telemetry
    assert "class EMClient(ClientBase, Closing):" in made
