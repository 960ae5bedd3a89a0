"""Issue 11's client-side holes, each against a hostile server on 127.0.0.1, for `EMClient`
and `AsyncEMClient` alike (the `kind` parameter) where both apply.

What must hold: a downlink saves the bytes sent (never decoded) and only a full `200`;
JSON too deep or too large is an `APIError` naming the call (error answers and `/auth/`
included) without reading the whole answer; a non-transfer call has a total deadline; bytes
after a body's end never become the next answer; an unusable access token is an `APIError`
that does not show it; a retry carries the token current when it is sent; a call from a
progress callback does not deadlock against a renewal; `--debug` hides the session's own
opaque tokens; environment proxies are honoured; a `POST` on a kept-alive connection the
server closed goes out on a new connection.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dphi_em import (
    APIError,
    BuildFailedError,
    EMClient,
    RequestTimeoutError,
    TransportError,
    _timing,
)
from support.clients import KINDS
from support.server import (
    HOSTILE_PASSWORD,
    Answer,
    ScriptedServer,
    Seen,
    fake_jwt,
    http_response,
    json_response,
    token_answer,
)

pytestmark = pytest.mark.faults

_DELETE = "/em/files/delete"
_DEEP = b"[" * 100_000 + b"]" * 100_000


def _message(text: str) -> bytes:
    return json_response(200, {"message": text})


def _serve(answers: dict[str, Callable[[Seen], Answer]]) -> Callable[[Seen], Answer]:
    """A handler: `/auth/` as a good server, other paths from `answers`."""

    def handler(seen: Seen) -> Answer:
        path = seen.path.split("?", 1)[0]
        if path.startswith("/auth/"):
            return answers.get(path, token_answer)(seen)
        return answers[path](seen)

    return handler


# -- 1, 2: downlink bytes as sent, only a full 200 --------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_downlink_saves_gzip_bytes_as_sent(
    kind: str, make_client: Callable[..., Any], tmp_path: Path
) -> None:
    plain = b"A" * 200_000
    packed = gzip.compress(plain)
    answer = http_response(
        200, packed, headers={"Content-Encoding": "gzip"}, content_type="application/octet-stream"
    )
    handler = _serve({"/em/files/downlink": lambda seen: Answer(answer)})
    with ScriptedServer(handler, keep_alive=True) as server:
        path = make_client(kind, server.url).downlink("a.bin", tmp_path / "out")
    assert path.read_bytes() == packed
    assert list((tmp_path / "out").iterdir()) == [path]


@pytest.mark.parametrize("kind", KINDS)
def test_downlink_refuses_a_206_it_did_not_ask_for(
    kind: str, make_client: Callable[..., Any], tmp_path: Path
) -> None:
    answer = http_response(
        206,
        b"abcd",
        headers={"Content-Range": "bytes 0-3/100"},
        content_type="application/octet-stream",
    )
    handler = _serve({"/em/files/downlink": lambda seen: Answer(answer)})
    with ScriptedServer(handler, keep_alive=True) as server, pytest.raises(APIError, match="206"):
        make_client(kind, server.url).downlink("a.bin", tmp_path / "out")
    assert not list((tmp_path / "out").glob("*a.bin*"))


# -- 3: deep and large JSON ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [200, 400])
def test_deeply_nested_answer_is_an_api_error_naming_the_call(
    kind: str, status: int, make_client: Callable[..., Any]
) -> None:
    deep = http_response(status, _DEEP)
    handler = _serve({_DELETE: lambda seen: Answer(deep)})
    with (
        ScriptedServer(handler, keep_alive=True) as server,
        pytest.raises(APIError, match=_DELETE) as caught,
    ):
        make_client(kind, server.url).delete("x.txt")
    assert caught.value.status_code == status


@pytest.mark.parametrize("kind", KINDS)
def test_deeply_nested_login_answer_is_an_api_error_naming_the_call(
    kind: str, make_client: Callable[..., Any]
) -> None:
    deep = http_response(200, _DEEP)
    handler = _serve({"/auth/": lambda seen: Answer(deep), _DELETE: lambda s: Answer(b"")})
    with (
        ScriptedServer(handler, keep_alive=True) as server,
        pytest.raises(APIError, match="/auth/"),
    ):
        make_client(kind, server.url).delete("x.txt")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [200, 500])
def test_a_100_mb_answer_is_refused_without_reading_it_all(
    kind: str, status: int, make_client: Callable[..., Any]
) -> None:
    body = b'{"message": "' + b"x" * (100 * 1024 * 1024) + b'"}'
    huge = http_response(status, body)
    del body
    with ScriptedServer(_serve({_DELETE: lambda seen: Answer(huge)}), keep_alive=True) as server:
        client = make_client(kind, server.url)
        tracemalloc.start()
        try:
            with pytest.raises(APIError, match="/em/files/delete"):
                client.delete("x.txt")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 64 * 1024 * 1024, f"the client held {peak} bytes at its peak"


@functools.cache
def _gzip_bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(b'{"message": "')]
    block = b"a" * (1024 * 1024)
    parts += [packer.compress(block) for _ in range(size // len(block))]
    parts.append(packer.compress(b'"}') + packer.flush())
    return b"".join(parts)


@pytest.mark.parametrize("kind", KINDS)
def test_a_gzip_bomb_is_refused_without_inflating_it(
    kind: str, make_client: Callable[..., Any]
) -> None:
    bomb = http_response(200, _gzip_bomb(256 * 1024 * 1024), headers={"Content-Encoding": "gzip"})
    with ScriptedServer(_serve({_DELETE: lambda seen: Answer(bomb)}), keep_alive=True) as server:
        client = make_client(kind, server.url)
        tracemalloc.start()
        try:
            with pytest.raises(APIError, match="/em/files/delete"):
                client.delete("x.txt")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 64 * 1024 * 1024, f"the client held {peak} bytes at its peak"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_answer_is_still_read(
    kind: str, encoding: str, make_client: Callable[..., Any]
) -> None:
    body = json.dumps({"message": "deleted, compressed"}).encode()
    packed = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
    answer = Answer(http_response(200, packed, headers={"Content-Encoding": encoding}))
    with ScriptedServer(_serve({_DELETE: lambda seen: answer}), keep_alive=True) as server:
        assert make_client(kind, server.url).delete("x.txt") == "deleted, compressed"


# -- 4: a total deadline for calls, not for transfers -------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_trickling_answer_hits_the_call_deadline(
    kind: str, make_client: Callable[..., Any]
) -> None:
    trickle = Answer(_message("x" * 200), pace=0.02)  # about 5 s in all, 20 ms per byte
    with ScriptedServer(_serve({_DELETE: lambda seen: trickle}), keep_alive=True) as server:
        client = make_client(kind, server.url, timeout=2, call_timeout=0.5)
        with pytest.raises(RequestTimeoutError, match="call_timeout"):
            client.delete("x.txt")


@pytest.mark.parametrize("kind", KINDS)
def test_a_steady_downlink_is_not_cut_by_the_call_deadline(
    kind: str, make_client: Callable[..., Any], tmp_path: Path
) -> None:
    data = b"0123456789" * 8
    answer = Answer(http_response(200, data, content_type="application/octet-stream"), pace=0.01)
    with ScriptedServer(
        _serve({"/em/files/downlink": lambda seen: answer}), keep_alive=True
    ) as server:
        client = make_client(kind, server.url, timeout=2, call_timeout=0.3)
        path = client.downlink("slow.bin", tmp_path / "out")
    assert path.read_bytes() == data


@pytest.mark.parametrize("value", [0, -1, "10", True])
def test_call_timeout_is_checked(value: Any) -> None:
    with pytest.raises(ValueError, match="call_timeout"):
        EMClient("http://127.0.0.1:9/", "u", "p", call_timeout=value)


# -- 5: bytes after Content-Length --------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_bytes_after_the_body_never_answer_the_next_call(
    kind: str, make_client: Callable[..., Any]
) -> None:
    answers = iter([Answer(_message("first") + _message("smuggled")), Answer(_message("second"))])
    with ScriptedServer(_serve({_DELETE: lambda seen: next(answers)}), keep_alive=True) as server:
        client = make_client(kind, server.url)
        assert client.delete("a.txt") == "first"
        assert client.delete("b.txt") == "second"
        assert len(server.requests_to(_DELETE)) == 2


# -- 6: tokens that cannot go into a header -----------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("token", ["t\u00f6ken-Secret-9Zq", "token-Secret-9Zq\r\nX-Evil: 1"])
def test_an_unusable_access_token_is_an_api_error_without_the_token(
    kind: str, token: str, make_client: Callable[..., Any]
) -> None:
    login = Answer(json_response(200, {"access": token, "refresh": "refresh-Secret-4Kp"}))
    handler = _serve({"/auth/": lambda seen: login, _DELETE: lambda seen: Answer(b"")})
    with ScriptedServer(handler, keep_alive=True) as server:
        with pytest.raises(APIError) as caught:
            make_client(kind, server.url).delete("x.txt")
        assert not server.requests_to(_DELETE)
    shown = f"{caught.value}\n{caught.value!r}"
    assert "Secret" not in shown
    assert HOSTILE_PASSWORD not in shown
    assert "/auth/" in shown


# -- 7: each retry carries the current token ----------------------------------------------


class _FakeClock:
    """The facade's clock and sleeps (`_timing`), advanced only by its sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)

    async def asleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@pytest.mark.parametrize("kind", KINDS)
def test_a_retry_after_a_long_backoff_carries_a_renewed_token(
    kind: str, make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _FakeClock()
    monkeypatch.setattr(_timing, "monotonic", clock.monotonic)
    monkeypatch.setattr(_timing, "sleep", clock.sleep)
    monkeypatch.setattr(_timing, "asleep", clock.asleep)
    issued: dict[str, float] = {}  # access token -> (fake) time it was issued
    refused: list[str] = []
    locked = iter(range(3))

    def auth(seen: Seen) -> Answer:
        access = fake_jwt("access", lifetime=10)  # the client renews it 5 s after issue
        issued[access] = clock.now
        if seen.path.rstrip("/") == "/auth/refresh":
            return Answer(json_response(200, {"access": access}))
        return Answer(json_response(200, {"access": access, "refresh": fake_jwt("refresh")}))

    def delete(seen: Seen) -> Answer:
        if next(locked, None) is not None:  # 3 x 423, 4 s each: the token expires meanwhile
            return Answer(json_response(423, {"error": "LOCKED"}, headers={"Retry-After": "4"}))
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if clock.now - issued.get(token, -1e9) >= 10:  # expired (on the same fake clock)
            refused.append(token)
            return Answer(json_response(401, {"detail": "Token is expired"}))
        return Answer(_message("deleted"))

    handler = _serve({"/auth/": auth, "/auth/refresh": auth, _DELETE: delete})
    with ScriptedServer(handler, keep_alive=True) as server:
        client = make_client(kind, server.url, retry=True)
        assert client.delete("x.txt") == "deleted"
        assert len(server.requests_to("/auth/")) == 1
        assert len(server.requests_to("/auth/refresh")) == 1
    assert refused == [], "a retry carried a token older than the current one"


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_refresh_answer_during_a_backoff_is_an_api_error_naming_it(
    kind: str, make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _FakeClock()
    monkeypatch.setattr(_timing, "monotonic", clock.monotonic)
    monkeypatch.setattr(_timing, "sleep", clock.sleep)
    monkeypatch.setattr(_timing, "asleep", clock.asleep)

    def auth(seen: Seen) -> Answer:
        if seen.path.rstrip("/") == "/auth/refresh":
            return Answer(http_response(200, _DEEP))
        return Answer(
            json_response(
                200, {"access": fake_jwt("access", lifetime=10), "refresh": fake_jwt("refresh")}
            )
        )

    locked = Answer(json_response(423, {"error": "LOCKED"}, headers={"Retry-After": "8"}))
    handler = _serve({"/auth/": auth, "/auth/refresh": auth, _DELETE: lambda seen: locked})
    with ScriptedServer(handler, keep_alive=True) as server:
        client = make_client(kind, server.url, retry=True)
        with pytest.raises(APIError, match="/auth/refresh"):
            client.delete("x.txt")


# -- 8: a call from a progress callback while another thread renews -----------------------


def test_a_call_from_a_downlink_callback_does_not_deadlock_with_a_renewal(
    make_client: Callable[..., Any], tmp_path: Path
) -> None:
    data = b"x" * 120
    slow = Answer(http_response(200, data, content_type="application/octet-stream"), pace=0.025)

    def auth(seen: Seen) -> Answer:
        access = fake_jwt("access", lifetime=2)  # renewed 1 s after it was issued
        if seen.path.rstrip("/") == "/auth/refresh":
            return Answer(json_response(200, {"access": access}))
        return Answer(json_response(200, {"access": access, "refresh": fake_jwt("refresh")}))

    handler = _serve(
        {
            "/auth/": auth,
            "/auth/refresh": auth,
            "/em/files/downlink": lambda seen: slow,  # 3 s of body, the gate held
            _DELETE: lambda seen: Answer(_message("deleted")),
        }
    )
    results: dict[str, Any] = {}
    other_waits = threading.Event()
    gate_wait = threading.Event()

    class _GateWait(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "waits for the request in flight" in record.getMessage():
                gate_wait.set()

    watcher = _GateWait(logging.DEBUG)
    logging.getLogger("dphi_em").addHandler(watcher)

    with ScriptedServer(handler, keep_alive=True) as server:
        client = make_client("sync", server.url)
        client.get_token()
        started = time.monotonic()

        def other() -> None:  # finds the token expired: renews, so waits for the gate
            results["other"] = client.delete("a.txt")

        def progress(done: int, total: int) -> None:
            if "callback" in results or time.monotonic() - started < 1.6:
                return
            if not other_waits.is_set():
                other_waits.set()
                threading.Thread(target=other, daemon=True).start()
                # the other thread is at the gate (the download holds it), renewing
                assert gate_wait.wait(timeout=10), "the other call never waited at the gate"
                return
            results["callback"] = "pending"
            results["callback"] = client.delete("b.txt")  # needs a renewal too

        def download() -> None:
            results["download"] = client.downlink("slow.bin", tmp_path / "out", progress=progress)

        threads = [threading.Thread(target=download, daemon=True)]
        threads[0].start()
        threads[0].join(timeout=20)
        deadline = time.monotonic() + 20
        while "other" not in results and time.monotonic() < deadline:
            time.sleep(0.05)
    logging.getLogger("dphi_em").removeHandler(watcher)
    assert not threads[0].is_alive(), "the downlink and its callback's call deadlocked"
    assert results.get("callback") == "deleted"
    assert results.get("other") == "deleted"
    assert results["download"].read_bytes() == data


# -- 10: --debug (and any error line) hides the session's opaque tokens ----------------------


@pytest.mark.parametrize("debug", [["--debug"], []])
def test_output_hides_an_echoed_opaque_token(
    debug: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dphi_em.cli import main

    opaque = "opaqueAccess0123456789zz"
    login = Answer(json_response(200, {"access": opaque, "refresh": "opaqueRefresh9876543210"}))
    echo = Answer(
        json_response(
            400,
            {"error": "BAD", "message": f"cannot use {opaque} here"},
            headers={"X-Echo": opaque},
        )
    )
    handler = _serve({"/auth/": lambda seen: login, "/em/files/list": lambda seen: echo})
    with ScriptedServer(handler, keep_alive=True) as server:
        monkeypatch.setenv("DPHI_EM_URL", server.url)
        monkeypatch.setenv("DPHI_EM_USERNAME", "client1")
        monkeypatch.setenv("DPHI_EM_PASSWORD", HOSTILE_PASSWORD)
        code = main([*debug, "ls"])
    out, err = capsys.readouterr()
    assert code != 0
    assert server.requests_to("/em/files/list"), err
    assert "cannot use" in err
    assert opaque not in out + err


# -- Also: environment proxies --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_http_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it(
    kind: str, make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = "http://127.0.0.2:9/"  # nothing listens there: only the proxy can answer
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)

    def proxy(seen: Seen) -> Answer:  # a forward proxy answering as the origin would
        if seen.path.startswith(target + "auth/"):
            return token_answer(Seen(seen.method, "/auth/", seen.headers, seen.body))
        return Answer(_message("via proxy"))

    with ScriptedServer(proxy, keep_alive=True) as server:
        monkeypatch.setenv("HTTP_PROXY", server.url)
        assert make_client(kind, target).delete("x.txt") == "via proxy"
        assert server.seen[-1].path == target + "em/files/delete"
        monkeypatch.setenv("NO_PROXY", "127.0.0.2")
        with pytest.raises(TransportError):
            make_client(kind, target).delete("x.txt")


# -- 11: a POST on a kept-alive connection the server closed --------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_post_on_a_connection_closed_while_idle_goes_out_on_a_new_one(
    kind: str, make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server closes each connection after its answer, without saying so
    # (no `Connection: close`): the client keeps it and finds it dead at the next request.
    # httpcore's own check when it picks an idle connection is turned off here, to stand
    # for a server closing it between that check and the first byte written.
    import httpcore._async.http11 as async_http11
    import httpcore._sync.http11 as sync_http11

    monkeypatch.setattr(sync_http11.HTTP11Connection, "has_expired", lambda self: False)
    monkeypatch.setattr(async_http11.AsyncHTTP11Connection, "has_expired", lambda self: False)

    def delete(seen: Seen) -> Answer:
        return Answer(_message("deleted"), close=True)

    def auth(seen: Seen) -> Answer:
        answer = token_answer(seen)
        return Answer(answer.data, close=True)

    with ScriptedServer(_serve({"/auth/": auth, _DELETE: delete}), keep_alive=True) as server:
        client = make_client(kind, server.url)  # no retries: only the reconnect may help
        client.get_token()  # the login's connection is closed by the server too:
        server.wait_closed(1)  # its FIN is out, as for the deletes (else the first delete
        # could be written before it: the race no client can win, not the case under test)
        assert client.delete("a.txt") == "deleted"
        server.wait_closed(2)
        assert client.delete("b.txt") == "deleted"
        assert len(server.requests_to(_DELETE)) == 2


# -- issue 12 item 6: a failed build says why ---------------------------------------------


def test_build_failed_error_message_carries_the_end_of_the_log() -> None:
    tail = [f"step {n}" for n in range(40)] + ["ERROR: pip install failed", "x" * 1000, ""]
    error = BuildFailedError(
        "Docker image build failed", status_code=400, code="BUILD_FAILED", log_tail=tail
    )
    text = str(error)
    assert text.startswith("400 BUILD_FAILED: Docker image build failed")
    assert "ERROR: pip install failed" in text
    assert "step 0\n" not in text
    assert len(text) < 1500
    assert json.loads(json.dumps(error.log_tail)) == tail


# -- 9: SIGTERM and SIGHUP to `dphi-em downlink` ------------------------------------------


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_terminated_downlink_exits_like_ctrl_c_and_leaves_no_part(
    signum: int, code: int, tmp_path: Path
) -> None:
    data = b"z" * 4000  # about 8 s at 2 ms a byte: it is cut long before the end
    slow = Answer(http_response(200, data, content_type="application/octet-stream"), pace=0.002)
    out = tmp_path / "out"
    listing = Answer(
        json_response(
            200,
            {
                "message": "Successfully fetched files",
                "data": [{"type": "file", "name": "big.bin", "size": str(len(data))}],
            },
        )
    )
    handler = _serve({"/em/files/downlink": lambda seen: slow, "/em/files/list": lambda s: listing})
    with ScriptedServer(handler, keep_alive=True) as server:
        env = {
            **os.environ,
            "DPHI_EM_URL": server.url,
            "DPHI_EM_USERNAME": "client1",
            "DPHI_EM_PASSWORD": HOSTILE_PASSWORD,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "dphi_em", "downlink", "big.bin", "-o", str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not (out.is_dir() and any(out.iterdir())):  # the temporary file is there
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the downlink never started"
                time.sleep(0.02)
            process.send_signal(signum)
            _, err = process.communicate(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == code, err
    assert list(out.iterdir()) == [], "the cut downlink left a file behind"
