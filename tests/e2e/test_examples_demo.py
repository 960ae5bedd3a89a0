"""`make demo` stays true: the example scripts run end to end against a throwaway emulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_runs_every_example_and_cleans_up(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(scratch), "TMPDIR": str(scratch)},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "all 5 examples passed" in proc.stdout
    for script in ("01_simple", "02_pod_volumes", "03_pod_inter", "04_env", "05_errors"):
        assert f"-- {script}" in proc.stdout
    # what the examples must have shown
    assert "identical to the original: True" in proc.stdout
    assert "BuildFailedError [BUILD_FAILED]" in proc.stdout
    assert "PodFailedError" in proc.stdout
    assert proc.stdout.count("refused before sending") == 4
    # the throwaway data dir and the downlink folders are gone
    assert list(scratch.iterdir()) == [], list(scratch.iterdir())
