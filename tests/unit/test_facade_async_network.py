"""`TokenAuth` and the retrying transports on real sockets, sync and async, against the
emulator: a plain `httpx.AsyncClient(auth=TokenAuth(...),
transport=AsyncRetryTransport(async_network_transport(), RetryPolicy()))` (and its sync
twin) logs in, refreshes once for 20 concurrent callers, rides out forced `423 LOCKED`
answers, and reads the socket through the wide-read backend.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import dphi_em.testing
import httpcore
import httpx
import pytest
from dphi_em._retry import RetryPolicy
from dphi_em._transports._bounds import READ_SIZE
from http_drivers import DRIVERS, Clock, Driver, driver_fixture, log_signal


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    yield from driver_fixture(request)


LIST = "em/files/list"


def _clocked_client(driver: Driver, emulator: Any, clock: Clock) -> Any:
    """A retrying, gated client of `driver`'s kind on `emulator`, its auth on `clock`."""
    return driver.client(
        inner=driver.network(),
        policy=RetryPolicy(),
        clock=clock,
        base_url=emulator.url,
        username=emulator.username,
        password=emulator.password,
    )


def test_login_refresh_and_concurrent_callers_over_a_real_socket(
    driver: Driver, emulator: Any, pod_name: str
) -> None:
    clock = Clock()
    http = _clocked_client(driver, emulator, clock)
    params = {"pod_name": pod_name}
    assert http.get(LIST, params=params).status_code == 200
    assert (http.auth.login_count, http.auth.refresh_count) == (1, 0)
    clock.now += 10 * 60  # past any access lifetime (the emulator's default: 5 minutes)
    responses = driver.concurrently(20, lambda: http.call("GET", LIST, params=params))
    assert [r.status_code for r in responses] == [200] * 20
    assert [r.json()["data"] == responses[0].json()["data"] for r in responses] == [True] * 20
    assert (http.auth.login_count, http.auth.refresh_count) == (1, 1)


def test_forced_423_answers_are_retried_over_a_real_socket(
    driver: Driver, emulator: Any, pod_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dphi_em")
    http = driver.client(
        inner=driver.network(),
        policy=RetryPolicy(),
        base_url=emulator.url,
        username=emulator.username,
        password=emulator.password,
    )
    http.login()
    emulator.force_locked(3)
    with dphi_em.testing.testing():
        response = http.post(
            "em/files/delete", data={"filepath": "missing.txt", "pod_name": pod_name}
        )
    assert response.status_code != 423  # the fourth attempt got through
    retries = [r for r in caplog.records if hasattr(r, "retry_reason")]
    assert [r.retry_reason for r in retries] == ["423 LOCKED"] * 3


class _RecordingStream:
    """Wraps a network stream (sync or async), recording what each read asks for."""

    def __init__(self, inner: Any, asked: list[int]) -> None:
        self._inner = inner
        self._asked = asked

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def read(self, max_bytes: int, timeout: float | None = None) -> Any:
        self._asked.append(max_bytes)
        return self._inner.read(max_bytes, timeout)


class _Recording(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self.inner = inner
        self.connects = 0
        self.asked: list[int] = []

    def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
        self.connects += 1
        return _RecordingStream(self.inner.connect_tcp(*args, **kwargs), self.asked)


class _AsyncRecording(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self.inner = inner
        self.connects = 0
        self.asked: list[int] = []

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
        self.connects += 1
        return _RecordingStream(await self.inner.connect_tcp(*args, **kwargs), self.asked)


def test_the_pool_reads_the_socket_through_the_wide_read_backend(
    driver: Driver, emulator: Any
) -> None:
    # The patch sets the pool's `_network_backend` (httpx has no argument for it). If
    # httpcore stops reading that attribute when it connects, nothing is recorded here.
    transport = driver.network()
    wide = transport._pool._network_backend
    recording = _AsyncRecording(wide._inner) if driver.is_async else _Recording(wide._inner)
    wide._inner = recording
    client_class = httpx.AsyncClient if driver.is_async else httpx.Client
    client = client_class(transport=transport, base_url=emulator.url)
    try:
        # a transfer's path: small calls go beside the pool (`_lean`); no token: a small
        # 401 is enough
        response = driver.run(client.get("/em/files/downlink", params={"filepath": "a"}))
        assert response.status_code == 401
    finally:
        if isinstance(client, httpx.AsyncClient):
            driver.run(client.aclose())
        else:
            client.close()
    assert recording.connects == 1
    assert recording.asked
    assert min(recording.asked) >= READ_SIZE


def test_callers_ride_a_two_second_token_lifetime(driver: Driver, make_emulator: Any) -> None:
    # Real time this once: tokens the server expires after 2 s, renewed after 1 s by the
    # client, while 8 callers keep requesting for about 3 s. Nobody sees a 401; one login.
    server = make_emulator(access_lifetime=2.0)
    http = driver.client(
        inner=driver.network(),
        policy=RetryPolicy(),
        base_url=server.url,
        username=server.username,
        password=server.password,
    )
    statuses: list[int] = []

    async def async_worker() -> None:
        for _ in range(15):
            statuses.append((await http.client.get(LIST)).status_code)  # type: ignore[misc]
            await asyncio.sleep(0.2)

    def worker() -> Any:
        if driver.is_async:
            return async_worker()
        for _ in range(15):
            statuses.append(http.client.get(LIST).status_code)  # type: ignore[union-attr]
            time.sleep(0.2)
        return None

    driver.concurrently(8, worker)
    assert statuses == [200] * 120
    assert http.auth.login_count == 1
    assert http.auth.refresh_count >= 2


def test_a_renewal_queued_behind_a_caller_that_must_renew_too_does_not_deadlock(
    driver: Driver, emulator: Any, pod_name: str
) -> None:
    # The ordering the two-second test hit by chance on a loaded machine, step by step:
    # caller B passes the auth flow with a valid token and queues at the gate (a download
    # holds it); the token then expires; caller A's flow starts a renewal and queues its
    # refresh at the gate too. When the download ends, B (first in line) takes the gate and
    # finds the token expired: it must renew. Before the fix A held the renewal lock without
    # the gate (a plain httpx client never told the auth about its transport's gate), so B
    # waited for the lock and A for the gate: both forever, idle in select.
    clock = Clock()
    http = _clocked_client(driver, emulator, clock)
    params = {"pod_name": pod_name}
    http.login()
    holder = http.open_stream("GET", f"{LIST}?pod_name={pod_name}")  # holds the gate
    with log_signal("waits for the request in flight") as queued:
        first = driver.start(lambda: http.call("GET", LIST, params=params))
        driver.wait_until(queued.event)
    clock.now += 10 * 60  # past any access lifetime: the next flow renews
    with log_signal("waits for the request in flight") as queued:
        second = driver.start(lambda: http.call("GET", LIST, params=params))
        driver.wait_until(queued.event)
    http.close_response(holder)
    # Before the fix: "the call did not finish in 20.0 s" and both callers' stacks.
    assert first.result(timeout=20).status_code == 200
    assert second.result(timeout=20).status_code == 200
    assert (http.auth.login_count, http.auth.refresh_count) == (1, 1)
