"""Listening sockets inside another network namespace (a pod's), served from the emulator.

A pod reaches `satellite-telemetry.dphi-tm` at `TELEMETRY_ADDRESS` (a loopback address of
its own network namespace, named in its hosts file) on ports 80 and 8000. The emulator (as
root) makes those listening sockets there: a short-lived thread joins the namespace
(`setns(2)` through libc: Python 3.11 has no `os.setns`), creates, binds and listens, and
ends; a socket stays in the namespace it was made in, wherever it is then used. The
emulator's proxy loop (`_service.py`) accepts on them and relays each connection to the
service's ground address. No interface, route or bridge is created: the bytes cross the
namespace boundary inside the emulator process.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading

#: The loopback address the service answers at inside a pod's network namespace (not
#: 127.0.0.1, so that a pod's own servers on 127.0.0.1 keep their ports).
TELEMETRY_ADDRESS = "127.0.0.77"
#: The names a pod's hosts file gives that address.
TELEMETRY_HOSTNAMES: tuple[str, ...] = (
    "satellite-telemetry.dphi-tm",
    "satellite-telemetry.dphi-tm.svc",
    "satellite-telemetry.dphi-tm.svc.cluster.local",
)
#: The service's ports in a pod (the vendor's docs use 80; its seed-era script 8000).
POD_PORTS: tuple[int, ...] = (80, 8000)
_CLONE_NEWNET = 0x40000000


def hosts_line() -> str:
    """The hosts file line naming the service."""
    return f"{TELEMETRY_ADDRESS}\t{' '.join(TELEMETRY_HOSTNAMES)}"


def can_enter_namespaces() -> bool:
    """Whether this process may join other network namespaces (it must be root)."""
    return os.geteuid() == 0 and os.path.exists("/proc/thread-self/ns/net")


def listen_in_namespace(pid: int, ports: list[int]) -> dict[int, socket.socket | OSError]:
    """Listening TCP sockets at `TELEMETRY_ADDRESS` on `ports` inside the network namespace of
    process `pid`: port -> socket, or the error that port got.

    Raises:
        OSError: The namespace can't be joined (no such process, not permitted).
    """
    results: dict[int, socket.socket | OSError] = {}
    failure: list[OSError] = []

    def work() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        except OSError as exc:
            failure.append(exc)
            return
        try:
            if libc.setns(target, _CLONE_NEWNET) != 0:
                code = ctypes.get_errno()
                failure.append(OSError(code, f"setns into process {pid}: {os.strerror(code)}"))
                return
            try:
                for port in ports:
                    results[port] = _listen(port)
            finally:
                # this thread ends next; going back only keeps it tidy until then
                libc.setns(own, _CLONE_NEWNET)
        finally:
            os.close(own)
            os.close(target)

    thread = threading.Thread(target=work, name=f"dphi-em-netns-{pid}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return results


def _listen(port: int) -> socket.socket | OSError:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((TELEMETRY_ADDRESS, port))
        sock.listen(64)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        return exc
    return sock
