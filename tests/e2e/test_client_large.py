"""1 GiB up and down through each client, byte-exact, while the client's memory stays flat.

The client runs in a child process (`_large_child.py`), so that its peak resident memory
(VmHWM) measures the client alone; the emulator runs in-process here. The file is sparse
on the sending side and hashed as it is compared, so the test holds no big buffer either.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SIZE = 1024 * 1024 * 1024
MAX_GROWTH_KIB = 64 * 1024


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_one_gib_round_trip_with_flat_memory(make_emulator: Any, tmp_path: Path, kind: str) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the client's memory")
    server = make_emulator(max_uplink_bytes=2 * SIZE)
    source = tmp_path / "gib.bin"
    with source.open("wb") as f:  # 1 GiB with a few written stretches, so the hash means something
        for i in range(0, SIZE, 128 * 1024 * 1024):
            f.seek(i)
            f.write(i.to_bytes(8, "big") * 1024)
        f.truncate(SIZE)
    child = Path(__file__).with_name("_large_child.py")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(child), kind, server.url, "client1", "secret", str(source), str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    received = Path(result["path"])
    assert received.stat().st_size == SIZE
    assert _digest(received) == _digest(source)
    growth = result["peak"] - result["baseline"]
    assert growth < MAX_GROWTH_KIB, f"{kind} client's peak RSS grew by {growth // 1024} MiB"
