"""A cut downlink resumes: Range and If-Range against the emulator, over a counting proxy.

`CountingProxy` is a TCP proxy on 127.0.0.1 between the client and the emulator: it counts
the bytes the server sends and can cut every connection once a number of them went through
(a link that drops). What is checked: the second downlink of a cut file carries less than
60 % of it and the file is byte-exact; a file changed on the server, or a partial file
changed locally, starts over; a `206` that does not continue the partial file is refused;
a server without validators leaves no partial file behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dphi_em import APIError, EMError
from dphi_em._download import (
    PARTIAL_NAME,
    DownloadTarget,
    afeed_download,
    feed_download,
    resume_key,
)
from facade_helpers import client_for
from support.server import ScriptedServer, http_response

MIB = 1024 * 1024


class CountingProxy:
    """Forwards 127.0.0.1:PORT to `target`, counting server-to-client bytes.

    Args:
        target: (host, port) of the server.

    Attributes:
        down: Bytes sent by the server so far (all connections).
        cut_after: When set, every connection is closed once `down` reaches it.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.down = 0
        self.cut_after: int | None = None
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        try:
            while True:
                data = source.recv(256 * 1024)
                if not data:
                    break
                if count:
                    with self._lock:
                        if self.cut_after is not None and self.down >= self.cut_after:
                            break
                        self.down += len(data)
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for sock in self._conns:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def server(make_emulator: Any) -> Any:
    return make_emulator()


@pytest.fixture
def proxy(server: Any) -> Iterator[CountingProxy]:
    host, port = httpx.URL(server.url).host, httpx.URL(server.url).port
    assert port is not None
    counting = CountingProxy((host, port))
    yield counting
    counting.close()


class _Via:
    """The emulator's face with the proxy's URL (for `client_for`)."""

    def __init__(self, server: Any, url: str) -> None:
        self.url, self.username, self.password = url, server.username, server.password


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if PARTIAL_NAME.match(p.name))


def _uplink(server: Any, tmp_path: Path, name: str, data: bytes, pod: str) -> None:
    source = tmp_path / "src" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    with client_for(server) as em:
        em.uplink([source], pod_name=pod)
    source.unlink()


def test_a_cut_200_mib_downlink_resumes_with_less_than_60_percent(
    server: Any, proxy: CountingProxy, client_kind: str, tmp_path: Path
) -> None:
    size = 200 * MIB
    data = os.urandom(size)
    digest = hashlib.sha256(data).hexdigest()
    _uplink(server, tmp_path, "big.bin", data, "resume")
    del data
    out = tmp_path / "out"
    proxy.cut_after = size // 2
    with client_for(_Via(server, proxy.url), client_kind, retry=False) as em:
        with pytest.raises(EMError):
            em.downlink("big.bin", out, pod_name="resume")
        assert not (out / "big.bin").exists()
        [partial, _record] = _partials(out)  # the partial file and its record are kept
        kept = (out / partial).stat().st_size
        assert size * 0.3 < kept < size * 0.7, kept
    first = proxy.down
    proxy.cut_after = None
    proxy.down = 0
    with client_for(_Via(server, proxy.url), client_kind, retry=False) as em:
        path = em.downlink("big.bin", out, pod_name="resume")
    assert proxy.down < 0.6 * size, (first, proxy.down)
    assert path == out / "big.bin"
    with path.open("rb") as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == digest
    assert _partials(out) == []  # renamed into place whole, the record gone


def _cut_small(server: Any, client_kind: str, out: Path, size: int, pod: str) -> None:
    """A downlink stopped at about half by its progress callback raising."""

    def stop(done: int, total: int) -> None:
        if done >= size // 2:
            raise RuntimeError("stop here")

    with client_for(server, client_kind) as em, pytest.raises(RuntimeError, match="stop here"):
        em.downlink("f.bin", out, pod_name=pod, progress=stop)
    assert len(_partials(out)) == 2


def test_a_file_changed_on_the_server_starts_over(
    server: Any, proxy: CountingProxy, client_kind: str, tmp_path: Path
) -> None:
    size = 8 * MIB
    _uplink(server, tmp_path, "f.bin", os.urandom(size), "changed")
    out = tmp_path / "out"
    _cut_small(_Via(server, proxy.url), client_kind, out, size, "changed")
    newer = os.urandom(size)  # same size, new bytes and time: If-Range no longer matches
    _uplink(server, tmp_path, "f.bin", newer, "changed")
    proxy.down = 0
    with client_for(_Via(server, proxy.url), client_kind) as em:
        path = em.downlink("f.bin", out, pod_name="changed")
    assert path.read_bytes() == newer
    assert proxy.down >= size  # the whole file again
    assert _partials(out) == []


def test_a_partial_file_changed_locally_starts_over(
    server: Any, proxy: CountingProxy, client_kind: str, tmp_path: Path
) -> None:
    size = 8 * MIB
    data = os.urandom(size)
    _uplink(server, tmp_path, "f.bin", data, "garbage")
    out = tmp_path / "out"
    _cut_small(_Via(server, proxy.url), client_kind, out, size, "garbage")
    proxy.down = 0
    partial = next(out / name for name in _partials(out) if name.endswith(".part"))
    with partial.open("r+b") as f:  # garbage over the kept bytes, same length
        f.write(b"\x00" * 4096)
    with client_for(_Via(server, proxy.url), client_kind) as em:
        path = em.downlink("f.bin", out, pod_name="garbage")
    assert path.read_bytes() == data
    assert proxy.down >= size  # started over
    assert _partials(out) == []


def test_a_resumed_downlink_sends_range_and_if_range(
    server: Any, client_kind: str, tmp_path: Path
) -> None:
    size = 4 * MIB
    data = os.urandom(size)
    _uplink(server, tmp_path, "f.bin", data, "headers")
    out = tmp_path / "out"
    _cut_small(server, client_kind, out, size, "headers")
    seen: list[httpx.Request] = []
    with client_for(server, client_kind) as em:
        http = em.http_client
        hooks = http.event_hooks
        if client_kind == "sync":
            hooks["request"] = [seen.append]
        else:

            async def record(request: httpx.Request) -> None:
                seen.append(request)

            hooks["request"] = [record]
        http.event_hooks = hooks
        path = em.downlink("f.bin", out, pod_name="headers")
    assert path.read_bytes() == data
    [request] = [r for r in seen if r.url.path.endswith("/downlink")]
    assert request.headers["Range"].startswith("bytes=")
    assert int(request.headers["Range"][6:-1]) >= size // 2 - 2 * MIB
    assert request.headers["If-Range"]


# -- what the emulator will not do: a scripted server --------------------------------------


def _fetch(url: str, folder: Path) -> Path:
    key = resume_key(url, "pod-x", "data.bin")
    with (
        httpx.Client() as http,
        DownloadTarget(
            folder, "data.bin", overwrite=False, progress=None, resume_key=key
        ) as target,
    ):
        headers = target.resume_headers()
        with http.stream("GET", url + "em/files/downlink", headers=headers) as response:
            return feed_download(target, response)


async def _afetch(url: str, folder: Path) -> Path:
    key = resume_key(url, "pod-x", "data.bin")
    async with httpx.AsyncClient() as http:
        with DownloadTarget(
            folder, "data.bin", overwrite=False, progress=None, resume_key=key
        ) as target:
            headers = target.resume_headers()
            async with http.stream("GET", url + "em/files/downlink", headers=headers) as r:
                return await afeed_download(target, r)


def test_an_async_cut_before_the_first_full_batch_keeps_what_arrived(tmp_path: Path) -> None:
    """The async driver writes 1 MiB batches: bytes counted but not yet written when the
    body breaks off (or a callback raises) are stored too, so the resume starts after them."""
    dl = tmp_path / "dl"
    dl.mkdir()
    body = os.urandom(10_000)
    first = http_response(
        200,
        body[:4000],
        headers={
            "Content-Length": str(len(body)),
            "ETag": '"v1"',
            "Accept-Ranges": "bytes",
            "Connection": "close",
        },
    )
    rest = http_response(
        206,
        body[4000:],
        reason="Partial Content",
        headers={"Content-Range": f"bytes 4000-9999/{len(body)}", "ETag": '"v1"'},
    )
    with ScriptedServer([first, rest]) as server:
        with pytest.raises(EMError):
            asyncio.run(_afetch(server.url, dl))
        assert len(_partials(dl)) == 2  # the 4,000 bytes are on disk, with their record
        path = asyncio.run(_afetch(server.url, dl))
        assert b"range: bytes=4000-" in server.requests[1].lower()
    assert path.read_bytes() == body


def test_a_206_whose_content_range_does_not_match_is_refused(tmp_path: Path) -> None:
    dl = tmp_path / "dl"
    dl.mkdir()
    body = os.urandom(10_000)
    first = http_response(
        200,
        body[:4000],
        headers={
            "Content-Length": str(len(body)),
            "ETag": '"v1"',
            "Accept-Ranges": "bytes",
            "Connection": "close",
        },
    )
    wrong = http_response(  # asked for 4000-, answers from 0: splicing it would corrupt
        206,
        body[:6000],
        reason="Partial Content",
        headers={"Content-Range": f"bytes 0-5999/{len(body)}", "ETag": '"v1"'},
    )
    with ScriptedServer([first, wrong]) as server:
        with pytest.raises(EMError):
            _fetch(server.url, dl)
        assert len(_partials(dl)) == 2  # kept for a resume
        with pytest.raises(APIError, match="Content-Range"):
            _fetch(server.url, dl)
        assert b"range: bytes=4000-" in server.requests[1].lower()
        assert b'if-range: "v1"' in server.requests[1].lower()
    assert os.listdir(dl) == []  # refused: no file, and the partial is gone


def test_a_206_that_continues_the_partial_file_completes_it(tmp_path: Path) -> None:
    dl = tmp_path / "dl"
    dl.mkdir()
    body = os.urandom(10_000)
    first = http_response(
        200,
        body[:4000],
        headers={
            "Content-Length": str(len(body)),
            "Last-Modified": "Wed, 02 Dec 2026 06:00:00 GMT",
            "Accept-Ranges": "bytes",
            "Connection": "close",
        },
    )
    rest = http_response(
        206,
        body[4000:],
        reason="Partial Content",
        headers={
            "Content-Range": f"bytes 4000-9999/{len(body)}",
            "Last-Modified": "Wed, 02 Dec 2026 06:00:00 GMT",
        },
    )
    with ScriptedServer([first, rest]) as server:
        with pytest.raises(EMError):
            _fetch(server.url, dl)
        path = _fetch(server.url, dl)
    assert path.read_bytes() == body
    assert os.listdir(dl) == ["data.bin"]


def test_a_cut_without_validator_keeps_no_partial_file(tmp_path: Path) -> None:
    dl = tmp_path / "dl"
    dl.mkdir()
    cut = http_response(
        200, b"x" * 4000, headers={"Content-Length": "10000", "Connection": "close"}
    )
    with ScriptedServer([cut]) as server, pytest.raises(EMError):
        _fetch(server.url, dl)
    assert os.listdir(dl) == []  # resume could not use it: removed


def test_a_partial_file_being_written_by_another_download_is_left_alone(
    server: Any, client_kind: str, tmp_path: Path
) -> None:
    data = os.urandom(3 * MIB)
    _uplink(server, tmp_path, "f.bin", data, "busy")
    out = tmp_path / "out"
    _cut_small(server, client_kind, out, len(data), "busy")
    partial = next(out / name for name in _partials(out) if name.endswith(".part"))
    (out / (partial.name + ".json")).unlink()  # as while another process writes it
    partial.write_bytes(b"someone else's bytes")
    with client_for(server, client_kind) as em:
        path = em.downlink("f.bin", out, pod_name="busy")
    assert path.read_bytes() == data
    assert partial.read_bytes() == b"someone else's bytes"  # not touched
    assert sorted(p.name for p in out.iterdir()) == sorted(["f.bin", partial.name])
