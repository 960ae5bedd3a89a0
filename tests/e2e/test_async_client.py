"""What only an asyncio client can be asked: many tasks on one client, and cancellation.

The rest of the end-to-end suite runs `AsyncEMClient` and `EMClient` from one body (see
`facade_helpers.AsyncView`); here the tests are coroutines of their own.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from dphi_em import AsyncEMClient, AsyncPod, FileNode, iter_files
from facade_helpers import FAST_RETRY


def _client(server: Any, **kwargs: Any) -> AsyncEMClient:
    kwargs.setdefault("retry", FAST_RETRY)
    return AsyncEMClient(server.url, server.username, server.password, **kwargs)


def test_concurrent_tasks_share_one_client_on_two_second_tokens(
    make_emulator: Any, tmp_path: Path
) -> None:
    server = make_emulator(access_lifetime=2.0)
    source = tmp_path / "n.txt"
    source.write_text("n")

    async def main() -> tuple[int, int, list[int]]:
        async with _client(server) as em:
            await em.uplink([source], pod_name="shared")
            deadline = time.monotonic() + 5.0  # two and a half token lifetimes
            counts = [0] * 8

            async def worker(i: int) -> None:
                while time.monotonic() < deadline:
                    tree = await em.files_list("shared")
                    assert [p for p, _ in iter_files(tree)] == ["n.txt"]
                    counts[i] += 1

            await asyncio.gather(*(worker(i) for i in range(8)))
            return em._auth.login_count, em._auth.refresh_count, counts

    logins, refreshes, counts = asyncio.run(main())
    assert logins == 1  # one login, then refreshes: never a login per task
    assert 1 <= refreshes <= 6  # renewed about every second, once for all tasks
    assert all(count > 0 for count in counts)


def test_cancelled_downlink_leaves_only_a_resumable_partial(emulator: Any, tmp_path: Path) -> None:
    """A cancelled task leaves no target file and nothing stray: only the partial file and
    its record that resume uses, and the next downlink completes the file byte-exact."""
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        out.write(os.urandom(1024 * 1024))
        out.truncate(64 * 1024 * 1024)
    folder = tmp_path / "out"

    async def main() -> int:
        async with _client(emulator) as em:
            pod = em.pod("cancel-dl")
            assert isinstance(pod, AsyncPod)
            await pod.uplink([big])
            seen: list[int] = []
            task: asyncio.Task[Path] | None = None

            def progress(done: int, total: int) -> None:
                seen.append(done)
                if len(seen) == 2 and task is not None:
                    task.cancel()  # mid-transfer: some bytes are on disk by now

            task = asyncio.ensure_future(pod.downlink("big.bin", folder, progress=progress))
            with pytest.raises(asyncio.CancelledError):
                await task
            names = sorted(p.name for p in folder.iterdir())
            assert "big.bin" not in names
            assert [n.rsplit(".", 1)[-1] for n in names] == ["part", "json"]
            # the client is still usable after a cancelled call, and the next run resumes
            path = await pod.downlink("big.bin", folder)
            assert path.read_bytes() == big.read_bytes()
            return seen[-1]

    done = asyncio.run(main())
    assert 0 < done < 64 * 1024 * 1024
    assert sorted(p.name for p in folder.iterdir()) == ["big.bin"]


def test_cancelled_uplink_is_not_left_half_sent(emulator: Any, tmp_path: Path) -> None:
    big = tmp_path / "up.bin"
    with big.open("wb") as out:
        out.truncate(64 * 1024 * 1024)

    async def main() -> list[FileNode]:
        async with _client(emulator) as em:
            task: asyncio.Task[Any] | None = None
            seen: list[int] = []

            def progress(done: int, total: int) -> None:
                seen.append(done)
                if len(seen) == 2 and task is not None:
                    task.cancel()

            task = asyncio.ensure_future(em.uplink([big], pod_name="cancel-up", progress=progress))
            with pytest.raises(asyncio.CancelledError):
                await task
            return await em.files_list("cancel-up")

    # The server saw a cut body: it keeps nothing of it (the volume stays empty).
    assert asyncio.run(main()) == []
