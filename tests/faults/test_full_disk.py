"""A downlink into a folder on a full disk (a 2 MiB tmpfs): it fails, and leaves nothing.

Mounting needs root (or CAP_SYS_ADMIN); elsewhere the tests skip, saying why.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dphi_em import EMClient, EMError
from faults_support import FAULT_PASSWORD, FAULT_USERS

pytestmark = pytest.mark.faults

_DISK = 2 * 1024 * 1024


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={_DISK},mode=0700", "tmpfs", str(mount_point)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except FileNotFoundError:
        pytest.skip("no mount command on this machine")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a {_DISK} byte tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, timeout=30)


def _free(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def test_a_downlink_bigger_than_the_disk_fails_and_leaves_no_part(
    make_emulator: Any, tiny_disk: Path, tmp_path: Path
) -> None:
    server = make_emulator(users=FAULT_USERS)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(2 * _DISK))
    small = tmp_path / "small.bin"
    small.write_bytes(os.urandom(64 * 1024))
    free_before = _free(tiny_disk)
    target = tiny_disk / "out"
    with EMClient(server.url, "client1", FAULT_PASSWORD) as em:
        em.uplink([big, small], pod_name="full-disk")
        with pytest.raises((EMError, OSError)) as full:
            em.downlink("big.bin", target, pod_name="full-disk")
        if isinstance(full.value, OSError) and not isinstance(full.value, EMError):
            assert full.value.errno == errno.ENOSPC, full.value
        # nothing left: no file, no hidden .part, and the space is back
        assert list(target.iterdir()) == []
        assert _free(tiny_disk) == free_before
        # the client is still usable, and a file that fits lands whole
        path = em.downlink("small.bin", target, pod_name="full-disk")
        assert path.read_bytes() == small.read_bytes()
