"""The transport: 423 retries (backoff, Retry-After), safe connection retries, one in flight."""

from __future__ import annotations

import threading
import time

import httpcore
import httpx
import pytest
from dphi_em import BusyError, ConnectionFailedError, EMClient, RequestTimeoutError, RetryPolicy
from dphi_em._transport import (
    READ_SIZE,
    InFlightGate,
    RetryTransport,
    WideReadBackend,
    network_transport,
)
from fake_em import FakeEM, error, make_client


class Recorder:
    """A fake clock and sleep: sleeping advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _locked_then_ok(count: int, retry_after: str | None = None) -> tuple[FakeEM, list[int]]:
    fake = FakeEM()
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        if len(seen) <= count:
            headers = {"Retry-After": retry_after} if retry_after else {}
            response = error(423, "LOCKED", "CG2 is busy")
            response.headers.update(headers)
            return response
        return httpx.Response(200, json={"message": "ok", "data": ["img"]})

    fake.routes[("GET", "/em/pod/image/list")] = handler
    return fake, seen


def _client(fake: FakeEM, policy: RetryPolicy | bool | None, rec: Recorder) -> EMClient:
    em = make_client(fake, retry=policy)
    transport = em._transport
    transport._sleep = rec.sleep
    transport._clock = rec.clock
    transport._rand = lambda: 0.5
    return em


def test_423_burst_is_retried_with_capped_exponential_backoff() -> None:
    fake, seen = _locked_then_ok(5)
    rec = Recorder()
    policy = RetryPolicy(max_attempts=10, initial_delay=1.0, max_delay=4.0, max_total=100)
    with _client(fake, policy, rec) as em:
        assert em.image_list() == ["img"]
    assert len(seen) == 6
    # full jitter with rand=0.5 over 1, 2, 4, 4(capped), 4(capped)
    assert rec.sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_retry_after_is_honoured() -> None:
    fake, _ = _locked_then_ok(2, retry_after="3")
    rec = Recorder()
    with _client(fake, RetryPolicy(max_attempts=5, max_total=100), rec) as em:
        em.image_list()
    assert rec.sleeps == [3.0, 3.0]


def test_attempts_are_bounded_then_busy_error() -> None:
    fake, seen = _locked_then_ok(100)
    rec = Recorder()
    policy = RetryPolicy(max_attempts=4, max_total=1000)
    with _client(fake, policy, rec) as em, pytest.raises(BusyError) as info:
        em.image_list()
    assert len(seen) == 4
    assert len(rec.sleeps) == 3
    assert info.value.status_code == 423


def test_total_time_is_bounded() -> None:
    fake, _ = _locked_then_ok(100, retry_after="10")
    rec = Recorder()
    policy = RetryPolicy(max_attempts=100, max_total=25)
    with _client(fake, policy, rec) as em, pytest.raises(BusyError) as info:
        em.image_list()
    assert rec.sleeps == [10.0, 10.0]  # a third wait would end after 25 s
    assert info.value.retry_after == 10.0


@pytest.mark.parametrize(
    "retry", [False, None, RetryPolicy.disabled(), RetryPolicy(retry_locked=False)]
)
def test_retries_can_be_disabled(retry: RetryPolicy | bool | None) -> None:
    fake, seen = _locked_then_ok(1)
    rec = Recorder()
    with _client(fake, retry, rec) as em, pytest.raises(BusyError):
        em.image_list()
    assert len(seen) == 1
    assert rec.sleeps == []


def test_default_policy_is_on() -> None:
    assert EMClient("http://x.test/", "u", "p").retry_policy == RetryPolicy()


def test_locked_post_is_resent_whole(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = FakeEM()
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        if len(bodies) == 1:
            return error(423, "LOCKED", "busy")
        return httpx.Response(
            200, json={"message": "ok", "data": {"file_count": 1, "total_size_kb": 0.1}}
        )

    fake.routes[("POST", "/em/files/uplink")] = handler
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 10)
    rec = Recorder()
    with _client(fake, RetryPolicy(), rec) as em:
        result = em.uplink([path])
    assert result.file_count == 1
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]
    assert bytes(range(256)) * 10 in bodies[1]


class Flaky:
    """Raises `exc` for the first `count` requests to `path`, then defers to `fake`."""

    def __init__(self, fake: FakeEM, path: str, exc: type[Exception], count: int) -> None:
        self.fake, self.path, self.exc, self.count = fake, path, exc, count
        self.attempts = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.path:
            self.attempts += 1
            if self.attempts <= self.count:
                raise self.exc("boom", request=request)
        return self.fake(request)


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_post_is_retried_when_it_was_certainly_not_sent(exc: type[Exception]) -> None:
    flaky = Flaky(FakeEM(), "/em/pod/run", exc, 2)
    rec = Recorder()
    with _client(flaky, RetryPolicy(), rec) as em:  # type: ignore[arg-type]
        em.run("python:3.11-alpine")
    assert flaky.attempts == 3


@pytest.mark.parametrize(
    ("exc", "raised"),
    [
        (httpx.ReadTimeout, RequestTimeoutError),
        (httpx.ReadError, Exception),
        (httpx.RemoteProtocolError, Exception),
        (httpx.WriteTimeout, RequestTimeoutError),
    ],
)
def test_post_is_never_resent_after_the_server_may_have_started(
    exc: type[Exception], raised: type[Exception]
) -> None:
    flaky = Flaky(FakeEM(), "/em/pod/run", exc, 1)
    rec = Recorder()
    with _client(flaky, RetryPolicy(), rec) as em, pytest.raises(raised):  # type: ignore[arg-type]
        em.run("python:3.11-alpine")
    assert flaky.attempts == 1  # a run must not be scheduled twice
    assert rec.sleeps == []


def test_get_is_retried_after_a_broken_connection() -> None:
    flaky = Flaky(FakeEM(), "/em/files/list", httpx.RemoteProtocolError, 1)
    rec = Recorder()
    with _client(flaky, RetryPolicy(), rec) as em:  # type: ignore[arg-type]
        em.files_list()
    assert flaky.attempts == 2


def test_connection_failures_run_out_into_connection_failed_error() -> None:
    flaky = Flaky(FakeEM(), "/auth/", httpx.ConnectError, 100)
    rec = Recorder()
    em = _client(flaky, RetryPolicy(max_attempts=3), rec)  # type: ignore[arg-type]
    with em, pytest.raises(ConnectionFailedError) as info:
        em.files_list()
    assert flaky.attempts == 3
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_one_request_in_flight_per_client() -> None:
    fake = FakeEM()
    state = {"active": 0, "peak": 0}
    lock = threading.Lock()

    def slow(request: httpx.Request) -> httpx.Response:
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
        time.sleep(0.01)
        with lock:
            state["active"] -= 1
        return httpx.Response(200, json={"message": "ok", "data": []})

    fake.routes[("GET", "/em/pod/image/list")] = slow
    with make_client(fake) as em:
        em.get_token()
        threads = [threading.Thread(target=em.image_list) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert state["peak"] == 1
    assert fake.calls.count(("GET", "/em/pod/image/list")) == 8


def test_streamed_response_holds_the_gate_until_closed() -> None:
    gate_events: list[str] = []
    inner = httpx.MockTransport(lambda r: httpx.Response(200, stream=httpx.ByteStream(b"abc")))
    transport = RetryTransport(inner, None)
    with httpx.Client(transport=transport, base_url="http://x.test") as client:
        with client.stream("GET", "/a") as response:
            other = threading.Thread(
                target=lambda: (client.get("/b"), gate_events.append("other done"))
            )
            other.start()
            other.join(0.2)
            gate_events.append("stream open")
            response.read()
        other.join()
    assert gate_events == ["stream open", "other done"]


def test_gate_is_reentrant_for_its_owner_and_released_by_anyone() -> None:
    gate = InFlightGate()
    gate.acquire()
    gate.acquire()  # same thread: no deadlock
    gate.release()
    released = threading.Event()

    def other() -> None:
        gate.acquire()
        released.set()
        gate.release()

    thread = threading.Thread(target=other)
    thread.start()
    assert not released.wait(0.05)
    threading.Thread(target=gate.release).start()  # released from another thread
    thread.join(5)
    assert released.is_set()


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


def test_wide_read_streams_ask_the_socket_for_at_least_read_size() -> None:
    inner = _RecordingBackend()
    stream = WideReadBackend(inner).connect_tcp("127.0.0.1", 1)
    assert stream.read(64 * 1024) == b"x"  # httpcore's own read size
    stream.read(4 * READ_SIZE)
    assert inner.stream.asked == [READ_SIZE, 4 * READ_SIZE]


def test_the_client_talks_through_a_wide_read_pool() -> None:
    # httpx has no argument for httpcore's backend: if its pool moves, this says so.
    transport = network_transport()
    assert isinstance(transport._pool._network_backend, WideReadBackend)
    with EMClient("http://127.0.0.1:9/", "u", "p") as em:
        inner = em._transport.inner
        assert isinstance(inner, httpx.HTTPTransport)
        assert isinstance(inner._pool._network_backend, WideReadBackend)
