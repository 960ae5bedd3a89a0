"""Eight threads share one client while 2-second access tokens keep expiring.

Every call must succeed (the client renews before expiry, one renewal for all threads, and
recovers from a 401 once), with one login for the whole run and a renewal count bounded by
the time the run spans, not by the number of calls or threads.
"""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from dphi_em import EMClient
from faults_support import FAULT_PASSWORD, FAULT_USERS

pytestmark = pytest.mark.faults

_THREADS = 8
_LIFETIME = 2.0
_RUN = 3 * _LIFETIME  # the run spans three token lifetimes


class _CountingTransport(httpx.BaseTransport):
    """A real network transport that counts the requests per path."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self._lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.counts[request.url.path] += 1
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def test_eight_threads_on_two_second_tokens_all_succeed_with_one_login(
    make_emulator: Any, tmp_path: Path
) -> None:
    server = make_emulator(users=FAULT_USERS, access_lifetime=_LIFETIME)
    transport = _CountingTransport()
    payload = tmp_path / "payload.txt"
    payload.write_bytes(b"x" * 4096)
    failures: list[BaseException] = []
    calls = collections.Counter[str]()
    start = threading.Barrier(_THREADS)

    with EMClient(server.url, "client1", FAULT_PASSWORD, transport=transport) as em:

        def worker(index: int) -> None:
            pod = f"thread-{index}"
            try:
                start.wait()
                deadline = time.monotonic() + _RUN
                while time.monotonic() < deadline:
                    em.uplink([payload], pod_name=pod)
                    assert [node.name for node in em.files_list(pod_name=pod)] == ["payload.txt"]
                    back = em.downlink("payload.txt", tmp_path / pod, pod_name=pod, overwrite=True)
                    assert back.read_bytes() == payload.read_bytes()
                    calls[pod] += 3
            except BaseException as exc:  # reported below, with the thread's name
                failures.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(_THREADS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - started
        assert not any(thread.is_alive() for thread in threads), "a thread is stuck"

    assert failures == []
    assert all(calls[f"thread-{i}"] >= 3 for i in range(_THREADS)), calls
    total = sum(calls.values())
    counts = transport.counts
    assert counts["/auth/"] == 1, counts
    # A token this short is renewed half-way through its life: about one renewal per
    # second of the run, however many threads and calls (plus a few for 401s met at the edge).
    renewals = counts["/auth/refresh"]
    assert renewals <= elapsed / (_LIFETIME / 2) + 3, (renewals, elapsed, total)
