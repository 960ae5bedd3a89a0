"""`EmulatorServer`: the emulator served by uvicorn in a background thread (for tests, demos).

```python
with EmulatorServer(EmulatorConfig(data_dir=tmp, users={"client1": "secret"})) as em:
    httpx.post(em.url + "auth/", data={"username": "client1", "password": "secret"})
    em.force_locked(2)  # the next two /em/ requests get 423
```
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import uvicorn

from ._config import EmulatorConfig
from ._emulator import Emulator
from .app import create_app


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) and already listening.

    Listening at once means a client that connects as soon as the address is known waits in
    the backlog while uvicorn starts, instead of being refused.

    Raises:
        OSError: The address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
    # without it every small response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def serve_in_thread(
    app: Any, sock: socket.socket, name: str, timeout: float = 10.0
) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve an ASGI app with uvicorn on a listening socket, in a daemon thread; return once
    it accepts connections.

    Raises:
        RuntimeError: It did not start within `timeout` seconds (it is stopped again).
    """
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=10)
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.01)
    return server, thread


class EmulatorServer:
    """One emulator on `host` (loopback by default) and a free port, served in a thread.

    Args:
        config: The emulator's configuration.
        host: The address to bind.
        port: The port; 0 picks a free one.
    """

    def __init__(self, config: EmulatorConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.host = host
        self._port = port
        self.app = create_app(config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._bound_port: int | None = None

    @property
    def emulator(self) -> Emulator:
        emulator: Emulator = self.app.state.emulator
        return emulator

    @property
    def port(self) -> int:
        """The bound port (kept after `stop`, for messages)."""
        if self._bound_port is None:
            raise RuntimeError("the server is not started")
        return self._bound_port

    @property
    def url(self) -> str:
        """The base URL, with a trailing slash: `http://127.0.0.1:PORT/`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def users(self) -> dict[str, str]:
        """The accepted user names and their passwords."""
        return dict(self.config.users)

    @property
    def username(self) -> str:
        """The first configured user's name."""
        return next(iter(self.config.users))

    @property
    def password(self) -> str:
        """The first configured user's password."""
        return self.config.users[self.username]

    def force_locked(self, count: int) -> None:
        """Answer the next `count` authenticated `/em/` requests with `423 LOCKED`."""
        self.emulator.lock.force_locked(count)

    def set_lock_enabled(self, enabled: bool) -> None:
        """Switch the one-request-at-a-time rule (423 while busy) on or off."""
        self.emulator.lock.set_enabled(enabled)

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Bind, serve in a thread, and return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the server is already started")
        sock = listening_socket(self.host, self._port)
        self._socket = sock
        self._bound_port = sock.getsockname()[1]
        try:
            self._server, self._thread = serve_in_thread(
                self.app, sock, f"dphi-em-emulator-{self.port}", timeout
            )
        except RuntimeError:
            self.stop()
            self.emulator.close()  # the pod engine and the telemetry service
            raise RuntimeError("the emulator did not start") from None
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread (in-flight requests get a moment to finish)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        if self._thread is not None:
            self.emulator.close()  # the pod engine: its pods stop (or stay, as configured)
        self._server = self._thread = self._socket = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def run_in_thread(
    config: EmulatorConfig, host: str = "127.0.0.1", port: int = 0
) -> Iterator[EmulatorServer]:
    """Serve the emulator in a thread for the duration of a `with` block."""
    with EmulatorServer(config, host, port) as server:
        yield server
