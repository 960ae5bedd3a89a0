"""`423 LOCKED` storms from a hostile server, with every form of `Retry-After`.

What must hold: a refused request is retried, honouring a readable `Retry-After` and backing
off without one; attempts are bounded (`BusyError` after `max_attempts`, at once when the
server asks for a wait longer than the policy allows); a `POST` that may have reached the
server (its connection dropped after the body was read) is never sent again. The retries
run in `dphi_em.testing` mode (no real sleeping); the delays chosen are read from the retry
records on the `dphi_em` logger.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import dphi_em.testing
import pytest
from dphi_em import BusyError, EMClient, RetryPolicy, TransportError
from support.server import (
    HOSTILE_PASSWORD,
    Answer,
    ScriptedServer,
    Seen,
    json_response,
    token_answer,
)

pytestmark = pytest.mark.faults

_LOCKED = {"error": "LOCKED", "message": "CG2 is busy with another request; try again later."}
_OK = {
    "/em/files/list": {"message": "Successfully fetched files", "data": []},
    "/em/files/delete": {"message": "File deleted successfully"},
    "/em/pod/run": {"message": "Docker run scheduled successfully"},
}
#: One call per endpoint kind: a GET, and two POSTs (a `run` must never be scheduled twice).
_CALLS: dict[str, Callable[[EMClient], Any]] = {
    "/em/files/list": lambda em: em.files_list(pod_name="storm"),
    "/em/files/delete": lambda em: em.delete("old.txt", pod_name="storm"),
    "/em/pod/run": lambda em: em.run("alpine:latest", node="GPU", pod_name="storm"),
}


def _http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


def _locked(retry_after: str | None, *, close: bool = False) -> Answer:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    if close:
        headers["Connection"] = "close"
    return Answer(json_response(423, _LOCKED, headers=headers), close=close)


def _storm(
    locked: int, retry_after: Callable[[], str | None], *, close: bool = False
) -> Callable[[Seen], Answer]:
    """`locked` answers 423 to each `/em/` path, then the path's success answer."""
    refused: dict[str, int] = {}

    def handle(seen: Seen) -> Answer:
        if seen.path.startswith("/auth/"):
            return token_answer(seen)
        path = seen.path.split("?", 1)[0]
        refused[path] = refused.get(path, 0) + 1
        if refused[path] <= locked:
            return _locked(retry_after(), close=close)
        return Answer(json_response(200, _OK[path]))

    return handle


@pytest.fixture(autouse=True)
def _no_sleeping() -> Iterator[None]:
    with dphi_em.testing.testing():
        yield


def _retry_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [
        record.retry_delay
        for record in caplog.records
        if record.name.startswith("dphi_em") and hasattr(record, "retry_delay")
    ]


# (name, Retry-After value maker, check of each chosen delay)
_FORMS: list[tuple[str, Callable[[], str | None], Callable[[float], bool]]] = [
    ("delta-seconds", lambda: "2", lambda delay: delay == 2.0),
    ("delta-seconds-zero", lambda: "0", lambda delay: delay == 0.0),
    ("http-date", lambda: _http_date(3), lambda delay: 0.0 < delay <= 3.0),
    ("http-date-past", lambda: _http_date(-3600), lambda delay: delay == 0.0),
    ("absent", lambda: None, lambda delay: 0.0 <= delay <= RetryPolicy().max_delay),
    ("garbage-word", lambda: "soon", lambda delay: 0.0 <= delay <= RetryPolicy().max_delay),
    ("garbage-empty", lambda: "", lambda delay: 0.0 <= delay <= RetryPolicy().max_delay),
    ("garbage-date", lambda: "Fri, 99 Foo 2026 25:61:00 GMT", lambda d: 0.0 <= d <= 10.0),
    ("garbage-negative", lambda: "-5", lambda delay: delay == 0.0),
]


@pytest.mark.parametrize("path", list(_CALLS))
@pytest.mark.parametrize(("form", "retry_after", "delay_ok"), _FORMS, ids=[f[0] for f in _FORMS])
def test_a_423_storm_is_retried_and_each_request_sent_once_it_is_accepted(
    caplog: pytest.LogCaptureFixture,
    path: str,
    form: str,
    retry_after: Callable[[], str | None],
    delay_ok: Callable[[float], bool],
) -> None:
    with (
        ScriptedServer(_storm(3, retry_after), keep_alive=True) as server,
        EMClient(server.url, "client1", HOSTILE_PASSWORD) as em,
    ):
        _CALLS[path](em)
        sent = server.requests_to(path)
    assert len(sent) == 4  # three refused, one accepted, none after
    assert len({(seen.method, seen.body) for seen in sent}) == 1  # the same request each time
    delays = _retry_delays(caplog)
    assert len(delays) == 3, delays
    assert all(delay_ok(delay) for delay in delays), (form, delays)


@pytest.mark.parametrize("path", list(_CALLS))
def test_an_endless_storm_ends_after_max_attempts_with_busy_error(path: str) -> None:
    policy = RetryPolicy(max_attempts=5)
    with (
        ScriptedServer(_storm(10**9, lambda: "1"), keep_alive=True) as server,
        EMClient(server.url, "client1", HOSTILE_PASSWORD, retry=policy) as em,
    ):
        with pytest.raises(BusyError) as busy:
            _CALLS[path](em)
        assert len(server.requests_to(path)) == 5
    assert busy.value.status_code == 423


def test_an_endless_storm_with_the_default_policy_is_bounded_too() -> None:
    with (
        ScriptedServer(_storm(10**9, lambda: None, close=True), keep_alive=True) as server,
        EMClient(server.url, "client1", HOSTILE_PASSWORD) as em,
    ):
        with pytest.raises(BusyError):
            em.files_list()
        assert len(server.requests_to("/em/files/list")) == RetryPolicy().max_attempts


@pytest.mark.parametrize("retry_after", ["3600", "1e400", "inf", "Fri, 01 Jan 2100 00:00:00 GMT"])
def test_a_retry_after_beyond_the_policy_gives_up_at_once(retry_after: str) -> None:
    with (
        ScriptedServer(_storm(10**9, lambda: retry_after), keep_alive=True) as server,
        EMClient(server.url, "client1", HOSTILE_PASSWORD) as em,
    ):
        with pytest.raises(BusyError):
            em.delete("old.txt")
        assert len(server.requests_to("/em/files/delete")) == 1


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "connection-close"])
@pytest.mark.parametrize("drop", ["close", "reset", "half-head"])
@pytest.mark.parametrize("path", ["/em/pod/run", "/em/files/delete"])
def test_a_post_whose_connection_drops_after_the_storm_is_never_sent_again(
    path: str, drop: str, close: bool
) -> None:
    # Two 423s (retried: the server said it did nothing), then the server reads the POST
    # and drops the connection: the POST may have acted, so it must not be sent again.
    refused = 0

    def handle(seen: Seen) -> Answer:
        nonlocal refused
        if seen.path.startswith("/auth/"):
            return token_answer(seen)
        refused += 1
        if refused <= 2:
            return _locked("0", close=close)
        if drop == "reset":
            return Answer(reset=True)
        if drop == "half-head":
            return Answer(b"HTTP/1.1 200 OK\r\nContent-Le", close=True)
        return Answer(close=True)

    with (
        ScriptedServer(handle, keep_alive=True) as server,
        EMClient(server.url, "client1", HOSTILE_PASSWORD) as em,
    ):
        with pytest.raises(TransportError):
            _CALLS[path](em)
        assert len(server.requests_to(path)) == 3


def test_a_get_whose_connection_drops_is_retried_within_bounds() -> None:
    # The contrast: a GET did nothing, so a dropped connection is retried (bounded).
    policy = RetryPolicy(max_attempts=4)

    def handle(seen: Seen) -> Answer:
        if seen.path.startswith("/auth/"):
            return token_answer(seen)
        return Answer(close=True)

    with (
        ScriptedServer(handle, keep_alive=True) as server,
        EMClient(server.url, "client1", HOSTILE_PASSWORD, retry=policy) as em,
    ):
        with pytest.raises(TransportError):
            em.files_list()
        assert len(server.requests_to("/em/files/list")) == 4


def test_the_storm_retries_are_logged_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    # The autouse check of conftest.py scans these records; here, make sure there are some.
    with (
        ScriptedServer(_storm(2, lambda: "1"), keep_alive=True) as server,
        EMClient(server.url, "client1", HOSTILE_PASSWORD) as em,
    ):
        em.files_list()
    retries = [
        r for r in caplog.records if r.name.startswith("dphi_em") and "423" in r.getMessage()
    ]
    assert len(retries) == 2
    assert all(r.levelno == logging.INFO for r in retries)
