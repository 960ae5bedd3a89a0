"""The emulator SIGKILLed mid-transfer and started again on the same data dir.

What must hold: the call fails with a clear `EMError` (never a bare httpx or socket error),
nothing partial is left (no file in the volume, no `.part` beside the download target), and
the same client's next call works once the emulator is back (the tokens survive a restart).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from dphi_em import EMClient, EMError
from faults_support import FAULT_PASSWORD, FAULT_USERS

pytestmark = pytest.mark.faults

_SIZE = 48 * 1024 * 1024
_CUT_AT = 8 * 1024 * 1024


def _big_file(folder: Path) -> tuple[Path, str]:
    path = folder / "big.bin"
    with path.open("wb") as file:
        for _ in range(_SIZE // (4 * 1024 * 1024)):
            file.write(os.urandom(4 * 1024 * 1024))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _check_clear(error: EMError) -> None:
    assert type(error).__module__.startswith("dphi_em"), type(error)
    assert str(error), "an error without a message"
    assert FAULT_PASSWORD not in str(error)


def test_a_kill_mid_uplink_leaves_nothing_and_the_next_call_works(
    emulator_process: Any, tmp_path: Path
) -> None:
    source, digest = _big_file(tmp_path)
    emulator = emulator_process(users=FAULT_USERS)
    with EMClient(emulator.url, "client1", FAULT_PASSWORD) as em:
        assert em.files_list(pod_name="kill-up") == []  # logged in, connection kept alive
        killed: list[int] = []

        def kill_midway(done: int, total: int) -> None:
            if done >= _CUT_AT and not killed:
                killed.append(done)
                emulator.kill()

        with pytest.raises(EMError) as cut:
            em.uplink([source], pod_name="kill-up", progress=kill_midway)
        assert killed, "the emulator was not killed"
        assert killed[0] < _SIZE, "the emulator was not killed mid-body"
        _check_clear(cut.value)

        emulator.restart()
        assert em.files_list(pod_name="kill-up") == []  # nothing half-stored
        result = em.uplink([source], pod_name="kill-up")
        assert result.file_count == 1
        [node] = em.files_list(pod_name="kill-up")
        assert node.name == "big.bin"
        assert node.size == _SIZE
        # the staged part of the killed call went with the restart
        assert not any((emulator.data_dir / "tmp").iterdir())
        em.downlink("big.bin", tmp_path / "back", pod_name="kill-up")
    assert hashlib.sha256((tmp_path / "back" / "big.bin").read_bytes()).hexdigest() == digest


def test_a_kill_mid_downlink_leaves_no_file_and_the_next_call_works(
    emulator_process: Any, tmp_path: Path
) -> None:
    source, digest = _big_file(tmp_path)
    emulator = emulator_process(users=FAULT_USERS)
    target = tmp_path / "down"
    with EMClient(emulator.url, "client1", FAULT_PASSWORD) as em:
        em.uplink([source], pod_name="kill-down")
        killed: list[int] = []

        def kill_midway(done: int, total: int) -> None:
            if done >= _CUT_AT and not killed:
                killed.append(done)
                emulator.kill()

        with pytest.raises(EMError) as cut:
            em.downlink("big.bin", target, pod_name="kill-down", progress=kill_midway)
        assert killed, "the emulator was not killed"
        assert killed[0] < _SIZE, "the emulator was not killed mid-body"
        _check_clear(cut.value)
        # no file; only the hidden partial file and its record, kept for a resume (issue 12)
        assert not (target / "big.bin").exists()
        assert sorted(p.suffix for p in target.iterdir()) == [".json", ".part"]

        emulator.restart()
        path = em.downlink("big.bin", target, pod_name="kill-down")
        assert path == target / "big.bin"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        assert sorted(p.name for p in target.iterdir()) == ["big.bin"]
