"""Issue 20 against a hostile server on 127.0.0.1, for `EMClient` and `AsyncEMClient`.

What must hold: a resumed downlink whose `206` carries no validator (while the first answer
had one) starts over instead of appending bytes of another version (RFC 9110); a URL where
nothing answers fails within a second or two, naming the URL and what to check.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dphi_em import AsyncEMClient, EMClient, EMError, TransportError
from faults_support import FAULT_PASSWORD, FAULT_USERS
from support.clients import KINDS, AsyncView
from support.server import (
    HOSTILE_PASSWORD,
    Answer,
    ScriptedServer,
    Seen,
    http_response,
    token_answer,
)

pytestmark = pytest.mark.faults


def _cut_200(body: bytes, sent: int) -> bytes:
    """A resumable `200` (ETag "v1", byte ranges) announcing `body` whole, cut after `sent`."""
    head = http_response(
        200,
        b"",
        headers={"ETag": '"v1"', "Accept-Ranges": "bytes", "Content-Length": str(len(body))},
        content_type="application/octet-stream",
    ).replace(b"Content-Length: 0\r\n", b"")
    return head + body[:sent]


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
            return Answer(_cut_200(old, 4000), close=True)
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
    with ScriptedServer(handler, keep_alive=True) as server:
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


# -- 4: AsyncEMClient never blocks its event loop ---------------------------------------------


class Heartbeat:
    """A task that wakes every 2 ms and keeps the most CPU time the loop's thread spent
    between two wake-ups, i.e. the longest time something held the loop.

    CPU time of the loop's thread (`time.thread_time`), not the wall-clock gap: the machine
    running the suite is shared, and a wake-up that waits for a free CPU (or for the GIL
    while a worker thread runs) is not the loop being blocked; work done in the loop's
    thread is, and shows here whatever the load.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.where = ""
        self.phase = "start"
        self.beats = 0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        last = time.thread_time()
        while True:
            await asyncio.sleep(0.002)
            now = time.thread_time()
            self.beats += 1
            if now - last > self.worst:
                self.worst, self.where = now - last, self.phase
            last = now

    def __enter__(self) -> Heartbeat:
        self._task = asyncio.get_running_loop().create_task(self._beat())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def _tree(root: Path, count: int, folders: int) -> None:
    for index in range(count):
        folder = root / f"d{index % folders:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index:05d}.txt").write_bytes(b"%d\n" % index)


def test_the_async_client_never_blocks_its_loop_for_more_than_20_ms(
    emulator_process: Callable[..., Any], tmp_path: Path
) -> None:
    """The first login, `sync_up` walking 4,000 files, `sync_down` scanning 4,000 local
    files and deleting them (`delete=True`): the loop answers a 2 ms heartbeat throughout."""
    server = emulator_process(users=FAULT_USERS)
    up, down = tmp_path / "up", tmp_path / "down"
    _tree(up, 4000, 40)
    _tree(down / "junk", 4000, 40)
    (up / "keep.txt").write_bytes(b"keep\n")

    async def main() -> None:
        async with AsyncEMClient(server.url, "client1", FAULT_PASSWORD, retry=False) as em:
            with Heartbeat() as beat:

                def check(phase: str) -> None:
                    held = f"the loop was held {beat.worst * 1000:.0f} ms ({beat.where})"
                    assert beat.worst < 0.020, held
                    beat.phase = phase

                await asyncio.sleep(0.01)
                check("login")
                await em.get_token()
                check("sync_up")
                sent = await em.sync_up(up, "big", "beats")
                assert len(sent.transferred) == 4001
                check("sync_up again")
                again = await em.sync_up(up, "big", "beats", checksum=True)
                assert again.transferred == ()
                check("sync_down")
                (down / "keep.txt").write_bytes(b"keep\n")
                await em.uplink([up / "keep.txt"], "small", "beats")
                result = await em.sync_down("small", down, "beats", delete=True)
                assert result.deleted == ("junk",)
                await asyncio.sleep(0.01)
                check("end")
                assert beat.beats > 10

    asyncio.run(main())
    assert not (down / "junk").exists()


# -- 7: nothing answers at the URL --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_url_where_nothing_answers_fails_fast_naming_it(kind: str, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    client: Any = (
        EMClient(url, "client1", HOSTILE_PASSWORD)
        if kind == "sync"
        else AsyncView(AsyncEMClient(url, "client1", HOSTILE_PASSWORD))
    )
    started = time.monotonic()
    try:
        with pytest.raises(TransportError) as info:
            client.files_list()  # the default retry policy
    finally:
        client.close()
    assert time.monotonic() - started < 5  # was 7 retries over 7-16 s
    message = str(info.value)
    assert f"nothing answers at {url}" in message
    assert "dphi-em emulator" in message


# -- 5: the EM keeps no console output ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_logs_against_an_em_without_the_endpoint_say_what_to_do(
    kind: str, make_client: Callable[..., Any]
) -> None:
    from dphi_em import LogsUnavailableError

    def handler(seen: Seen) -> Answer:
        if seen.path.startswith("/auth/"):
            return token_answer(seen)
        return Answer(http_response(404, b'{"detail": "Not found."}'))

    with ScriptedServer(handler, keep_alive=True) as server:
        client = make_client(kind, server.url)
        with pytest.raises(LogsUnavailableError, match="log to /data"):
            client.pod_logs("job1")
        with pytest.raises(LogsUnavailableError, match="keeps no console output"):
            client.pod("job1").logs()


# -- 10, 11: image_build's context, image names checked before sending ---------------------------


def _built(seen: list[Seen]) -> Callable[[Seen], Answer]:
    def handler(request: Seen) -> Answer:
        if request.path.startswith("/auth/"):
            return token_answer(request)
        seen.append(request)
        return Answer(http_response(200, b'{"message": "Docker Image built successfully"}'))

    return handler


@pytest.mark.parametrize("kind", KINDS)
def test_image_build_defaults_the_context_to_the_dockerfiles_folder(
    kind: str, make_client: Callable[..., Any]
) -> None:
    seen: list[Seen] = []
    with ScriptedServer(_built(seen), keep_alive=True) as server:
        client = make_client(kind, server.url)
        client.image_build("echo-test/Dockerfile", "echo-test", pod_name="job1")
        client.image_build("Dockerfile", "at-root")
    contexts = [json.loads(s.body)["context"] for s in seen]
    assert contexts == ["echo-test", "."]  # as the CLI: the Dockerfile's folder


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.image_build("x/Dockerfile", "Bad_Name"),
        lambda c: c.image_load("x.tar", "Bad_Name"),
        lambda c: c.run("Bad_Name"),
        lambda c: c.run("my image"),
    ],
)
def test_a_bad_image_name_is_refused_before_sending(
    kind: str, call: Callable[[Any], Any], make_client: Callable[..., Any]
) -> None:
    from dphi_em import ValidationError

    seen: list[Seen] = []
    with ScriptedServer(_built(seen), keep_alive=True) as server:
        with pytest.raises(ValidationError, match="lowercase"):
            call(make_client(kind, server.url))
        assert server.seen == []  # nothing sent, not even the login


# -- 11: Ctrl-C during a downlink ---------------------------------------------------------------


def test_ctrl_c_during_a_downlink_says_the_partial_is_kept_and_the_next_run_resumes(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner
    from dphi_em.cli import app

    body = os.urandom(10_000)
    out = tmp_path / "out"
    tree = [{"type": "file", "name": "data.bin", "size": "10000", "time": "2026-12-01-10-00"}]
    listing = json.dumps({"message": "ok", "data": tree}).encode()

    def handler(seen: Seen) -> Answer:
        path = seen.path.split("?", 1)[0]
        if path.startswith("/auth/"):
            return token_answer(seen)
        if path == "/em/files/list":
            return Answer(http_response(200, listing))
        if any(k.lower() == "range" for k in seen.headers):
            return Answer(
                http_response(
                    206,
                    body[4000:],
                    headers={"Content-Range": "bytes 4000-9999/10000", "ETag": '"v1"'},
                    content_type="application/octet-stream",
                )
            )
        return Answer(_cut_200(body, 4000))

    def interrupt_once_started(seen: Seen) -> Answer:
        answer = handler(seen)
        if seen.path.startswith("/em/files/downlink") and answer.data.startswith(b"HTTP/1.1 200"):

            def press_ctrl_c() -> None:  # once the client has opened its partial file
                deadline = time.monotonic() + 30
                while not list(out.glob(".data.bin.*.part")) and time.monotonic() < deadline:
                    time.sleep(0.01)
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

            threading.Thread(target=press_ctrl_c, daemon=True).start()
        return answer

    # Ctrl-C as a terminal gives it, Python's KeyboardInterrupt: a worker started from a
    # shell's background job inherits SIGINT ignored and would never hear the signal
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with ScriptedServer(interrupt_once_started, keep_alive=True) as server:
            env = {
                "DPHI_EM_URL": server.url,
                "DPHI_EM_USERNAME": "client1",
                "DPHI_EM_PASSWORD": HOSTILE_PASSWORD,
            }
            runner = CliRunner()
            cut = runner.invoke(app, ["downlink", "data.bin", "-o", str(out)], env=env)
            assert cut.exit_code == 130, cut.output
            assert "kept in" in cut.stderr
            assert "run the same command again to resume" in cut.stderr
            server.handler = handler
            again = runner.invoke(app, ["downlink", "data.bin", "-o", str(out)], env=env)
            assert again.exit_code == 0, again.output
            assert "Resumed data.bin after the" in again.stderr
        assert (out / "data.bin").read_bytes() == body
    finally:
        signal.signal(signal.SIGINT, previous)
