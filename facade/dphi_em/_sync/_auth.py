"""`AuthDriver`: runs `TokenAuth`'s token flow (`_auth`) with this side's I/O.

The flow decides which requests to send, when to take the renewal lock and which bodies to
read; the driver does it: it sends, reads bodies, takes the request gate and then the
renewal lock (the lock order of `_auth`'s docstring), and gives both back itself when the
flow ends early (an error, a cancellation), so the flow needs no cleanup.
"""

# Generated from _async/_auth.py by scripts/unasync.py: edit that file, not this one.

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, TypeVar

import httpx

from .._auth import _LOCK, FRESH_TOKEN_EXTENSION, _Flow, _Read
from .._synchronization import InFlightGate, Lock, Releasable

if TYPE_CHECKING:
    from .._auth import TokenAuth

__all__ = ["AuthDriver"]

_T = TypeVar("_T")


def _run_plain(flow: _Flow[_T], send: Callable[[httpx.Request], httpx.Response]) -> _T:
    """Run a flow without lock steps (`_renew`, `_login`) on `send`."""
    reply: httpx.Response | None = None
    try:
        while True:
            step = flow.send(reply)
            reply = None
            if isinstance(step, httpx.Request):
                reply = send(step)
            elif isinstance(step, _Read):
                step.response.read()
            else:  # pragma: no cover - these flows take no lock
                raise AssertionError(f"unexpected step {step!r}")
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()


class AuthDriver:
    """Runs the flows of one `TokenAuth`.

    Args:
        auth: The auth whose flows this runs.
        lock: Its renewal lock.

    Attributes:
        gate: The request gate of the transport the auth's requests go through, taken
            before the renewal lock (None: no gate).
    """

    def __init__(self, auth: TokenAuth, lock: Lock) -> None:
        self._auth = auth
        self._lock = lock
        self.gate: InFlightGate | None = None

    def drive(self, flow: _Flow[None]) -> Generator[httpx.Request, httpx.Response]:
        """The auth flow of httpx's `Auth` for one request: yields the requests to send."""
        gate: InFlightGate | None = None
        held: Releasable | None = None
        try:
            step = next(flow)
            while True:
                reply: httpx.Response | None = None
                if isinstance(step, httpx.Request):
                    reply = yield step
                elif isinstance(step, _Read):
                    step.response.read()
                elif step is _LOCK:
                    # The gate first, then the lock (`_auth`). Read now, not when the flow
                    # started: the transport makes its gate known on its first request.
                    gate = self.gate
                    if gate is not None:
                        gate.acquire("a token renewal")
                    try:
                        held = self._lock.acquire()
                    except BaseException:
                        if gate is not None:
                            gate.release()
                        raise
                else:
                    assert held is not None
                    taken, held = held, None
                    self._release(taken, gate)
                step = flow.send(reply)
        except StopIteration:
            return
        finally:
            flow.close()
            if held is not None:
                self._release(held, gate)

    @staticmethod
    def _release(lock: Releasable, gate: InFlightGate | None) -> None:
        lock.release()
        if gate is not None:
            gate.release()

    def bearer(
        self,
        request: httpx.Request,
        send: Callable[[httpx.Request], httpx.Response],
    ) -> None:
        """Put the current access token on `request`, renewing it first when it expired.

        Called by the retrying transport before each attempt, the gate held (so the lock
        may be taken: the lock order holds).

        Args:
            request: A request the auth authorized (`BEARER_EXTENSION`).
            send: Sends one request without auth (the renewal calls), the gate held.
        """
        auth = self._auth
        fresh = bool(request.extensions.get(FRESH_TOKEN_EXTENSION))
        access = auth._usable(fresh)
        if access is None:
            held = self._lock.acquire()
            try:
                access = auth._usable(fresh)
                if access is None:
                    access = _run_plain(auth._renew(request, login=False), send)
            finally:
                held.release()
        request.headers["Authorization"] = f"Bearer {access}"

    def login(
        self,
        send: Callable[[httpx.Request], httpx.Response],
        template: httpx.Request,
    ) -> None:
        """Log in now, sending with `send` (one request without auth).

        Raises:
            ConfigurationError: No credentials.
            AuthenticationError: The server refused them.
        """
        flow = self.drive(self._auth._locked_login(template))
        try:
            request = flow.__next__()
            while True:
                request = flow.send(send(request))
        except StopIteration:
            return
        finally:
            flow.close()
