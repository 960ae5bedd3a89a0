"""The data dir mounted `nosuid,nodev` on the host, so that pods' bind mounts are too.

Docker's bind mounts take no `nosuid`/`nodev` options, but a bind mount copies the flags of
the mount it is made from. So an emulator that may mount (root, on the engine's machine)
bind-mounts its data dir onto itself (the whole of it: uploads are renamed from `tmp/` into
the volumes, which must stay one file system) and remounts it `nosuid,nodev`: every pod's
`/data` made from it carries both flags, and a set-user-ID file or a device node a pod leaves
in a volume is inert on the host as well (for anyone reaching it through the data dir).
Elsewhere the emulator says it could not, and relies on what else holds (the data dir is
the emulator's alone, pods have no `CAP_MKNOD`, and set-ID bits are cleared when a pod ends).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from pathlib import Path

_MS_NOSUID = 2
_MS_NODEV = 4
_MS_REMOUNT = 32
_MS_BIND = 4096
_MNT_DETACH = 2


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    return ctypes.CDLL(name, use_errno=True)


def mount_options(path: Path) -> set[str] | None:
    """The options of the mount whose mount point is exactly `path`, or None."""
    target = os.path.realpath(path)
    found = None
    with contextlib.suppress(OSError), open("/proc/self/mountinfo", encoding="utf-8") as file:
        for line in file:
            fields = line.split()
            if len(fields) > 5 and fields[4].encode().decode("unicode_escape") == target:
                found = set(fields[5].split(","))  # the last (topmost) one wins
    return found


def mount_nosuid(path: Path) -> tuple[bool, str | None]:
    """Make `path` a `nosuid,nodev` bind mount of itself.

    Returns:
        (whether this call mounted it, so that `unmount` must undo it; why it could not,
        or None when `path` is `nosuid,nodev` now).
    """
    options = mount_options(path)
    if options is not None and {"nosuid", "nodev"} <= options:
        return False, None
    if os.geteuid() != 0:
        return False, "the emulator is not root"
    libc = _libc()
    if libc is None:
        return False, "no C library to call mount(2)"
    target = os.fsencode(os.path.realpath(path))
    mounted = options is None
    if mounted and libc.mount(target, target, None, _MS_BIND, None) != 0:
        return False, f"mount --bind: {os.strerror(ctypes.get_errno())}"
    flags = _MS_REMOUNT | _MS_BIND | _MS_NOSUID | _MS_NODEV
    if libc.mount(None, target, None, flags, None) != 0:
        error = os.strerror(ctypes.get_errno())
        if mounted:
            libc.umount2(target, _MNT_DETACH)
        return False, f"mount -o remount,nosuid,nodev: {error}"
    return mounted, None


def unmount(path: Path) -> None:
    """Undo `mount_nosuid` (lazily: a pod kept running keeps its own mount)."""
    libc = _libc()
    if libc is None or mount_options(path) is None:
        return
    libc.umount2(os.fsencode(os.path.realpath(path)), _MNT_DETACH)
