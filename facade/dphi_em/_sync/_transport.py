"""`RetryTransport`: the gate and the retries under every request.

It wraps the real transport (`_transports._network`), so facade calls, token calls and raw
generated calls all get the same behaviour:

- **One in flight**: the EM serves one request at a time, so a client sends one at a time.
  The gate (`_synchronization`) is taken before sending and released when the response body
  is closed (a streamed download holds it until the end). The same thread may re-enter. A
  wait at the gate is logged (DEBUG).
- **Retries**: which failures are retried, after how long, and when to give up is decided
  by one pure function, `_retry.retry_delay` (423 with or without `Retry-After`, connection
  failures that certainly never sent, idempotent requests after a broken connection; bounded
  attempts and total time). When they run out, the 423 is returned (and raised as
  `BusyError` by the facade) or the exception raised. Each retry is logged (INFO).
- **Waiting** goes through `_timing` (`dphi_em.testing.set_testing` turns it off).
- **The bearer at send time**: before each attempt, the gate held, a request authorized by
  `TokenAuth` gets the access token current then (renewed first when it expired during a
  backoff), so a retry never re-sends a stale token.
- **A deadline per call** and **bounded answers** (`_transports._bounds`): the body is
  read through `_streams`, under the call's deadline, up to the limit.
- **No leftovers**: a connection holding bytes after its response's end is closed when the
  response is, never reused (`_transports._pool`).
- **A connection dead before a byte was written** is dropped and the request sent on a new
  connection, whatever its method (`_backend`; `_lean` for the small calls it sends); a
  connection that breaks after that is a `ReadError`/`RemoteProtocolError`, retried for
  idempotent methods only (`_retry`).

Request bodies are re-iterated on each attempt: file streams reopen their files.
"""

# Generated from _async/_transport.py by scripts/unasync.py: edit that file, not this one.

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from .. import _timing
from .._retry import RetryPolicy, log_retry, retry_delay
from .._synchronization import InFlightGate, as_sync_stream
from .._transports._bounds import (
    BEARER,
    DEFAULT_CALL_TIMEOUT,
    answer_limit,
    call_deadline,
    check_call_timeout,
    inflater_for,
    is_transfer,
    request_label,
)
from .._transports._pool import connections_with_leftovers
from ._streams import GatedStream, discard

__all__ = ["RetryTransport"]

logger = logging.getLogger("dphi_em")


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport with the gate and the retries described in the module docstring.

    Args:
        inner: The transport that talks to the network (closed with this one).
        policy: The retry policy; None never retries.
        sleep: Waits between attempts (default: `_timing.sleep`, off in testing mode).
        clock: A monotonic clock (default: `_timing.monotonic`).
        rand: A float in [0, 1) for the jitter.
        call_timeout: Seconds a call that is not a transfer may take in all (None: no
            total deadline).
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy | None,
        *,
        call_timeout: float | None = DEFAULT_CALL_TIMEOUT,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.inner = inner
        self.policy = policy if policy is not None else RetryPolicy.disabled()
        self.gate = InFlightGate()
        self.call_timeout = check_call_timeout(call_timeout)
        self._sleep = sleep if sleep is not None else _timing.sleep
        self._clock = clock if clock is not None else _timing.monotonic
        self._rand = rand

    def _deadline_of(self, request: httpx.Request) -> float | None:
        if self.call_timeout is None or is_transfer(request):
            return None
        return time.monotonic() + self.call_timeout

    def _outlasts(self, deadline: float | None, total: float) -> bool:
        """Whether a retry ending `total` seconds after the first attempt (on this
        transport's clock) would end after the call's deadline."""
        if deadline is None or self.call_timeout is None:
            return False
        return total > self.call_timeout or time.monotonic() >= deadline

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, retrying as the policy allows; hold the gate until it is closed."""
        bearer: Any = request.extensions.get(BEARER)
        if bearer is not None:
            # Before waiting here: from now on the auth takes this gate before its renewal
            # lock, as a renewal sends through it (else a renewer holding the lock waits for
            # the gate while the gate's holder waits for the lock, both forever).
            bearer.use_gate(self.gate, replace=False)
        self.gate.acquire(request_label(request))
        try:
            response = self._send(request, self._deadline_of(request), self._closed)
        except BaseException:
            self.gate.release()
            raise
        return response

    def _closed(self) -> None:
        """A response was closed: drop a connection with leftovers, give the gate back."""
        try:
            self._drop_leftovers()
        finally:
            self.gate.release()

    def _drop_leftovers(self) -> None:
        for connection in connections_with_leftovers(self.inner):
            logger.debug("closing a connection with bytes after its answer's end")
            connection.close()

    def _send(
        self,
        request: httpx.Request,
        deadline: float | None,
        on_close: Callable[[], None] | None,
    ) -> httpx.Response:
        """Send with retries, under `deadline`; the body bounded, `on_close` run at its end."""
        token = call_deadline.set(deadline)
        try:
            response = self._send_with_retries(request, deadline)
        finally:
            call_deadline.reset(token)
        if response.is_closed:  # a body read already (e.g. built in memory): nothing in flight
            if on_close is not None:
                on_close()
            return response
        limit = answer_limit(request, response)
        response.stream = GatedStream(
            as_sync_stream(response.stream),
            on_close if on_close is not None else self._drop_leftovers,
            deadline=deadline,
            limit=limit,
            inflater=inflater_for(response, limit),
        )
        return response

    def _send_unauthorized(self, request: httpx.Request) -> httpx.Response:
        """Send a token call (refresh, login) while the gate is held by this caller."""
        response = self._send(request, self._deadline_of(request), None)
        response.request = request  # as httpx.Client sets it: errors name the call
        return response

    def _send_with_retries(self, request: httpx.Request, deadline: float | None) -> httpx.Response:
        policy = self.policy
        started = self._clock()
        retry = 0
        while True:
            outcome: httpx.Response | httpx.TransportError
            bearer: Any = request.extensions.get(BEARER)
            if bearer is not None:
                bearer.sync_bearer(request, self._send_unauthorized)
            try:
                outcome = self.inner.handle_request(request)
            except httpx.TransportError as exc:
                outcome = exc
            elapsed = self._clock() - started
            delay = retry_delay(
                policy, request, outcome, retry=retry, elapsed=elapsed, rand=self._rand
            )
            if delay is not None and self._outlasts(deadline, elapsed + delay):
                delay = None  # the wait would outlast the call's deadline
            if delay is None:
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
            if isinstance(outcome, httpx.Response):
                discard(outcome)
                self._drop_leftovers()
            log_retry(request, outcome, retry=retry, policy=policy, delay=delay)
            self._sleep(delay)
            retry += 1

    def close(self) -> None:
        """Close the inner transport (its connection pool)."""
        self.inner.close()
