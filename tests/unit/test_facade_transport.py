"""The transports: 423 retries (backoff, Retry-After), safe connection retries, one in flight,
testing mode, logging, wide socket reads.

Most tests run twice through the `driver` fixture: `RetryTransport` under `httpx.Client` and
`AsyncRetryTransport` under `httpx.AsyncClient`. The last ones check how `EMClient` and
`AsyncEMClient` wire them.
Real-socket checks of the network transports are in `test_facade_async_network.py`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dphi_em.testing
import httpcore
import httpx
import pytest
from dphi_em import (
    AsyncEMClient,
    BusyError,
    ConnectionFailedError,
    EMClient,
    RequestTimeoutError,
    RetryPolicy,
)
from dphi_em._async._backend import AsyncWideReadBackend
from dphi_em._async._transport import AsyncRetryTransport
from dphi_em._errors import TransportError, map_transport_errors
from dphi_em._retry import retry_delay
from dphi_em._sync._backend import WideReadBackend
from dphi_em._sync._transport import RetryTransport
from dphi_em._synchronization import AsyncInFlightGate, InFlightGate
from dphi_em._transports._bounds import READ_SIZE
from dphi_em._transports._network import async_network_transport, network_transport
from fake_em import PASSWORD, FakeEM, error
from http_drivers import DRIVERS, Driver, Peak, Recorder, driver_fixture, log_signal


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    yield from driver_fixture(request)


IMAGES = "/em/pod/image/list"
RUN = "/em/pod/run"
LIST = "/em/files/list"
WAITS = "waits for the request in flight"


def _locked_then_ok(count: int, retry_after: str | None = None) -> tuple[FakeEM, list[int]]:
    fake = FakeEM()
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        if len(seen) <= count:
            response = error(423, "LOCKED", "CG2 is busy")
            if retry_after is not None:
                response.headers["Retry-After"] = retry_after
            return response
        return httpx.Response(200, json={"message": "ok", "data": ["img"]})

    fake.routes[("GET", IMAGES)] = handler
    return fake, seen


def _http_date(seconds_from_now: float) -> str:
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds_from_now)
    return email.utils.format_datetime(when, usegmt=True)


# -- 423 LOCKED -----------------------------------------------------------------------------


def test_423_burst_is_retried_with_capped_exponential_backoff(driver: Driver) -> None:
    fake, seen = _locked_then_ok(5)
    rec = Recorder()
    policy = RetryPolicy(max_attempts=10, initial_delay=1.0, max_delay=4.0, max_total=100)
    http = driver.client(fake, policy=policy, recorder=rec)
    response = http.get(IMAGES)
    assert response.json()["data"] == ["img"]
    assert len(seen) == 6
    # full jitter with rand=0.5 over 1, 2, 4, 4(capped), 4(capped)
    assert rec.sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [
        ("3", 3.0, 3.0),  # delta-seconds
        ("0.5", 0.5, 0.5),
        ("-4", 0.0, 0.0),  # nonsense below zero: at once
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, 0.0),  # a date in the past: at once
        (None, 0.125, 0.125),  # no header: the backoff (0.5 * 0.25)
        ("soon", 0.125, 0.125),  # unreadable: the backoff
    ],
)
def test_retry_after_is_honoured_in_every_form(
    driver: Driver, header: str | None, low: float, high: float
) -> None:
    fake, seen = _locked_then_ok(1, retry_after=header)
    rec = Recorder()
    http = driver.client(fake, policy=RetryPolicy(max_total=100), recorder=rec)
    assert http.get(IMAGES).status_code == 200
    assert len(seen) == 2
    assert len(rec.sleeps) == 1
    assert low <= rec.sleeps[0] <= high


def test_retry_after_as_an_http_date_in_the_future(driver: Driver) -> None:
    fake, _ = _locked_then_ok(1, retry_after=_http_date(40))
    rec = Recorder()
    http = driver.client(fake, policy=RetryPolicy(max_total=100), recorder=rec)
    assert http.get(IMAGES).status_code == 200
    assert len(rec.sleeps) == 1
    assert 38.0 <= rec.sleeps[0] <= 40.0  # the date has whole seconds


def test_attempts_are_bounded_then_the_423_is_given_back(driver: Driver) -> None:
    fake, seen = _locked_then_ok(100)
    rec = Recorder()
    http = driver.client(fake, policy=RetryPolicy(max_attempts=4, max_total=1000), recorder=rec)
    response = http.get(IMAGES)
    assert response.status_code == 423
    assert response.json()["error"] == "LOCKED"  # the last answer, readable
    assert len(seen) == 4
    assert len(rec.sleeps) == 3


def test_total_time_is_bounded(driver: Driver) -> None:
    fake, seen = _locked_then_ok(100, retry_after="10")
    rec = Recorder()
    http = driver.client(fake, policy=RetryPolicy(max_attempts=100, max_total=25), recorder=rec)
    response = http.get(IMAGES)
    assert rec.sleeps == [10.0, 10.0]  # a third wait would end after 25 s
    assert len(seen) == 3
    assert response.headers["Retry-After"] == "10"


@pytest.mark.parametrize("policy", [None, RetryPolicy.disabled(), RetryPolicy(retry_locked=False)])
def test_retries_can_be_disabled(driver: Driver, policy: RetryPolicy | None) -> None:
    fake, seen = _locked_then_ok(1)
    rec = Recorder()
    http = driver.client(fake, policy=policy, recorder=rec)
    assert http.get(IMAGES).status_code == 423
    assert len(seen) == 1
    assert rec.sleeps == []


def test_locked_post_is_resent_whole(driver: Driver) -> None:
    fake = FakeEM()
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        if len(bodies) == 1:
            return error(423, "LOCKED", "busy")
        return httpx.Response(200, json={"message": "ok"})

    fake.routes[("POST", RUN)] = handler
    rec = Recorder()
    http = driver.client(fake, policy=RetryPolicy(), recorder=rec)
    payload = bytes(range(256)) * 10
    assert http.post(RUN, content=payload).status_code == 200
    assert bodies == [payload, payload]
    assert len(rec.sleeps) == 1


# -- connection failures ----------------------------------------------------------------------


class Flaky:
    """Raises `exc` for the first `count` requests to `path`, then defers to `fake`."""

    def __init__(
        self,
        fake: FakeEM | Callable[[httpx.Request], httpx.Response],
        path: str,
        exc: type[httpx.TransportError],
        count: int,
    ) -> None:
        self.fake, self.path, self.exc, self.count = fake, path, exc, count
        self.attempts = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.path:
            self.attempts += 1
            if self.attempts <= self.count:
                raise self.exc("boom", request=request)
        return self.fake(request)


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_post_is_retried_when_it_was_certainly_not_sent(
    driver: Driver, exc: type[httpx.TransportError]
) -> None:
    flaky = Flaky(FakeEM(), RUN, exc, 2)
    rec = Recorder()
    http = driver.client(flaky, policy=RetryPolicy(), recorder=rec)
    assert http.post(RUN, json={"image": "x"}).status_code == 200
    assert flaky.attempts == 3
    assert len(rec.sleeps) == 2


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteTimeout]
)
def test_post_is_never_resent_after_the_server_may_have_started(
    driver: Driver, exc: type[httpx.TransportError]
) -> None:
    flaky = Flaky(FakeEM(), RUN, exc, 1)
    rec = Recorder()
    http = driver.client(flaky, policy=RetryPolicy(), recorder=rec)
    with pytest.raises(exc):
        http.post(RUN, json={"image": "x"})
    assert flaky.attempts == 1  # a run must not be scheduled twice
    assert rec.sleeps == []


@pytest.mark.parametrize("exc", [httpx.ReadError, httpx.RemoteProtocolError])
def test_get_is_retried_after_a_broken_connection(
    driver: Driver, exc: type[httpx.TransportError]
) -> None:
    flaky = Flaky(FakeEM(), LIST, exc, 1)
    rec = Recorder()
    http = driver.client(flaky, policy=RetryPolicy(), recorder=rec)
    assert http.get(LIST).status_code == 200
    assert flaky.attempts == 2


def test_a_read_timeout_is_not_retried_even_for_a_get(driver: Driver) -> None:
    flaky = Flaky(FakeEM(), LIST, httpx.ReadTimeout, 1)
    http = driver.client(flaky, policy=RetryPolicy(), recorder=Recorder())
    with pytest.raises(httpx.ReadTimeout):
        http.get(LIST)
    assert flaky.attempts == 1


def test_connection_failures_run_out_into_the_error(driver: Driver) -> None:
    flaky = Flaky(FakeEM(), "/auth/", httpx.ConnectError, 100)
    rec = Recorder()
    http = driver.client(flaky, policy=RetryPolicy(max_attempts=3), recorder=rec)
    with pytest.raises(ConnectionFailedError) as info, map_transport_errors():
        http.get(LIST)
    assert flaky.attempts == 3
    assert len(rec.sleeps) == 2
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.request is not None
    assert (info.value.request.method, info.value.request.url.path) == ("POST", "/auth/")


def test_a_transport_error_carries_the_request_without_secrets(driver: Driver) -> None:
    fake = FakeEM()
    flaky = Flaky(fake, LIST, httpx.ReadTimeout, 1)
    http = driver.client(flaky, policy=RetryPolicy(), recorder=Recorder())
    http.login()
    with pytest.raises(RequestTimeoutError) as info, map_transport_errors():
        http.get(LIST, params={"pod_name": "pod-a"})
    error_ = info.value
    assert error_.request is not None
    assert error_.request.method == "GET"
    assert error_.request.url == "http://em.test/em/files/list?pod_name=pod-a"
    assert "Authorization" not in error_.request.headers  # no bearer token on the error
    message = str(error_)
    assert "GET http://em.test/em/files/list" in message
    assert "pod_name" not in message  # the query stays out of messages
    for secret in [PASSWORD, *fake.access]:
        assert secret not in message
        assert secret not in repr(error_)


def test_map_transport_errors_works_in_async_code() -> None:
    async def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async def main() -> list[TransportError]:
        caught: list[TransportError] = []
        async with httpx.AsyncClient(transport=httpx.MockTransport(refused)) as client:
            try:
                with map_transport_errors():  # a plain `with` around an await
                    await client.get("http://em.test/a")
            except TransportError as exc:
                caught.append(exc)
            try:
                async with map_transport_errors():
                    await client.post("http://em.test/b")
            except TransportError as exc:
                caught.append(exc)
        return caught

    caught = asyncio.run(main())
    assert [type(e) for e in caught] == [ConnectionFailedError] * 2
    assert [(e.request.method, e.request.url.path) for e in caught if e.request] == [
        ("GET", "/a"),
        ("POST", "/b"),
    ]


# -- the one-request gate ---------------------------------------------------------------------


def test_one_request_in_flight_per_client(driver: Driver) -> None:
    fake = FakeEM()
    peak = Peak()
    http = driver.client(fake, delay=0.01, peak=peak)
    http.login()
    responses = driver.concurrently(8, lambda: http.call("GET", IMAGES))
    assert [r.status_code for r in responses] == [200] * 8
    assert peak.peak == 1
    assert fake.calls.count(("GET", IMAGES)) == 8


def test_without_the_gate_requests_do_overlap(driver: Driver) -> None:
    # the control for the test above: the same load on the bare transport overlaps
    fake = FakeEM()
    peak = Peak()
    http = driver.client(fake, delay=0.01, peak=peak, gate=False)
    http.login()
    driver.concurrently(8, lambda: http.call("GET", IMAGES))
    assert peak.peak > 1


class _Unread(httpx.SyncByteStream):
    """A body not in memory (httpx reads a `ByteStream` at once), as from a socket."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data


def test_a_streamed_response_holds_the_gate_until_closed(driver: Driver) -> None:
    fake = FakeEM()
    fake.routes[("GET", IMAGES)] = lambda r: httpx.Response(200, stream=_Unread(b"abc"))
    http = driver.client(fake)
    http.login()
    with log_signal(WAITS) as waiting:
        response = http.open_stream("GET", IMAGES)
        other = driver.start(lambda: http.call("GET", LIST))
        driver.wait_until(waiting.event)  # the second request is at the gate
        assert not other.done()
        assert fake.calls[-1] == ("GET", IMAGES)  # nothing else was sent meanwhile
        http.close_response(response)
        assert other.result().status_code == 200
    assert fake.calls[-1] == ("GET", LIST)


def test_the_gate_is_reentrant_for_its_owner_thread_and_released_by_anyone() -> None:
    gate = InFlightGate()
    gate.acquire()
    gate.acquire()  # same thread: no deadlock
    gate.release()
    acquired = threading.Event()

    def other() -> None:
        gate.acquire("other")
        acquired.set()
        gate.release()

    with log_signal(WAITS) as waiting:
        thread = threading.Thread(target=other)
        thread.start()
        assert waiting.event.wait(10)  # the other thread waits at the gate
        assert not acquired.is_set()
        releaser = threading.Thread(target=gate.release)  # released from a third thread
        releaser.start()
        releaser.join()
        thread.join(10)
    assert acquired.is_set()


def test_the_async_gate_is_reentrant_for_its_owner_task_and_released_by_anyone() -> None:
    async def main() -> None:
        gate = AsyncInFlightGate()  # made outside any waiting: no loop needed yet
        await gate.acquire()
        await gate.acquire()  # same task: no deadlock
        gate.release()
        acquired = asyncio.Event()

        async def other() -> None:
            await gate.acquire("other")
            acquired.set()
            gate.release()

        with log_signal(WAITS) as waiting:
            task = asyncio.ensure_future(other())
            while not waiting.event.is_set():
                await asyncio.sleep(0)
            assert not acquired.is_set()
            await asyncio.ensure_future(_release(gate))  # released from a third task
            await asyncio.wait_for(task, 10)
        assert acquired.is_set()

    asyncio.run(main())


async def _release(gate: AsyncInFlightGate) -> None:
    gate.release()


def test_a_cancelled_waiter_does_not_keep_the_async_gate_from_the_next() -> None:
    async def main() -> list[str]:
        gate = AsyncInFlightGate()
        order: list[str] = []
        await gate.acquire()

        async def waiter(name: str) -> None:
            await gate.acquire(name)
            order.append(name)
            gate.release()

        first = asyncio.ensure_future(waiter("first"))
        second = asyncio.ensure_future(waiter("second"))
        third = asyncio.ensure_future(waiter("third"))
        for _ in range(3):
            await asyncio.sleep(0)  # all three are waiting now
        first.cancel()
        gate.release()
        await asyncio.wait_for(asyncio.gather(second, third), 10)
        assert first.cancelled()
        return order

    assert asyncio.run(main()) == ["second", "third"]  # in the order they came


# -- testing mode and logging -----------------------------------------------------------------


def _retry_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if hasattr(r, "retry_delay")]


@pytest.fixture
def real_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Seconds passed to `time.sleep` and `asyncio.sleep` by this thread (other threads, such
    as a session emulator's, are left alone). Nothing waits more than 0 s."""
    recorded: list[float] = []
    original_sleep = time.sleep
    original_asleep = asyncio.sleep
    me = threading.get_ident()

    def fake_sleep(seconds: float) -> None:
        if threading.get_ident() != me:
            original_sleep(seconds)
            return
        recorded.append(seconds)

    async def fake_asleep(seconds: float, *args: object) -> None:
        if threading.get_ident() != me:
            await original_asleep(seconds, *args)
            return
        recorded.append(seconds)
        await original_asleep(0)

    monkeypatch.setattr(time, "sleep", fake_sleep)
    monkeypatch.setattr(asyncio, "sleep", fake_asleep)
    return recorded


def test_testing_mode_retries_without_sleeping(
    driver: Driver, caplog: pytest.LogCaptureFixture, real_sleeps: list[float]
) -> None:
    caplog.set_level(logging.INFO, logger="dphi_em")
    fake, seen = _locked_then_ok(5, retry_after="30")
    http = driver.client(fake, policy=RetryPolicy(max_total=1000))  # default sleep and clock
    with dphi_em.testing.testing():
        assert dphi_em.testing.is_testing()
        assert http.get(IMAGES).status_code == 200
    assert not dphi_em.testing.is_testing()
    assert len(seen) == 6
    assert [r.retry_delay for r in _retry_records(caplog)] == [30.0] * 5  # type: ignore[attr-defined]
    assert real_sleeps  # the loop still yields...
    assert set(real_sleeps) == {0.0}  # ...but never waits


def test_without_testing_mode_the_chosen_delays_are_slept(
    driver: Driver, real_sleeps: list[float]
) -> None:
    fake, seen = _locked_then_ok(2, retry_after="30")
    http = driver.client(fake, policy=RetryPolicy(max_total=1000))
    assert http.get(IMAGES).status_code == 200
    assert len(seen) == 3
    assert [s for s in real_sleeps if s] == [30.0, 30.0]


def test_set_testing_switches_the_mode() -> None:
    try:
        dphi_em.testing.set_testing()
        assert dphi_em.testing.is_testing()
        with dphi_em.testing.testing(False):
            assert not dphi_em.testing.is_testing()
        assert dphi_em.testing.is_testing()
    finally:
        dphi_em.testing.set_testing(False)
    assert not dphi_em.testing.is_testing()


def test_retries_and_gate_waits_are_logged_without_secrets(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dphi_em")
    fake, _ = _locked_then_ok(2, retry_after="1.5")
    flaky = Flaky(fake, LIST, httpx.ConnectError, 1)
    http = driver.client(flaky, policy=RetryPolicy(), recorder=Recorder(), delay=0.005)
    http.get(IMAGES, params={"pod_name": "p-1"})
    http.get(LIST)
    driver.concurrently(3, lambda: http.call("GET", LIST))
    messages = [r.getMessage() for r in caplog.records if r.name == "dphi_em"]
    retries = [m for m in messages if "retrying" in m]
    assert retries == [
        f"GET {IMAGES}: 423 LOCKED, retrying in 1.50 s (attempt 2/8)",
        f"GET {IMAGES}: 423 LOCKED, retrying in 1.50 s (attempt 3/8)",
        f"GET {LIST}: ConnectError, retrying in 0.12 s (attempt 2/8)",
    ]
    records = _retry_records(caplog)
    assert [(r.levelno, r.retry_attempt, r.retry_reason) for r in records] == [  # type: ignore[attr-defined]
        (logging.INFO, 2, "423 LOCKED"),
        (logging.INFO, 3, "423 LOCKED"),
        (logging.INFO, 2, "ConnectError"),
    ]
    assert any(f"GET {LIST} {WAITS}" in m for m in messages)
    assert any(m.startswith(f"GET {LIST} waited ") for m in messages)
    assert any("logged in as 'client1'" in m for m in messages)
    text = "\n".join(messages)
    for secret in [PASSWORD, *fake.access, *fake.refresh, "p-1"]:
        assert secret not in text


def test_retry_delay_is_one_pure_decision() -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay=1.0, max_total=10)
    get = httpx.Request("GET", "http://em.test/x")
    post = httpx.Request("POST", "http://em.test/x")
    locked = httpx.Response(423, headers={"Retry-After": "4"})
    half = {"rand": lambda: 0.5}
    assert retry_delay(policy, post, locked, retry=0, elapsed=0, **half) == 4.0
    assert retry_delay(policy, post, locked, retry=2, elapsed=0, **half) is None  # 3 of 3
    assert retry_delay(policy, post, locked, retry=0, elapsed=6.5, **half) is None  # > 10 s
    assert retry_delay(policy, post, httpx.Response(500), retry=0, elapsed=0) is None
    assert retry_delay(policy, post, httpx.ConnectError("x"), retry=1, elapsed=0, **half) == 1.0
    assert retry_delay(policy, post, httpx.ReadError("x"), retry=0, elapsed=0) is None
    assert retry_delay(policy, get, httpx.ReadError("x"), retry=0, elapsed=0, **half) == 0.5
    assert retry_delay(policy, get, httpx.ReadTimeout("x"), retry=0, elapsed=0) is None
    assert retry_delay(policy, get, ValueError("x"), retry=0, elapsed=0) is None
    no_connect = RetryPolicy(retry_connect=False)
    assert retry_delay(no_connect, get, httpx.ConnectError("x"), retry=0, elapsed=0) is None


# -- wide socket reads --------------------------------------------------------------------------


class _RecordingStream(httpcore.NetworkStream):
    def __init__(self) -> None:
        self.asked: list[int] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.asked.append(max_bytes)
        return b"x"


class _RecordingBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.stream = _RecordingStream()

    def connect_tcp(self, *args: object, **kwargs: object) -> httpcore.NetworkStream:
        return self.stream


class _AsyncRecordingStream(httpcore.AsyncNetworkStream):
    def __init__(self) -> None:
        self.asked: list[int] = []

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.asked.append(max_bytes)
        return b"x"


class _AsyncRecordingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.stream = _AsyncRecordingStream()

    async def connect_tcp(self, *args: object, **kwargs: object) -> httpcore.AsyncNetworkStream:
        return self.stream


def test_wide_read_streams_ask_the_socket_for_at_least_read_size() -> None:
    inner = _RecordingBackend()
    stream = WideReadBackend(inner).connect_tcp("127.0.0.1", 1)
    assert stream.read(64 * 1024) == b"x"  # httpcore's own read size
    stream.read(4 * READ_SIZE)
    assert inner.stream.asked == [READ_SIZE, 4 * READ_SIZE]


def test_async_wide_read_streams_ask_the_socket_for_at_least_read_size() -> None:
    inner = _AsyncRecordingBackend()

    async def main() -> None:
        stream = await AsyncWideReadBackend(inner).connect_tcp("127.0.0.1", 1)
        assert await stream.read(64 * 1024) == b"x"
        await stream.read(4 * READ_SIZE)

    asyncio.run(main())
    assert inner.stream.asked == [READ_SIZE, 4 * READ_SIZE]


def test_the_network_transports_sit_on_wide_read_backends() -> None:
    # httpx has no argument for httpcore's backend: if its pool or the pool's attribute
    # moves (httpcore outside the tested range), this fails.
    transport = network_transport()
    assert isinstance(transport._pool, httpcore.ConnectionPool)
    assert isinstance(transport._pool._network_backend, WideReadBackend)
    async_transport = async_network_transport()
    assert isinstance(async_transport._pool, httpcore.AsyncConnectionPool)
    assert isinstance(async_transport._pool._network_backend, AsyncWideReadBackend)


# -- wired into EMClient and AsyncEMClient ------------------------------------------------------


def test_em_client_raises_busy_error_when_the_retries_run_out(driver: Driver) -> None:
    fake, seen = _locked_then_ok(100, retry_after="10")
    with (
        driver.em(fake, retry=RetryPolicy(max_attempts=4, max_total=1000)) as em,
        dphi_em.testing.testing(),
        pytest.raises(BusyError) as info,
    ):
        em.image_list()
    assert len(seen) == 4
    assert info.value.status_code == 423
    assert info.value.retry_after == 10.0


def test_em_client_retries_423_by_default(driver: Driver) -> None:
    client_class = AsyncEMClient if driver.is_async else EMClient
    assert client_class("http://x.test/", "u", "p").retry_policy == RetryPolicy()
    fake, seen = _locked_then_ok(3)
    with driver.em(fake, retry=True) as em, dphi_em.testing.testing():
        assert em.retry_policy == RetryPolicy()
        assert em.image_list() == ["img"]
    assert len(seen) == 4


@pytest.mark.parametrize("retry", [False, RetryPolicy.disabled()])
def test_em_client_retries_can_be_disabled(driver: Driver, retry: RetryPolicy | bool) -> None:
    fake, seen = _locked_then_ok(1)
    with driver.em(fake, retry=retry) as em, pytest.raises(BusyError):
        em.image_list()
    assert len(seen) == 1


def test_em_client_resends_a_locked_uplink_whole(driver: Driver, tmp_path: Path) -> None:
    fake = FakeEM()
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(b"".join(request.stream))  # type: ignore[arg-type]  # what a socket gets
        if len(bodies) == 1:
            return error(423, "LOCKED", "busy")
        return httpx.Response(
            200, json={"message": "ok", "data": {"file_count": 1, "total_size_kb": 0.1}}
        )

    fake.routes[("POST", "/em/files/uplink")] = handler
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 10)
    with driver.em(fake, retry=RetryPolicy()) as em, dphi_em.testing.testing():
        result = em.uplink([path])
    assert result.file_count == 1
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]  # the file stream was read again from the start
    assert bytes(range(256)) * 10 in bodies[1]


def test_em_client_maps_connection_failures_with_the_request(driver: Driver) -> None:
    flaky = Flaky(FakeEM(), "/auth/", httpx.ConnectError, 100)
    with (
        driver.em(flaky, retry=RetryPolicy(max_attempts=3)) as em,
        dphi_em.testing.testing(),
        pytest.raises(ConnectionFailedError) as info,
    ):
        em.files_list()
    assert flaky.attempts == 3
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.request is not None
    assert info.value.request.url == "http://em.test/auth/"


def test_em_client_talks_through_a_retry_transport_on_a_wide_read_pool(driver: Driver) -> None:
    with driver.em(base_url="http://127.0.0.1:9/", username="u", password="p") as em:
        transport = em._transport
        if driver.is_async:
            assert isinstance(transport, AsyncRetryTransport)
            assert isinstance(transport.inner, httpx.AsyncHTTPTransport)
            assert isinstance(transport.inner._pool._network_backend, AsyncWideReadBackend)
        else:
            assert isinstance(transport, RetryTransport)
            assert isinstance(transport.inner, httpx.HTTPTransport)
            assert isinstance(transport.inner._pool._network_backend, WideReadBackend)


# -- the call deadline and environment proxies (issue 11) -------------------------------------


def test_a_retry_wait_that_would_outlast_the_call_timeout_is_not_taken(driver: Driver) -> None:
    fake, seen = _locked_then_ok(100, retry_after="10")
    rec = Recorder()
    http = driver.client(fake, policy=RetryPolicy(max_attempts=100, max_total=600), recorder=rec)
    http.transport.call_timeout = 25.0
    response = http.get(IMAGES)
    assert rec.sleeps == [10.0, 10.0]  # a third wait would end 30 s after the first attempt
    assert response.status_code == 423
    assert len(seen) == 3


def test_transfers_have_no_total_deadline(driver: Driver) -> None:
    fake, seen = _locked_then_ok(3, retry_after="10")
    fake.routes[("GET", "/em/files/downlink")] = fake.routes.pop(("GET", IMAGES))
    rec = Recorder()
    http = driver.client(fake, policy=RetryPolicy(max_attempts=100, max_total=600), recorder=rec)
    http.transport.call_timeout = 5.0
    assert http.get("/em/files/downlink", params={"filepath": "a"}).status_code == 200
    assert rec.sleeps == [10.0, 10.0, 10.0]  # 30 s of waits: more than 5, but a transfer
    assert len(seen) == 4


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({}, "http://em.test/", None),
        ({"HTTP_PROXY": "http://proxy:3128"}, "http://em.test/", "http://proxy:3128"),
        ({"HTTP_PROXY": "proxy:3128"}, "http://em.test/", "http://proxy:3128"),
        ({"HTTP_PROXY": "http://proxy:3128"}, "https://em.test/", None),
        ({"HTTPS_PROXY": "http://sproxy:3128"}, "https://em.test/", "http://sproxy:3128"),
        ({"ALL_PROXY": "http://any:1"}, "https://em.test/", "http://any:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "em.test"}, "http://em.test/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "em.test"}, "http://a.em.test/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": ".em.test"}, "http://em.test/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "*"}, "http://em.test/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "127.0.0.1"}, "http://127.0.0.1:8/", None),
    ],
)
def test_environment_proxy_follows_httpx(
    env: dict[str, str], url: str, expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dphi_em._transports._network import environment_proxy

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert environment_proxy(url) == expected
    mounted = httpx.Client()._transport_for_url(httpx.URL(url))  # httpx's own choice
    pool = getattr(mounted, "_pool", None)
    via = getattr(pool, "_proxy_url", None)
    assert (via is not None) == (expected is not None)
