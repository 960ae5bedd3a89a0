"""The kernel log's word on a pod's OOM kill (`_docker/_kernel_log.py`), read from a file laid
out as `/dev/kmsg` gives it; the real log is read by the engine test of an OOM-killed pod."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dphi_em_emulator._docker._kernel_log import oom_killed

ID = "a90d6efff0e6adfef5615998ce763c2f6f6b0cceb319464c737d7c952aa1e219"
OTHER = "0" * 64
HEAD = "6,1,100,-;Linux version 6.18.44\n SUBSYSTEM=cpu\n"


def _oom_line(pri: int, memcg: str, task: str = "dd") -> str:
    return (
        f"{pri},4242,31710348396,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),"
        f"cpuset={ID},mems_allowed=0,oom_memcg={memcg},task_memcg={memcg},task={task},"
        "pid=24754,uid=0\n"
    )


def _log(tmp_path: Path, *records: str) -> str:
    path = tmp_path / "kmsg"
    path.write_text(
        HEAD
        + "".join(records)
        + "3,4243,31710348411,-;Memory cgroup out of memory: Killed process 24754 (dd)\n"
    )
    return str(path)


@pytest.mark.parametrize("memcg", [f"/docker/{ID}", f"/system.slice/docker-{ID}.scope"])
def test_an_oom_kill_in_the_containers_memory_cgroup_counts(tmp_path: Path, memcg: str) -> None:
    assert oom_killed(ID, _log(tmp_path, _oom_line(6, memcg))) is True


def test_another_containers_oom_kill_does_not_count(tmp_path: Path) -> None:
    kmsg = _log(tmp_path, _oom_line(6, f"/docker/{OTHER}"), _oom_line(6, f"/docker/{ID}x"))
    assert oom_killed(ID, kmsg) is False
    assert oom_killed(ID[:12], _log(tmp_path, _oom_line(6, f"/docker/{ID}"))) is False


def test_a_record_a_process_wrote_does_not_count(tmp_path: Path) -> None:
    # what a process writes to /dev/kmsg is logged with the user facility (1): 8 + level
    kmsg = _log(tmp_path, _oom_line(14, f"/docker/{ID}"), f" {_oom_line(6, f'/docker/{ID}')}")
    assert oom_killed(ID, kmsg) is False


def test_a_task_name_cannot_name_another_cgroup(tmp_path: Path) -> None:
    # the first task_memcg is the kernel's; a process may name itself (15 bytes) at will
    kmsg = _log(tmp_path, _oom_line(6, f"/docker/{OTHER}", task=f",task_memcg=/docker/{ID}"))
    assert oom_killed(ID, kmsg) is False


def test_a_log_that_cannot_be_read_says_nothing(tmp_path: Path) -> None:
    assert oom_killed(ID, str(tmp_path / "missing")) is None
    if os.geteuid() != 0:
        unreadable = Path(_log(tmp_path, _oom_line(6, f"/docker/{ID}")))
        unreadable.chmod(0)
        assert oom_killed(ID, str(unreadable)) is None


def test_a_record_across_reads_is_whole(tmp_path: Path) -> None:
    # a file gives many records a read: the OOM kill's record starts 50 bytes before 64 KiB
    filler = "6,2,2,-;" + "x" * (65536 - 50 - len(HEAD) - len("6,2,2,-;\n")) + "\n"
    kmsg = _log(tmp_path, filler, _oom_line(6, f"/docker/{ID}"), filler)
    assert Path(kmsg).read_text().index("oom-kill:") < 65536 < Path(kmsg).read_text().index(ID)
    assert oom_killed(ID, kmsg) is True
