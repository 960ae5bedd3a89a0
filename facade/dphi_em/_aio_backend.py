"""An httpcore network backend for plain TCP on asyncio that reads the socket directly.

httpcore's default async backend reads through anyio's socket stream, an asyncio transport
that takes at most 256 KiB from the socket per turn of the event loop and stops reading
after each piece: a 1 GiB download arrives in about 8,000 pieces, each costing a loop turn
and a reader registration. `AsyncioSocketBackend` opens its own non-blocking socket and each
`read` is one `socket.recv` of up to the size asked (`READ_SIZE`, 1 MiB, through the
wide-read wrapper in `_async._backend`), waiting on the loop only when nothing has arrived yet.

What it keeps of the default backend (`httpcore.AnyIOBackend` on asyncio):

- **Timeouts**: connect, read and write timeouts are anyio cancel scopes
  (`anyio.fail_after`), raised as `httpcore.ConnectTimeout`, `ReadTimeout` and
  `WriteTimeout`; socket errors become `ConnectError`, `ReadError` and `WriteError`; the
  end of the stream is `b""`.
- **Cancellation**: every `read` is a checkpoint (it yields to the loop once before reading,
  as anyio's stream does), so a cancelled task stops there with nothing read; a read or
  write waiting on the socket is cancelled with its task, and a connect in progress closes
  its socket.
- **Socket options**: `TCP_NODELAY` (asyncio sets it on its TCP transports), then the
  caller's `socket_options`; `local_address` binds the socket before it connects.
- **TLS**: `start_tls` hands the connected socket to anyio (`SocketStream.from_socket`) and
  continues with httpcore's own anyio stream, so an `https://` server (or a proxy's
  `CONNECT` tunnel) gets exactly the default TLS handling.
- **Other event loops**: outside a running asyncio loop (trio), every call goes to the
  fallback backend (httpcore's `AutoBackend`). Unix sockets always do.

Where it differs: a host name's addresses are tried one after the other, as
`socket.create_connection` (and so the sync client) does, not raced ("happy eyeballs").
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterable
from typing import Any

import anyio
import anyio.abc
import httpcore

from ._fastbody import now_or_none

__all__ = ["DIRECT_SOCKET", "AsyncioSocketBackend", "AsyncioSocketStream"]

#: `get_extra_info` key of the socket itself, readable by its owner's task (no asyncio
#: transport reads it): `_fastbody` reads a downlink's body from it.
DIRECT_SOCKET = "dphi_em.direct_socket"

_ERRORS: dict[str, tuple[type[Exception], type[Exception]]] = {
    "read": (httpcore.ReadTimeout, httpcore.ReadError),
    "write": (httpcore.WriteTimeout, httpcore.WriteError),
    "connect": (httpcore.ConnectTimeout, httpcore.ConnectError),
}


def _map(exc: Exception, step: str) -> Exception | None:
    """httpcore's exception for `exc` raised while doing `step`, or None (not ours to map).

    A `TimeoutError` without an errno is a timeout (`anyio.fail_after`); one with an errno
    (`ETIMEDOUT` from the kernel) is a socket error, as for anyio's streams.
    """
    timeout, error = _ERRORS[step]
    if isinstance(exc, TimeoutError) and exc.errno is None:
        return timeout(exc)
    if isinstance(exc, OSError):
        return error(exc)
    return None


class AsyncioSocketStream(httpcore.AsyncNetworkStream):
    """A connected non-blocking TCP socket, read and written on the running asyncio loop.

    Args:
        sock: The socket (non-blocking, connected); the stream owns it.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._handed_over = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Up to `max_bytes` bytes, as soon as any arrived; `b""` at the end of the stream.

        Raises:
            httpcore.ReadTimeout: Nothing arrived within `timeout` seconds.
            httpcore.ReadError: The connection broke (or the stream was closed).
        """
        await asyncio.sleep(0)  # a checkpoint, and a turn for the loop's other tasks
        sock = self._sock
        data = now_or_none(lambda: sock.recv(max_bytes), httpcore.ReadError)
        if data is not None:
            return data
        try:
            with anyio.fail_after(timeout):
                return await asyncio.get_running_loop().sock_recv(sock, max_bytes)
        except Exception as exc:
            mapped = _map(exc, "read")
            if mapped is None:
                raise
            raise mapped from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Send all of `buffer`.

        Raises:
            httpcore.WriteTimeout: Not all of it could be sent within `timeout` seconds.
            httpcore.WriteError: The connection broke (or the stream was closed).
        """
        if not buffer:
            return
        sock = self._sock
        sent = now_or_none(lambda: sock.send(buffer), httpcore.WriteError) or 0
        if sent == len(buffer):
            return
        try:
            with anyio.fail_after(timeout):
                await asyncio.get_running_loop().sock_sendall(sock, memoryview(buffer)[sent:])
        except Exception as exc:
            mapped = _map(exc, "write")
            if mapped is None:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        """Close the socket (unless `start_tls` handed it over); idempotent."""
        sock = self._sock
        if self._handed_over or sock.fileno() == -1:
            return
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):  # a loop without readers (Proactor)
            loop.remove_reader(sock.fileno())  # a cancelled wait may not have done it yet
            loop.remove_writer(sock.fileno())
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)  # as anyio's stream does (write_eof), then close
        sock.close()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """The TLS stream over this connection: httpcore's own anyio stream takes it over.

        Raises:
            httpcore.ConnectTimeout: The handshake took longer than `timeout` seconds.
            httpcore.ConnectError: The handshake failed.
        """
        from httpcore._backends.anyio import AnyIOStream  # httpcore's default TLS path

        try:
            plain = await anyio.abc.SocketStream.from_socket(self._sock)
        except Exception as exc:
            await self.aclose()
            mapped = _map(exc, "connect")
            if mapped is None:
                raise
            raise mapped from exc
        self._handed_over = True
        return await AnyIOStream(plain).start_tls(ssl_context, server_hostname, timeout)

    def get_extra_info(self, info: str) -> Any:
        """`socket`, `client_addr`, `server_addr`, `is_readable`, `DIRECT_SOCKET`;
        `ssl_object` is None."""
        sock = self._sock
        if info == "socket":
            return sock
        if info == DIRECT_SOCKET:
            return None if self._handed_over or sock.fileno() == -1 else sock
        if info == "is_readable":  # also True once closed: nothing more can be written
            from httpcore._utils import is_socket_readable

            return is_socket_readable(sock)
        if sock.fileno() == -1:
            return None
        if info == "client_addr":
            return sock.getsockname()
        if info == "server_addr":
            return sock.getpeername()
        return None


async def _addresses(host: str, port: int) -> list[tuple[Any, ...]]:
    """`getaddrinfo` for a stream socket: a literal address at once, a name in a thread."""
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass
    loop = asyncio.get_running_loop()
    return await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)


async def _connect(host: str, port: int, local_address: str | None) -> socket.socket:
    """A connected non-blocking socket to the first of `host`'s addresses that answers."""
    loop = asyncio.get_running_loop()
    errors: list[OSError] = []
    for family, kind, proto, _, address in await _addresses(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            if local_address is not None:
                sock.bind((local_address, 0))
            await loop.sock_connect(sock, address)
            if family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    if len(errors) == 1:
        raise errors[0]
    raise OSError(
        f"All connection attempts to {host}:{port} failed: " + "; ".join(str(exc) for exc in errors)
    )


class AsyncioSocketBackend(httpcore.AsyncNetworkBackend):
    """httpcore's async network backend for TCP on asyncio, reading sockets directly.

    See the module docs for what it keeps of httpcore's default backend.

    Args:
        fallback: What serves Unix sockets and other event loops (default: httpcore's
            `AutoBackend`, the pool's own).
    """

    def __init__(self, fallback: httpcore.AsyncNetworkBackend | None = None) -> None:
        if fallback is None:
            from httpcore._backends.auto import AutoBackend

            fallback = AutoBackend()
        self.fallback = fallback

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to `host:port` within `timeout` seconds.

        Raises:
            httpcore.ConnectTimeout: Not connected within `timeout` seconds.
            httpcore.ConnectError: No address of `host` accepted the connection.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): httpcore's own backend
            return await self.fallback.connect_tcp(
                host, port, timeout, local_address, socket_options
            )
        try:
            with anyio.fail_after(timeout):
                sock = await _connect(host, port, local_address)
        except Exception as exc:
            mapped = _map(exc, "connect")
            if mapped is None:
                raise
            raise mapped from exc
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
        except OSError as exc:
            sock.close()
            raise httpcore.ConnectError(exc) from exc
        return AsyncioSocketStream(sock)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """The fallback's Unix socket stream."""
        return await self.fallback.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        """The fallback's sleep."""
        await self.fallback.sleep(seconds)
