"""Helpers for the facade's end-to-end tests (the fixtures live in tests/conftest.py).

The end-to-end suite runs once per client kind: `EMClient`, and `AsyncEMClient` driven
through `AsyncView`, which runs each coroutine on an event loop kept for the client. A test
takes the `client_kind` fixture (parametrized "sync"/"async") and `client_for(server,
kind=client_kind)`, and reads the same for both.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any

from dphi_em import AsyncEMClient, EMClient, RetryPolicy

#: Fast retries for tests: a 423 burst is waited out in milliseconds.
FAST_RETRY = RetryPolicy(max_attempts=10, initial_delay=0.01, max_delay=0.05, max_total=10)

CLIENT_KINDS = ["sync", "async"]


class AsyncView:
    """An `AsyncEMClient` (or `AsyncPod`) with a sync face: each call runs on `loop`.

    Args:
        target: The async client or pod handle.
        loop: The event loop the client's connections live on.
    """

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    @property
    def target(self) -> Any:
        """The async object behind the view."""
        return self._target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if name == "pod":
            return lambda pod_name: AsyncView(attr(pod_name), self._loop)
        if inspect.iscoroutinefunction(attr):

            def call(*args: Any, **kwargs: Any) -> Any:
                return self._loop.run_until_complete(attr(*args, **kwargs))

            return call
        return attr

    def run_coro(self, coro: Any) -> Any:
        """Run any coroutine on the client's loop."""
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        if isinstance(self._target, AsyncEMClient):
            self._loop.run_until_complete(self._target.aclose())
            self._loop.close()

    def __enter__(self) -> AsyncView:
        self._loop.run_until_complete(self._target.__aenter__())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def client_for(server: Any, kind: str = "sync", **kwargs: Any) -> Any:
    """An EMClient (or an `AsyncView` of an AsyncEMClient) for an emulator fixture."""
    kwargs.setdefault("retry", FAST_RETRY)
    if kind == "sync":
        return EMClient(server.url, server.username, server.password, **kwargs)
    loop = asyncio.new_event_loop()
    client = AsyncEMClient(server.url, server.username, server.password, **kwargs)
    return AsyncView(client, loop)


def client_factory(kind: str) -> Callable[..., Any]:
    """`EMClient`, or a function building an `AsyncView` with the same arguments."""
    if kind == "sync":
        return EMClient

    def make(*args: Any, **kwargs: Any) -> AsyncView:
        return AsyncView(AsyncEMClient(*args, **kwargs), asyncio.new_event_loop())

    return make


def is_local(server: Any) -> bool:
    """Whether `server` is the local emulator (pods there run nothing)."""
    return hasattr(server, "emulator")
