"""Retry decisions, free of I/O: both transports (sync and async) ask `retry_delay`.

A request is sent again only when it certainly did nothing on the server:

- `423 LOCKED` (the EM serves one request at a time): after the server's `Retry-After`
  (seconds or an HTTP date) when it says, else after a capped exponential backoff with full
  jitter;
- a connection failure before anything was sent (`ConnectError`, `ConnectTimeout`,
  `PoolTimeout`), whatever the method; a refused connection (nothing listens at the
  address: a wrong URL, an EM or emulator not started) only within `refused_total`
  seconds (2 by default) of the first attempt, so a wrong address fails fast;
- a broken connection (`ReadError`, `RemoteProtocolError`) for idempotent methods only: a
  `POST` may have reached the server (a `run` must not be scheduled twice).

Every retry is bounded by the policy's `max_attempts` and by `max_total` seconds counted from
the first attempt. `log_retry` writes one record per retry on the `dphi_em` logger.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

import attrs
import httpx

from ._errors import connection_refused, parse_retry_after

__all__ = ["RetryPolicy", "log_retry", "retry_delay", "retry_reason"]

logger = logging.getLogger("dphi_em")

#: Errors raised before the request left: safe to send again whatever the method.
NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
#: Errors after which only an idempotent request may be sent again.
BROKEN: tuple[type[Exception], ...] = (httpx.ReadError, httpx.RemoteProtocolError)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how long to retry a request that certainly did nothing.

    Attributes:
        max_attempts: Attempts in all, the first included (1 disables retries).
        initial_delay: Seconds before the first retry (before jitter).
        max_delay: Cap of one backoff delay, seconds.
        max_total: Give up when the next wait would end more than this many seconds after
            the first attempt.
        retry_locked: Retry `423 LOCKED`.
        retry_connect: Retry connection failures that happened before sending.
        refused_total: Retry a refused connection only while the next attempt starts
            within this many seconds of the first (a server restarting; not a wrong URL).
    """

    max_attempts: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    initial_delay: float = attrs.field(default=0.25, validator=attrs.validators.ge(0))
    max_delay: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))
    max_total: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))
    retry_locked: bool = True
    retry_connect: bool = True
    refused_total: float = attrs.field(default=2.0, validator=attrs.validators.ge(0))

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds before retry number `retry` (0-based): full jitter over a capped doubling."""
        return rand() * min(self.max_delay, self.initial_delay * 2.0**retry)


def retry_delay(
    policy: RetryPolicy,
    request: httpx.Request,
    outcome: httpx.Response | BaseException,
    *,
    retry: int,
    elapsed: float,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before sending `request` again, or None to stop.

    Args:
        policy: The retry policy.
        request: The request just attempted.
        outcome: Its response (headers read, body not needed) or the exception it raised.
        retry: Retries made so far (0 after the first attempt).
        elapsed: Seconds since the first attempt started.
        rand: A float in [0, 1) for the jitter.

    Returns:
        The delay; None when the response should be returned or the exception raised.
    """
    if retry + 1 >= policy.max_attempts:
        return None
    if isinstance(outcome, httpx.Response):
        if outcome.status_code != 423 or not policy.retry_locked:
            return None
        hint = parse_retry_after(outcome.headers.get("Retry-After"))
        delay = hint if hint is not None else policy.backoff(retry, rand)
    elif isinstance(outcome, NOT_SENT) or (
        isinstance(outcome, BROKEN) and request.method in IDEMPOTENT
    ):
        if not policy.retry_connect:
            return None
        delay = policy.backoff(retry, rand)
        if connection_refused(outcome) and elapsed + delay > policy.refused_total:
            return None
    else:
        return None
    if elapsed + delay > policy.max_total:
        return None
    return delay


def retry_reason(outcome: httpx.Response | BaseException) -> str:
    """What made a request fail, for a log line: `423 LOCKED` or the exception's class."""
    if isinstance(outcome, httpx.Response):
        return f"{outcome.status_code} {outcome.reason_phrase.upper()}".strip()
    return type(outcome).__name__


def log_retry(
    request: httpx.Request,
    outcome: httpx.Response | BaseException,
    *,
    retry: int,
    policy: RetryPolicy,
    delay: float,
) -> None:
    """Log one retry (INFO): method, path, reason, the attempt to come, the delay.

    Only the URL path is logged (no query, no credentials); `extra` carries `retry_attempt`,
    `retry_reason` and `retry_delay` for handlers that want them as fields.
    """
    reason = retry_reason(outcome)
    attempt = retry + 2  # the attempt this delay leads to, 1-based
    logger.info(
        "%s %s: %s, retrying in %.2f s (attempt %d/%d)",
        request.method,
        request.url.path,
        reason,
        delay,
        attempt,
        policy.max_attempts,
        extra={"retry_attempt": attempt, "retry_reason": reason, "retry_delay": delay},
    )
