"""A pod's volume handed to the engine through a `nosuid,nodev` bind mount of it.

Docker's bind mounts take no `nosuid`/`nodev` options, but a bind mount copies the flags of
the mount it is made from. So, where the emulator may mount (root, on the engine's machine),
a pod's container is created and started from a short-lived bind mount of its volume
(`DATA_DIR/mounts/<id>`, remounted `nosuid,nodev`): the container's `/data` keeps both flags,
and the short-lived mount is detached as soon as the container has started (the container's
own mount lives on). Elsewhere the volume is bound as it is, and the start-up line says so;
what else holds then: the data dir is the emulator's alone (mode 0700), pods have no
`CAP_MKNOD`, and set-ID bits are cleared when a pod ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import uuid
from collections.abc import Iterator
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


def mount_problem() -> str | None:
    """Why the emulator can't make `nosuid,nodev` views of volumes, or None."""
    if os.geteuid() != 0:
        return "the emulator is not root"
    if _libc() is None:
        return "no C library to call mount(2)"
    return None


def clear_stale(staging: Path) -> None:
    """Detach and remove views a crashed emulator left in `staging`."""
    libc = _libc()
    if libc is None or not staging.is_dir():
        return
    for point in staging.iterdir():
        libc.umount2(os.fsencode(point), _MNT_DETACH)
        with contextlib.suppress(OSError):
            point.rmdir()


@contextlib.contextmanager
def nosuid_view(volume: Path, staging: Path, enabled: bool) -> Iterator[Path]:
    """A `nosuid,nodev` bind mount of `volume` under `staging` while the block runs (create
    and start the container in it); `volume` itself when not `enabled`.

    Raises:
        OSError: The mount failed (e.g. the volume vanished).
    """
    if not enabled:
        yield volume
        return
    libc = _libc()
    assert libc is not None
    point = staging / uuid.uuid4().hex
    point.mkdir(parents=True)
    target = os.fsencode(point)
    try:
        if libc.mount(os.fsencode(volume), target, None, _MS_BIND, None) != 0:
            number = ctypes.get_errno()
            raise OSError(number, f"mount --bind {volume}: {os.strerror(number)}")
        try:
            flags = _MS_REMOUNT | _MS_BIND | _MS_NOSUID | _MS_NODEV
            if libc.mount(None, target, None, flags, None) != 0:
                number = ctypes.get_errno()
                raise OSError(number, f"remount nosuid,nodev: {os.strerror(number)}")
            yield point
        finally:
            libc.umount2(target, _MNT_DETACH)
    finally:
        with contextlib.suppress(OSError):
            point.rmdir()
