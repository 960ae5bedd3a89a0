"""The offline stand-ins of the onboard registry's images, for the engine tests: made once per
engine through the public `images prepare` command and found again by the next run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["ONBOARD_BUSYBOX", "STANDIN_RECORD", "images_command"]

#: The onboard name the engine tests map to the busybox stand-in (`--registry-map`).
ONBOARD_BUSYBOX = "fpga.dphi.space:5000/busybox:1.36"
#: The stand-ins' record, fixed at import (before any test points HOME elsewhere), so that
#: the stand-ins are made once per engine and found again by the next run.
STANDIN_RECORD = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dphi-em" / "standins.json"
)


def images_command(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m dphi_em_emulator images ARGS --standin-record STANDIN_RECORD`."""
    command = [sys.executable, "-m", "dphi_em_emulator", "images", *args]
    command += ["--standin-record", str(STANDIN_RECORD)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
