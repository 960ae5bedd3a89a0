"""`TelemetryService`: the emulated `satellite-telemetry.dphi-tm`, on the ground and in pods.

On the ground it is a uvicorn server on an emulator-only loopback address (`ground_url`, for
tests and `dphi-em telemetry`); pods never see that address. In a pod's network namespace it
listens at `TELEMETRY_ADDRESS` on ports 80 and 8000 (`_netns.py`), and a proxy loop in the
emulator relays each connection to the ground server. The Docker engine calls `attach` for
a namespace before a pod joins it and `detach` when the namespace goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import uvicorn

from ._app import TelemetryApp
from ._camera import Camera
from ._history import History
from ._netns import POD_PORTS, can_enter_namespaces, hosts_line, listen_in_namespace
from ._orbit import DEFAULT_NAME, Orbit, default_tle, parse_tle

_log = logging.getLogger("dphi_em_emulator")
_PIPE_CHUNK = 64 * 1024


class TelemetryService:
    """The telemetry service of one emulator.

    Args:
        folder: Where its images and the pods' hosts file are kept.
        seed: Makes the orbit's plane, the attitude, the sensors and the images.
        tle: A TLE's text (two or three lines), or None for the default 500 km SSO orbit.
        cadence: Seconds (simulated) between two records of a type.
        span: Seconds of history before the start.
        time_scale: How much faster than the wall clock the history grows.
        images: How many images the camera holds.
        port: The ground port on 127.0.0.1 (0: a free one).
        port_fallback: When `port` is taken, serve on a free one (and say so in `describe`)
            instead of failing: for a default port, not for one the user asked for.

    Raises:
        ValueError: The TLE is not one SGP4 accepts.
    """

    def __init__(
        self,
        folder: Path,
        seed: int,
        tle: str | None,
        cadence: float,
        span: float,
        time_scale: float,
        images: int,
        port: int = 0,
        port_fallback: bool = False,
    ) -> None:
        if tle is None:
            name: str | None = DEFAULT_NAME
            line1, line2 = default_tle(seed)
        else:
            name, line1, line2 = parse_tle(tle)
        self.orbit = Orbit(line1, line2, seed, name)
        self.history = History(self.orbit, seed, cadence, span, time_scale)
        # kept per seed: a restart with another seed must not serve the old seed's images
        self.camera = Camera(folder / "images" / f"seed-{seed}", seed, images)
        self.app = TelemetryApp(self.history, self.camera).app()
        self._folder = folder
        self._port = port
        self._port_fallback = port_fallback
        self._taken = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        #: namespace key -> port -> the asyncio server accepting there
        self._pods: dict[str, dict[int, asyncio.AbstractServer]] = {}
        self._lock = threading.Lock()
        self.in_pods = can_enter_namespaces()

    @property
    def ground_url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash), the emulator-only address."""
        if self._socket is None:
            raise RuntimeError("the telemetry service is not started")
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def describe(self) -> str:
        where = (
            "pods: satellite-telemetry.dphi-tm on ports 80 and 8000"
            if self.in_pods
            else "pods: not reachable (the emulator must run as root to serve inside pods)"
        )
        taken = f" (port {self._taken} is taken)" if self._taken else ""
        return f"telemetry (ground, emulator only): {self.ground_url}{taken}; {where}"

    def start(self, timeout: float = 10.0) -> TelemetryService:
        from ..server import listening_socket, serve_in_thread

        try:
            self._socket = listening_socket("127.0.0.1", self._port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or not self._port_fallback:
                raise
            # the default port, taken (another emulator's service, most likely): a free one,
            # said in `describe`, rather than an emulator that does not start
            self._taken = self._port
            self._socket = listening_socket("127.0.0.1", 0)
        try:
            self._server, self._thread = serve_in_thread(
                self.app, self._socket, "dphi-em-telemetry", timeout
            )
        except RuntimeError:
            self._socket.close()
            raise
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(
            target=self._loop.run_forever, name="dphi-em-telemetry-proxy", daemon=True
        )
        self._loop_thread.start()
        return self

    def hosts_file(self) -> Path:
        """A hosts file naming only localhost and the service (for pods without a network)."""
        path = self._folder / "hosts"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{hosts_line()}\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            path.chmod(0o644)
        return path

    def attach(self, key: str, pid: int, taken: set[int] | None = None) -> list[str]:
        """Serve the service in the network namespace of process `pid` (known as `key`) on
        every pod port not in `taken` (ports a pod of that namespace declared: the service
        gives them up there), and stop serving on taken ones. Returns warnings (one line each).
        """
        if not self.in_pods or self._loop is None:
            return []
        warnings = []
        with self._lock:
            serving = self._pods.setdefault(key, {})
            taken = taken or set()
            for port in [p for p in serving if p in taken]:
                self._call(self._close_server(serving.pop(port)))
            wanted = [p for p in POD_PORTS if p not in taken and p not in serving]
            if wanted:
                try:
                    sockets = listen_in_namespace(pid, wanted)
                except OSError as exc:
                    return [f"telemetry: not served in this pod's network: {exc}"]
                for port, sock in sockets.items():
                    if isinstance(sock, OSError):
                        warnings.append(f"telemetry: port {port} is taken in this network: {sock}")
                        continue
                    serving[port] = self._call(self._serve(sock))
            for port in sorted(taken & set(POD_PORTS)):
                warnings.append(
                    f"telemetry: port {port} is this network's pods' own: "
                    "satellite-telemetry.dphi-tm does not answer on it here"
                )
        return warnings

    def served_namespaces(self) -> set[str]:
        """The keys of the namespaces the service listens in now."""
        with self._lock:
            return set(self._pods)

    def detach(self, key: str) -> None:
        """Stop serving in namespace `key` (its holder is gone)."""
        with self._lock:
            servers = self._pods.pop(key, {})
            for server in servers.values():
                self._call(self._close_server(server))

    def close(self) -> None:
        for key in list(self._pods):
            self.detach(key)
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        if self._loop is not None and self._loop_thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop_thread.join(timeout=10)
            self._loop.close()
        self._server = self._thread = self._loop = self._loop_thread = None

    def _call(self, coro: Coroutine[Any, Any, asyncio.AbstractServer]) -> asyncio.AbstractServer:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _serve(self, sock: socket.socket) -> asyncio.AbstractServer:
        return await asyncio.start_server(self._relay, sock=sock)

    @staticmethod
    async def _close_server(server: asyncio.AbstractServer) -> asyncio.AbstractServer:
        server.close()
        return server

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._socket is not None
        try:
            up_reader, up_writer = await asyncio.open_connection(
                "127.0.0.1", self._socket.getsockname()[1]
            )
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of file, then pass the end on (a half close)."""
    with contextlib.suppress(OSError):
        while chunk := await reader.read(_PIPE_CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
