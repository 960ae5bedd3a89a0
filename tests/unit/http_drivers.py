"""One test body, two I/O drivers: `httpx.Client` + `RetryTransport` or `httpx.AsyncClient` +
`AsyncRetryTransport`, both with `TokenAuth`.

A test takes the `driver` fixture (defined in each test module as
`driver = pytest.fixture(params=DRIVERS)(driver_fixture)`) and calls `driver.client(...)`;
the `Http` it gets answers plain calls in both modes (the async mode runs each call on an
event loop kept for the test), so the test reads the same for both.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import logging
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import pytest
from dphi_em import AsyncEMClient, EMClient
from dphi_em._async._transport import AsyncRetryTransport
from dphi_em._auth import TokenAuth
from dphi_em._config import Credentials
from dphi_em._retry import RetryPolicy
from dphi_em._sync._transport import RetryTransport
from dphi_em._transports._network import async_network_transport, network_transport
from fake_em import PASSWORD, USER

T = TypeVar("T")
Handler = Callable[[httpx.Request], httpx.Response]

DRIVERS = ["sync", "async"]
BASE_URL = "http://em.test/"
#: Seconds `Driver.concurrently` waits for its callers before failing with their stacks
#: (well below pytest-timeout's 300 s, which would only say "Timeout").
CONCURRENT_TIMEOUT = 120.0


def stacks(tasks: Any = ()) -> str:
    """Every thread's stack, then the stack of each asyncio task in `tasks`: what a test
    that gave up waiting prints, so a deadlock shows who waits for what."""
    out = io.StringIO()
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        out.write(f"--- thread {names.get(ident, ident)}\n")
        out.write("".join(traceback.format_stack(frame)))
    for task in tasks:
        out.write(f"--- task {task!r}\n")
        awaiting: Any = task.get_coro()
        while awaiting is not None:  # the chain of awaits, outermost first
            frame = getattr(awaiting, "cr_frame", None) or getattr(awaiting, "gi_frame", None)
            if frame is not None:
                code = frame.f_code
                out.write(
                    f'  File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}\n'
                )
            awaiting = getattr(awaiting, "cr_await", None) or getattr(
                awaiting, "gi_yieldfrom", None
            )
    return out.getvalue()


class Clock:
    """A settable monotonic clock."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A fake clock and sleep (sync and async): sleeping advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Peak:
    """Counts requests in progress in a handler and keeps the highest count."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)

    def exit(self) -> None:
        with self._lock:
            self.active -= 1


class LogSignal(logging.Handler):
    """Sets an event when a `dphi_em` record contains `text` (e.g. a wait at the gate)."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


@contextmanager
def log_signal(text: str) -> Iterator[LogSignal]:
    """A `LogSignal` attached to the `dphi_em` logger (at DEBUG) for the block."""
    logger = logging.getLogger("dphi_em")
    signal = LogSignal(text)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(signal)
    try:
        yield signal
    finally:
        logger.removeHandler(signal)
        logger.setLevel(level)


class Http:
    """A client (sync or async) with plain methods; see the module docstring."""

    def __init__(
        self,
        driver: Driver,
        client: httpx.Client | httpx.AsyncClient,
        auth: TokenAuth,
        transport: Any,
    ) -> None:
        self.driver = driver
        self.client = client
        self.auth = auth
        self.transport = transport

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; the body is read."""
        response: httpx.Response = self.driver.run(self.client.request(method, path, **kwargs))
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The client's own call: a response (sync) or a coroutine (async), for `concurrently`."""
        return self.client.request(method, path, **kwargs)

    def open_stream(self, method: str, path: str) -> httpx.Response:
        """Send a request and return its response unread (the caller closes it)."""
        request = self.client.build_request(method, path)
        response: httpx.Response = self.driver.run(self.client.send(request, stream=True))
        return response

    def close_response(self, response: httpx.Response) -> None:
        if isinstance(self.client, httpx.AsyncClient):
            self.driver.run(response.aclose())
        else:
            response.close()

    def login(self) -> None:
        """`TokenAuth.login` or `alogin`, sending through the client without auth."""
        template = self.client.build_request("GET", "/")
        if isinstance(self.client, httpx.AsyncClient):
            client = self.client

            async def asend(request: httpx.Request) -> httpx.Response:
                return await client.send(request, auth=None)

            self.driver.run(self.auth.alogin(asend, template))
        else:
            sync_client = self.client
            self.auth.login(lambda request: sync_client.send(request, auth=None), template)

    def close(self) -> None:
        if isinstance(self.client, httpx.AsyncClient):
            self.driver.run(self.client.aclose())
        else:
            self.client.close()


class EM:
    """`EMClient` or `AsyncEMClient` with plain methods: coroutines are run to their end."""

    def __init__(self, driver: Driver, client: Any) -> None:
        self.driver = driver
        self.client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not inspect.ismethod(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.driver.run(attr(*args, **kwargs))

        return call

    def close(self) -> None:
        if isinstance(self.client, AsyncEMClient):
            self.driver.run(self.client.aclose())
        else:
            self.client.close()

    def __enter__(self) -> EM:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Driver:
    """Builds clients and runs calls for one mode: `sync` or `async` (asyncio)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.is_async = kind == "async"
        self.loop = asyncio.new_event_loop() if self.is_async else None
        self._clients: list[Http] = []

    def __repr__(self) -> str:
        return f"Driver({self.kind})"

    def run(self, value: Any) -> Any:
        """The value itself (sync), or the awaitable run to its end on the test's loop."""
        if inspect.isawaitable(value):
            assert self.loop is not None
            return self.loop.run_until_complete(_awaited(value))
        return value

    def network(self) -> Any:
        """The real transport of this mode: `network_transport()` or the async one."""
        return async_network_transport() if self.is_async else network_transport()

    def mock(
        self, handler: Handler, *, delay: float = 0.0, peak: Peak | None = None
    ) -> httpx.MockTransport:
        """A MockTransport for this mode; `delay` is slept (or awaited) inside each request."""
        if not self.is_async:

            def sync_handler(request: httpx.Request) -> httpx.Response:
                if peak is not None:
                    peak.enter()
                try:
                    if delay:
                        time.sleep(delay)
                    return handler(request)
                finally:
                    if peak is not None:
                        peak.exit()

            return httpx.MockTransport(sync_handler)

        async def async_handler(request: httpx.Request) -> httpx.Response:
            if peak is not None:
                peak.enter()
            try:
                if not isinstance(request.stream, httpx.SyncByteStream):
                    # an async upload stream: read it as a socket would, for sync handlers
                    body = b"".join([chunk async for chunk in request.stream])
                    request.stream = httpx.ByteStream(body)
                if delay:
                    await asyncio.sleep(delay)
                else:
                    await asyncio.sleep(0)  # let other tasks run, as a socket would
                return handler(request)
            finally:
                if peak is not None:
                    peak.exit()

        return httpx.MockTransport(async_handler)

    def client(
        self,
        handler: Handler | None = None,
        *,
        inner: Any = None,
        policy: RetryPolicy | None = None,
        recorder: Recorder | None = None,
        clock: Callable[[], float] | None = None,
        base_url: str = BASE_URL,
        username: str | None = USER,
        password: str | None = PASSWORD,
        delay: float = 0.0,
        peak: Peak | None = None,
        gate: bool = True,
    ) -> Http:
        """A client on `handler` (a MockTransport) or on `inner` (a real transport).

        `gate=False` leaves out the retrying, gated transport: requests then overlap, which
        shows what `TokenAuth`'s own lock does.
        """
        if inner is None:
            assert handler is not None
            inner = self.mock(handler, delay=delay, peak=peak)
        auth = TokenAuth(Credentials(username, password), httpx.URL(base_url), clock=clock)
        options: dict[str, Any] = {}
        if recorder is not None:
            options = {"clock": recorder.clock, "rand": lambda: 0.5}
        client: httpx.Client | httpx.AsyncClient
        transport: Any
        if not gate:
            transport = inner
            client_class = httpx.AsyncClient if self.is_async else httpx.Client
            client = client_class(auth=auth, transport=transport, base_url=base_url)
        elif self.is_async:
            if recorder is not None:
                options["sleep"] = recorder.asleep
            transport = AsyncRetryTransport(inner, policy, **options)
            client = httpx.AsyncClient(auth=auth, transport=transport, base_url=base_url)
        else:
            if recorder is not None:
                options["sleep"] = recorder.sleep
            transport = RetryTransport(inner, policy, **options)
            client = httpx.Client(auth=auth, transport=transport, base_url=base_url)
        http = Http(self, client, auth, transport)
        self._clients.append(http)
        return http

    def em(
        self,
        handler: Handler | None = None,
        *,
        base_url: str | None = BASE_URL,
        username: str | None = USER,
        password: str | None = PASSWORD,
        retry: RetryPolicy | bool | None = False,
        **kwargs: Any,
    ) -> EM:
        """`EMClient` (sync) or `AsyncEMClient` (async) on `handler` (a MockTransport)."""
        client_class = AsyncEMClient if self.is_async else EMClient
        if handler is not None:
            kwargs["transport"] = self.mock(handler)
        return EM(self, client_class(base_url, username, password, retry=retry, **kwargs))

    def concurrently(
        self, count: int, call: Callable[[], Any], *, timeout: float = CONCURRENT_TIMEOUT
    ) -> list[Any]:
        """Run `call` `count` times at once: threads behind a barrier, or asyncio tasks.

        Returns:
            The results, in order; the first exception is raised. A caller still running
            after `timeout` seconds fails the test with every thread's and task's stack.
        """
        if self.is_async:

            async def gather() -> list[Any]:
                tasks = [asyncio.ensure_future(_awaited(call())) for _ in range(count)]
                _, pending = await asyncio.wait(tasks, timeout=timeout)
                if pending:
                    where = stacks(pending)
                    for task in pending:
                        task.cancel()
                    await asyncio.wait(pending, timeout=5.0)
                    pytest.fail(
                        f"{len(pending)} of {count} callers still running after {timeout} s:"
                        f"\n{where}"
                    )
                return [task.result() for task in tasks]

            gathered: list[Any] = self.run(gather())
            return gathered
        barrier = threading.Barrier(count)
        results: list[Any] = [None] * count
        errors: list[BaseException] = []

        def work(index: int) -> None:
            try:
                barrier.wait()
                results[index] = call()
            except BaseException as exc:  # reported below
                errors.append(exc)

        # daemon: a caller that never returns must not keep the test process alive
        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(count)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        running = [thread for thread in threads if thread.is_alive()]
        if running:
            pytest.fail(
                f"{len(running)} of {count} callers still running after {timeout} s:\n{stacks()}"
            )
        if errors:
            raise errors[0]
        return results

    def start(self, call: Callable[[], Any]) -> Background:
        """Start `call` in the background: a thread, or a task on the test's loop (it runs
        whenever the loop does, e.g. in `wait_until` or `Background.result`)."""
        if self.loop is not None:
            return Background(self, task=self.loop.create_task(_awaited(call())))
        return Background(self, thread_call=call)

    def wait_until(self, event: threading.Event, timeout: float = 10.0) -> None:
        """Block (sync) or run the loop (async) until `event` is set; fail after `timeout`."""
        if self.loop is None:
            assert event.wait(timeout), "the event never came"
            return

        async def poll() -> None:
            deadline = time.monotonic() + timeout
            while not event.is_set():
                assert time.monotonic() < deadline, "the event never came"
                await asyncio.sleep(0.001)

        self.run(poll())

    def close(self) -> None:
        for http in self._clients:
            http.close()
        if self.loop is not None:
            self.loop.close()


class Background:
    """A call running in a thread or an asyncio task."""

    def __init__(
        self,
        driver: Driver,
        *,
        task: asyncio.Task[Any] | None = None,
        thread_call: Callable[[], Any] | None = None,
    ) -> None:
        self._driver = driver
        self._task = task
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if thread_call is not None:
            # daemon: a call that never returns must not keep the test process alive
            self._thread = threading.Thread(target=self._work, args=(thread_call,), daemon=True)
            self._thread.start()

    def _work(self, call: Callable[[], Any]) -> None:
        try:
            self._result = call()
        except BaseException as exc:  # reported by result()
            self._error = exc

    def done(self) -> bool:
        if self._task is not None:
            return self._task.done()
        assert self._thread is not None
        return not self._thread.is_alive()

    def result(self, timeout: float = 10.0) -> Any:
        """Wait for the call (running the loop for a task) and return its result."""
        if self._task is not None:
            task = self._task

            async def wait() -> Any:
                await asyncio.wait([task], timeout=timeout)
                if not task.done():
                    where = stacks([task])
                    task.cancel()
                    await asyncio.wait([task], timeout=5.0)
                    pytest.fail(f"the call did not finish in {timeout} s:\n{where}")
                return task.result()

            return self._driver.run(wait())
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            pytest.fail(f"the call did not finish in {timeout} s:\n{stacks()}")
        if self._error is not None:
            raise self._error
        return self._result


async def _awaited(value: Awaitable[T]) -> T:
    return await value


def driver_fixture(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """The body of each module's `driver` fixture (parametrized over `DRIVERS`)."""
    driver = Driver(request.param)
    try:
        yield driver
    finally:
        driver.close()
