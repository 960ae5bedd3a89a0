"""Connection reuse: what httpcore's pool is not told.

A connection holding bytes after its response's end (a body longer than its
`Content-Length`) must be closed, never reused: those bytes would be taken for the next
request's answer (`connections_with_leftovers`). A kept-alive connection the server closed
is readable before a new request starts; `RequestStart` tells the first write of a new
request from the rest of one, so the wide-read streams (`_backend`) can drop it then.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RequestStart", "connections_with_leftovers"]


def _h11_state(connection: Any) -> Any:
    """The `h11.Connection` under an httpcore pool connection (None: not HTTP/1.1)."""
    for _ in range(4):  # HTTPConnection -> HTTP11Connection (-> more behind a proxy)
        state = getattr(connection, "_h11_state", None)
        if state is not None:
            return state
        connection = getattr(connection, "_connection", None)
        if connection is None:
            return None
    return None


def connections_with_leftovers(transport: Any) -> list[Any]:
    """The idle pooled connections of `transport` holding bytes past their last response.

    Reads httpcore 1.0's pool (`_pool.connections`) and h11's `trailing_data`;
    `tests/faults/test_client_holes.py` fails if they move.
    """
    pool = getattr(transport, "_pool", None)
    found = []
    for connection in list(getattr(pool, "connections", None) or ()):
        state = _h11_state(connection)
        leftover = getattr(state, "trailing_data", (b"", False))[0] if state else b""
        if leftover and connection.is_idle():
            found.append(connection)
    return found


class RequestStart:
    """What a stream knows to tell a new request from the rest of one (`_backend`)."""

    __slots__ = ("reads", "writing")

    def __init__(self) -> None:
        self.reads = 0
        self.writing = False

    def starts(self) -> bool:
        """Whether a write now begins a request on a connection used before."""
        begins = not self.writing and self.reads > 0
        self.writing = True
        return begins

    def read(self) -> None:
        self.writing = False
        self.reads += 1
