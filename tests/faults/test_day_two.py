"""Issue 20 against a hostile server on 127.0.0.1, for `EMClient` and `AsyncEMClient`.

What must hold: a resumed downlink whose `206` carries no validator (while the first answer
had one) starts over instead of appending bytes of another version (RFC 9110); a URL where
nothing answers fails within a second or two, naming the URL and what to check.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dphi_em import AsyncEMClient, EMClient, EMError, TransportError
from hostile_server import (
    HOSTILE_PASSWORD,
    Answer,
    HostileServer,
    Seen,
    http_response,
    token_answer,
)

pytestmark = pytest.mark.faults

KINDS = ["sync", "async"]


class _AsyncView:
    """An `AsyncEMClient` whose coroutine methods run to completion on its own loop."""

    def __init__(self, client: AsyncEMClient) -> None:
        self.client = client
        self.loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *args, **kwargs: self.loop.run_until_complete(attr(*args, **kwargs))
        return attr

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture
def make_client() -> Iterator[Callable[..., Any]]:
    made: list[Any] = []

    def make(kind: str, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("retry", False)
        if kind == "sync":
            client: Any = EMClient(url, "client1", HOSTILE_PASSWORD, **kwargs)
        else:
            client = _AsyncView(AsyncEMClient(url, "client1", HOSTILE_PASSWORD, **kwargs))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_206_without_the_validator_of_the_first_answer_starts_over(
    kind: str, make_client: Callable[..., Any], tmp_path: Path
) -> None:
    old, new = os.urandom(10_000), os.urandom(10_000)  # the file changed between the calls
    downlinks: list[Seen] = []

    def handler(seen: Seen) -> Answer:
        if seen.path.startswith("/auth/"):
            return token_answer(seen)
        downlinks.append(seen)
        ranged = any(k.lower() == "range" for k in seen.headers)
        if len(downlinks) == 1:  # v1, cut after 4,000 bytes
            head = http_response(
                200,
                b"",
                headers={"ETag": '"v1"', "Accept-Ranges": "bytes", "Content-Length": "10000"},
                content_type="application/octet-stream",
            ).replace(b"Content-Length: 0\r\n", b"")
            return Answer(head + old[:4000], close=True)
        if ranged:  # the rest of v2, with no ETag to check it by
            return Answer(
                http_response(
                    206,
                    new[4000:],
                    headers={"Content-Range": "bytes 4000-9999/10000"},
                    content_type="application/octet-stream",
                )
            )
        return Answer(
            http_response(
                200, new, headers={"ETag": '"v2"'}, content_type="application/octet-stream"
            )
        )

    out = tmp_path / "out"
    with HostileServer(handler) as server:
        client = make_client(kind, server.url)
        with pytest.raises(EMError):
            client.downlink("data.bin", out)
        path = client.downlink("data.bin", out)
    assert path.read_bytes() == new  # not old[:4000] + new[4000:]
    assert [any(k.lower() == "range" for k in s.headers) for s in downlinks] == [
        False,
        True,
        False,
    ]
    assert sorted(p.name for p in out.iterdir()) == ["data.bin"]
