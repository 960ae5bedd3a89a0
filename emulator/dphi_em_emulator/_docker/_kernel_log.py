"""The kernel's word on a pod's OOM kill, which the engine's `State.OOMKilled` can miss.

containerd learns of a container's OOM kill from its memory cgroup's notification, and drops
it when the cgroup is already gone by the time it looks: on a busy machine (`stress-ng --cpu
4`), 2 of 40 busybox containers OOM-killed at 16 MiB ended with `OOMKilled: false` and no
`oom` event at all, so no wait for the engine helps. The kernel logs every memory cgroup's OOM
kill before the process dies (`oom-kill:constraint=CONSTRAINT_MEMCG,...,task_memcg=/docker/
<id>,task=dd,...`), so an emulator that may read the kernel log (`/dev/kmsg`: root, or
CAP_SYSLOG) knows at once. Only records of the kernel's own facility count: what a process
writes to `/dev/kmsg` is logged with the user facility.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

#: The kernel log, a record per read (`Documentation/ABI/testing/dev-kmsg`).
KMSG = "/dev/kmsg"
_CHUNK = 64 * 1024
_TAG = "oom-kill:"
_TASK_MEMCG = ",task_memcg="


def oom_killed(container_id: str, kmsg: str = KMSG) -> bool | None:
    """Whether the kernel log holds an OOM kill of a process in the container's memory cgroup
    (its full engine id); None when the log cannot be read."""
    try:
        fd = os.open(kmsg, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return any(_killed_in(message) == container_id for message in _kernel_messages(fd))
    except OSError:
        return None
    finally:
        os.close(fd)


def _killed_in(message: str) -> str | None:
    """The container id an `oom-kill:` message names as the killed task's memory cgroup
    (`/docker/<id>` with cgroupfs, `/system.slice/docker-<id>.scope` with systemd)."""
    if not message.startswith(_TAG):
        return None
    start = message.find(_TASK_MEMCG)
    if start < 0:
        return None
    start += len(_TASK_MEMCG)
    end = message.find(",", start)
    name = message[start : end if end >= 0 else len(message)].rsplit("/", 1)[-1]
    if name.startswith("docker-") and name.endswith(".scope"):
        return name[len("docker-") : -len(".scope")]
    return name


def _kernel_messages(fd: int) -> Iterator[str]:
    """The messages of the kernel facility's records, oldest first; a record's continuation
    lines (` KEY=value`) are skipped."""
    rest = b""
    while True:
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:  # read everything there is
            break
        except BrokenPipeError:  # records were overwritten while reading: read on
            continue
        if not chunk:
            break
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            head, sep, message = line.partition(b";")
            if not sep or line.startswith(b" "):
                continue
            prefix = head.split(b",", 1)[0]
            if prefix.isdigit() and int(prefix) >> 3 == 0:  # facility 0: the kernel's
                yield message.decode("utf-8", "replace")
