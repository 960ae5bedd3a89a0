"""Both clients behind one face, for tests that run each case with `EMClient` and
`AsyncEMClient` (`KINDS`): `AsyncView` runs an `AsyncEMClient`'s coroutines on a loop of its
own, and the `make_client` fixture makes either against a scripted server (closed after)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dphi_em import AsyncEMClient, EMClient

from support.server import HOSTILE_PASSWORD

__all__ = ["KINDS", "AsyncView", "make_client"]

KINDS = ["sync", "async"]


class AsyncView:
    """An `AsyncEMClient` (or its `AsyncPod`) whose coroutine methods run on its own loop."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.client = client
        self.loop = loop or asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if name == "pod":
            return lambda pod_name: AsyncView(attr(pod_name), self.loop)
        if inspect.iscoroutinefunction(attr):
            return lambda *args, **kwargs: self.loop.run_until_complete(attr(*args, **kwargs))
        return attr

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture
def make_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """`make_client(kind, url, **kwargs)`: an EMClient, or an `AsyncView`; closed after."""
    made: list[Any] = []

    def make(kind: str, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("retry", False)
        if kind == "sync":
            client: Any = EMClient(url, "client1", HOSTILE_PASSWORD, **kwargs)
        else:
            client = AsyncView(AsyncEMClient(url, "client1", HOSTILE_PASSWORD, **kwargs))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
