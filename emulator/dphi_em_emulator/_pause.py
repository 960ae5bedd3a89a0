"""A tiny static "pause" program: the process that holds a namespace's network open.

Kubernetes keeps a pod's network namespace in a `pause` container; the emulator does the
same for each user's namespace, with no image to pull: this module writes a minimal ELF
executable (a loop around a sleeping system call, about 150 bytes) for the engine's
architecture, and the Docker engine builds a `FROM scratch` image of it.
"""

from __future__ import annotations

import struct

# x86-64:  loop: mov eax, 34 (pause); syscall; jmp loop
_AMD64 = bytes.fromhex("b8220000000f05ebf7")
# aarch64: loop: mov x0..x3, #0; mov x8, #73 (ppoll: no fds, no timeout); svc #0; b loop
_ARM64 = b"".join(
    struct.pack("<I", word)
    for word in (
        0xD2800000,
        0xD2800001,
        0xD2800002,
        0xD2800003,
        0xD2800928,
        0xD4000001,
        0x17FFFFFA,
    )
)
_MACHINES = {"amd64": (62, _AMD64), "arm64": (183, _ARM64)}
_BASE = 0x400000


def pause_program(arch: str) -> bytes | None:
    """The ELF executable for `arch` (`amd64` or `arm64`), or None for another one."""
    if arch not in _MACHINES:
        return None
    machine, code = _MACHINES[arch]
    ehsize, phsize = 64, 56
    entry = _BASE + ehsize + phsize
    total = ehsize + phsize + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little endian, SysV
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, machine, 1, entry, ehsize, 0, 0, ehsize, phsize, 1, 0, 0, 0
    )
    segment = struct.pack("<IIQQQQQQ", 1, 5, 0, _BASE, _BASE, total, total, 0x1000)
    return header + segment + code
