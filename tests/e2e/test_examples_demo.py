"""`make demo` stays true: the example scripts run end to end against a throwaway emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Where the emulator's stand-in record lives, fixed before a test points HOME elsewhere: the
#: demo's `images prepare` finds the stand-ins made before instead of making them again.
CACHE = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
#: The numbered examples `make demo` runs, each of which must pass.
EXAMPLES = sorted(path.name for path in (ROOT / "examples").glob("[0-9][0-9]_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "docker_host",
    [
        # uses the engine when there is one: with the engine tests, on one xdist worker
        pytest.param(None, id="engine-if-any", marks=pytest.mark.xdist_group("engine")),
        pytest.param("unix:///nonexistent/docker.sock", id="no-engine"),
    ],
)
def test_demo_runs_every_example_and_cleans_up(tmp_path: Path, docker_host: str | None) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(scratch), "TMPDIR": str(scratch)}
    env["XDG_CACHE_HOME"] = CACHE
    if docker_host:
        env["DOCKER_HOST"] = docker_host
        # simulated pods only wait out their max_duration: a pod minute lasts 0.1 s (27 s
        # less for example 2's 30-minute pod; the engine case keeps the demo's own second)
        env["DPHI_EM_DEMO_TIME_SCALE"] = "600"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"all {len(EXAMPLES)} examples passed" in proc.stdout
    for script in EXAMPLES:
        assert f"-- {script} done" in proc.stdout
    # what the examples must have shown
    assert "identical to the original: True" in proc.stdout
    assert "BuildFailedError [BUILD_FAILED]" in proc.stdout
    assert "PodFailedError" in proc.stdout
    assert proc.stdout.count("refused before sending") == 4
    if "pods: docker" in proc.stdout:  # pods ran: each example shows what its pod wrote
        for written in (
            "downlinked echo-test.txt: 'echo-test ran at ",
            "downlinked gpu-downlink.txt: '123'",
            "downlinked time.txt: '",
            "pod-a wrote hello-space.txt: 'Is this the final frontier?'",
            # the seed's inter-pod example as written: python -m http.server, and wget
            "server-data.txt (the server pod's directory listing):",
            "<h1>Directory listing for /</h1>",
            "the pod wrote test.txt: 'testing args 60 1024'",
            # the telemetry pods: /health appended, latest written, as the vendor's scripts do
            'downlink.txt: {"success":true,"data":{"status":"healthy"',
            "orbital.json: complete record at ",
        ):
            assert written in proc.stdout
        assert "not on the volume" not in proc.stdout
        assert "not on pod-a's volume" not in proc.stdout
        assert "not on the client's volume" not in proc.stdout
        assert "python -m dphi_em_emulator images prepare busybox:latest" in proc.stdout
    else:  # no engine: one line says so, and the examples still pass
        assert proc.stdout.count("Pods are simulated (nothing runs)") == 1
        assert "downlinked gpu-downlink.txt" not in proc.stdout
    if docker_host:
        assert "pods: simulated" in proc.stdout
    # the throwaway data dir and the downlink folders are gone
    assert list(scratch.iterdir()) == [], list(scratch.iterdir())
