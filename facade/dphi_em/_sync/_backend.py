"""Wide socket reads: httpcore's network backend, with streams that read `READ_SIZE`
bytes at a time, wait no longer than the call's deadline, and refuse to start a request on a
connection the server closed (nothing of it is written; httpcore's pool takes another)."""

# Generated from _async/_backend.py by scripts/unasync.py: edit that file, not this one.

from __future__ import annotations

import logging
from typing import Any

import httpcore

from .._transports._bounds import DEADLINE_MESSAGE, READ_SIZE, time_left
from .._transports._pool import RequestStart

__all__ = ["WideReadBackend"]

logger = logging.getLogger("dphi_em")


class _WideReadStream(httpcore.NetworkStream):
    """A network stream whose reads ask for at least `READ_SIZE` bytes, which waits no longer
    than the call's deadline, and which refuses to start a request on a dead connection."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self._start = RequestStart()

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._start.read()
        timeout, limited = time_left(timeout, httpcore.ReadTimeout)
        try:
            return self._inner.read(max(max_bytes, READ_SIZE), timeout)
        except httpcore.ReadTimeout:
            if limited:
                raise httpcore.ReadTimeout(DEADLINE_MESSAGE) from None
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._start.starts() and self._inner.get_extra_info("is_readable"):
            # An idle connection is readable only when the server closed it (or sent what
            # nobody asked for): nothing of this request was written; httpcore's pool takes
            # another connection.
            logger.debug("a kept-alive connection was closed by the server; reconnecting")
            raise httpcore.ConnectionNotAvailable()
        timeout, limited = time_left(timeout, httpcore.WriteTimeout)
        try:
            self._inner.write(buffer, timeout)
        except httpcore.WriteTimeout:
            if limited:
                raise httpcore.WriteTimeout(DEADLINE_MESSAGE) from None
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        """The inner stream's `start_tls` (same arguments), its stream wrapped."""
        return _WideReadStream(self._inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class WideReadBackend(httpcore.NetworkBackend):
    """httpcore's network backend, with streams that read `READ_SIZE` bytes at a time.

    A read returns what the socket holds, up to that size: small answers cost nothing more,
    large bodies arrive in up to 1 MiB pieces.

    Args:
        inner: The backend wrapped: the pool's own (`_transports._network`).
    """

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        """The inner backend's `connect_tcp` (same arguments), its stream wrapped."""
        return _WideReadStream(self._inner.connect_tcp(*args, **kwargs))

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        """The inner backend's `connect_unix_socket` (same arguments), its stream wrapped."""
        return _WideReadStream(self._inner.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
