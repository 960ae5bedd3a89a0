"""The transfer cores with both drivers: the multipart stream sync and async, the download
target fed by `feed_download` and `afeed_download`, over real sockets (the emulator, and
a scripted server for what the emulator will not do), and the one `Progress`."""

from __future__ import annotations

import asyncio
import gzip
import os
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dphi_em import APIError, IncompleteDownloadError, LocalFileExistsError, ValidationError
from dphi_em._download import DownloadTarget, afeed_download, feed_download
from dphi_em._progress import Progress, format_bytes
from dphi_em._uplink import GATHER_SIZE, MultipartFileStream, UplinkFile, plan_uplink
from support.clients import KINDS, make_client  # noqa: F401 (the fixture)
from support.server import (
    RESET,
    ScriptedServer,
    Seen,
    http_response,
    json_response,
    token_answer,
)

DRIVERS = ["sync", "async"]
MiB = 1024 * 1024


def _iterate(stream: MultipartFileStream, driver: str) -> list[bytes]:
    """The pieces of one attempt, through `__iter__` or `__aiter__`."""
    if driver == "sync":
        return list(stream)

    async def run() -> list[bytes]:
        return [piece async for piece in stream]

    return asyncio.run(run())


def _download(
    driver: str,
    url: str,
    folder: Path,
    requested: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> Path:
    """GET `url` streamed and feed it to the driver's receive function."""
    headers = {"Accept-Encoding": "identity", **(headers or {})}
    if driver == "sync":
        with (
            httpx.Client(timeout=30) as client,
            client.stream("GET", url, headers=headers, params=params) as response,
            DownloadTarget(folder, requested, overwrite=overwrite, progress=progress) as target,
        ):
            return feed_download(target, response)

    async def run() -> Path:
        async with (
            httpx.AsyncClient(timeout=30) as client,
            client.stream("GET", url, headers=headers, params=params) as response,
        ):
            with DownloadTarget(
                folder, requested, overwrite=overwrite, progress=progress
            ) as target:
                return await afeed_download(target, response)

    return asyncio.run(run())


def _files(tmp_path: Path, sizes: list[int]) -> list[UplinkFile]:
    files = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"f{i:03}.bin"
        path.write_bytes(os.urandom(size))
        files.append(UplinkFile(path, size, ""))
    return files


@pytest.fixture
def dl(tmp_path: Path) -> Path:
    """An empty download folder (tmp_path also holds the test's HOME)."""
    folder = tmp_path / "dl"
    folder.mkdir()
    return folder


# -- the multipart stream: one flow, two drivers ---------------------------------------------


@pytest.mark.parametrize("chunk_size", [7, 1000, MiB])
def test_sync_and_async_iteration_send_the_same_pieces(tmp_path: Path, chunk_size: int) -> None:
    # empty files, small ones, sizes one off a chunk and several chunks, gathered or not
    c = chunk_size
    sizes = [0, 1, 5, c - 1, c, c + 1, 0, 3 * c + 2, 2 * c, 13, min(70_000, 40 * c)]
    files = _files(tmp_path, sizes)
    stream = MultipartFileStream(
        [("dest_path", "x"), ("pod_name", "p")], files, chunk_size=chunk_size
    )
    sync_pieces = _iterate(stream, "sync")
    async_pieces = _iterate(stream, "async")
    assert async_pieces == sync_pieces
    body = b"".join(sync_pieces)
    assert len(body) == stream.content_length
    for item in files:  # every file's bytes, whole, in the body
        assert item.path.read_bytes() in body


@pytest.mark.parametrize("driver", DRIVERS)
def test_each_iteration_is_a_whole_attempt(tmp_path: Path, driver: str) -> None:
    files = _files(tmp_path, [10, 3 * MiB, 500])
    starts: list[int] = []
    counted: list[int] = []
    stream = MultipartFileStream(
        [], files, on_start=lambda: starts.append(len(counted)), on_chunk=counted.append
    )
    first = b"".join(_iterate(stream, driver))
    second = b"".join(_iterate(stream, driver))
    assert first == second
    assert len(first) == stream.content_length
    assert starts == [0, len(counted) // 2]  # on_start at the start of each attempt
    half = counted[: len(counted) // 2]
    assert sum(half) == sum(counted) - sum(half) == 10 + 3 * MiB + 500


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("change", ["shrank", "grew"])
def test_a_file_changing_size_mid_send_is_refused(tmp_path: Path, driver: str, change: str) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"b" * (3 * MiB))
    files = [UplinkFile(big, 3 * MiB, "")]
    stream = MultipartFileStream([], files)

    def alter() -> None:  # after the first MiB went out
        if change == "shrank":
            os.truncate(big, MiB + 10)
        else:
            with open(big, "ab") as f:
                f.write(b"more")

    sent: list[int] = []

    def on_chunk(count: int) -> None:
        if count:  # file bytes (the part's head is reported as 0)
            sent.append(count)
            if len(sent) == 1:
                alter()

    stream = MultipartFileStream([], files, on_chunk=on_chunk)
    with pytest.raises(ValidationError, match=change) as caught:
        _iterate(stream, driver)
    assert str(big) in str(caught.value)
    # mid-send: a shrink is seen at the next read, a growth where the planned end should be
    assert sent == ([MiB] if change == "shrank" else [MiB, MiB, MiB])


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_file_gone_before_the_send_is_a_validation_error(tmp_path: Path, driver: str) -> None:
    files = _files(tmp_path, [5])
    stream = MultipartFileStream([], files)
    files[0].path.unlink()
    with pytest.raises(ValidationError, match="Cannot read"):
        _iterate(stream, driver)


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_small_file_gone_among_small_files_is_named(tmp_path: Path, driver: str) -> None:
    # the async driver reads small files ahead, in one thread hop: the error still names
    # the file that failed, and comes when the body reaches it
    files = _files(tmp_path, [5, 6, 7, 8])
    stream = MultipartFileStream([], files)
    files[2].path.unlink()
    with pytest.raises(ValidationError, match="Cannot read") as caught:
        _iterate(stream, driver)
    assert str(files[2].path) in str(caught.value)


def test_async_iteration_takes_one_thread_hop_per_mib_of_small_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio.to_thread

    hops: list[int] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        step = args[-1] if args else None
        hops.append(len(step.files) if hasattr(step, "files") else 1)  # files read in the hop
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    small = _files(tmp_path, [1024] * 2100)  # 2.05 MiB in all: runs of up to 1 MiB
    stream = MultipartFileStream([], small)
    pieces = _iterate(stream, "async")
    assert pieces == _iterate(stream, "sync")
    assert sum(hops) == 2100  # every file read once
    assert hops == [1024, 1024, 52]
    assert max(map(len, pieces)) <= GATHER_SIZE < MiB  # while sends stay gathered smaller
    hops.clear()
    (tmp_path / "big").mkdir()
    big = _files(tmp_path / "big", [3 * MiB])  # large files keep one hop per 1 MiB read
    assert b"".join(_iterate(MultipartFileStream([], big), "async")) != b""
    assert hops == [1, 1, 1, 1]  # three chunks, then the read that finds the end


def _file_system(path: Path) -> str:
    """The type of the file system holding `path`, as coreutils' `stat -f` names it."""
    found = subprocess.run(
        ["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, check=False
    )
    return found.stdout.strip() if found.returncode == 0 else ""


@pytest.fixture
def memory_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh folder on a tmpfs (/dev/shm), removed after the test."""
    shm = Path("/dev/shm")
    if _file_system(shm) != "tmpfs":
        pytest.skip("no tmpfs at /dev/shm")
    folder = shm / f"dphi-em-test-{os.getpid()}-{tmp_path.name}"
    folder.mkdir()
    try:
        yield folder
    finally:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()


def test_async_iteration_reads_small_files_on_tmpfs_without_a_thread_hop(
    tmp_path: Path, memory_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 22: a hop cost about 0.5 ms per run of 100 files of 4 KiB; a file on tmpfs has
    # no disk to wait for. Files on a disk keep their hop, also in a run that starts on tmpfs.
    import anyio.to_thread

    hops: list[int] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        step = args[-1] if args else None
        hops.append(len(step.files) if hasattr(step, "files") else 1)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    memory = []
    for i in range(100):
        memory.append(memory_dir / f"m{i:03}.bin")
        memory[-1].write_bytes(os.urandom(4096))
    (batch,) = plan_uplink(memory, "up", max_bytes=10**9)
    stream = MultipartFileStream([("dest_path", "up")], batch)
    pieces = _iterate(stream, "async")
    assert hops == []
    assert pieces == _iterate(stream, "sync")
    assert len(b"".join(pieces)) == stream.content_length
    if _file_system(tmp_path) in ("tmpfs", "ramfs", ""):
        return  # no disk here to compare with
    disk = []
    for i in range(30):
        disk.append(tmp_path / f"d{i:03}.bin")
        disk[-1].write_bytes(os.urandom(4096))
    (batch,) = plan_uplink([*memory[:70], *disk], "up", max_bytes=10**9)
    stream = MultipartFileStream([("dest_path", "up")], batch)
    pieces = _iterate(stream, "async")
    assert hops == [30]  # the 70 files on tmpfs read here, the 30 on the disk in one hop
    assert pieces == _iterate(stream, "sync")
    hops.clear()
    (batch,) = plan_uplink([*disk, *memory[:5]], "up", max_bytes=10**9)
    assert len(b"".join(_iterate(MultipartFileStream([], batch), "async"))) > 35 * 4096
    assert hops == [35]  # a run that starts on the disk: all in the thread


def test_a_small_file_gone_on_tmpfs_is_named(memory_dir: Path) -> None:
    paths = []
    for i in range(5):
        paths.append(memory_dir / f"f{i}.bin")
        paths[-1].write_bytes(b"x" * (i + 1))
    (batch,) = plan_uplink(paths, "", max_bytes=100)
    paths[3].unlink()
    with pytest.raises(ValidationError, match="Cannot read") as caught:
        _iterate(MultipartFileStream([], batch), "async")
    assert str(paths[3]) in str(caught.value)


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_64_mib_stream_holds_a_few_mib_at_most(tmp_path: Path, driver: str) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(64 * MiB)  # sparse: reads as zeros without 64 MiB of disk
    stream = MultipartFileStream([("dest_path", "d")], [UplinkFile(big, 64 * MiB, "")])

    async def drain_async() -> int:
        total = 0
        async for piece in stream:
            total += len(piece)
        return total

    tracemalloc.start()
    try:
        if driver == "sync":
            total = sum(len(piece) for piece in stream)
        else:
            total = asyncio.run(drain_async())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == stream.content_length > 64 * MiB
    assert peak < 4 * MiB, format_bytes(peak)


def test_async_uplink_over_a_socket_round_trips(
    em_http: Callable[..., httpx.Client], emulator: Any, pod_name: str, tmp_path: Path
) -> None:
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    small = os.urandom(1000)
    large = os.urandom(3 * MiB + 17)
    (tmp_path / "tree" / "a.txt").write_bytes(small)
    (tmp_path / "tree" / "sub" / "big.bin").write_bytes(large)
    batches = plan_uplink([tmp_path / "tree"], "up", max_bytes=10**9)
    client = em_http()
    auth = client.headers["Authorization"]
    progress: list[int] = []

    async def send() -> list[int]:
        statuses = []
        async with httpx.AsyncClient(
            base_url=emulator.url, headers={"Authorization": auth}, timeout=30
        ) as http:
            for batch in batches:
                stream = MultipartFileStream(
                    [("dest_path", batch[0].dest_dir), ("pod_name", pod_name)],
                    batch,
                    on_chunk=progress.append,
                )
                request = stream.attach(http.build_request("POST", "em/files/uplink"))
                response = await http.send(request)
                statuses.append(response.status_code)
        return statuses

    assert asyncio.run(send()) == [200, 200]
    assert sum(progress) == len(small) + len(large)
    for path, data in [("up/tree/a.txt", small), ("up/tree/sub/big.bin", large)]:
        got = client.get("em/files/downlink", params={"filepath": path, "pod_name": pod_name})
        assert got.status_code == 200
        assert got.content == data


@pytest.mark.parametrize("driver", DRIVERS)
def test_attach_gives_a_request_that_reads_as_the_body(tmp_path: Path, driver: str) -> None:
    files = _files(tmp_path, [10, 70_000])
    stream = MultipartFileStream([("dest_path", "d")], files)
    template = httpx.Request(
        "POST", "http://em.invalid/em/files/uplink", headers={"X-Keep": "1"}, extensions={"k": 1}
    )
    request = stream.attach(template)
    assert request.stream is stream
    assert request.headers["X-Keep"] == "1"
    assert request.extensions == {"k": 1}
    assert request.headers["Content-Length"] == str(stream.content_length)
    assert request.headers["Content-Type"] == stream.headers["Content-Type"]
    body = request.read() if driver == "sync" else asyncio.run(request.aread())
    assert body == b"".join(stream)
    assert len(body) == stream.content_length


# -- small files in runs, gathered sends: the bytes on a real socket ------------------------


def _expected_body(boundary: str, dest: str, files: list[tuple[str, bytes]]) -> bytes:
    """The multipart body as RFC 7578 lays it out, written out plainly (no runs, no
    gathering): what the server must receive, whatever the pieces."""
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="dest_path"\r\n\r\n{dest}\r\n'
    ).encode()
    for name, data in files:
        body += (
            (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="files"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    return body + f"--{boundary}--\r\n".encode()


def _uplink_server(seen_bodies: list[Seen]) -> ScriptedServer:
    def handler(seen: Seen) -> Any:
        if seen.path.startswith("/auth"):
            return token_answer(seen)
        seen_bodies.append(seen)
        count = seen.body.count(b'name="files"')
        return json_response(
            200, {"message": "ok", "data": {"file_count": count, "total_size_kb": 0}}
        )

    return ScriptedServer(handler, keep_alive=True)


def _boundary_sizes(dest: str, first_name: str) -> list[int]:
    """File sizes at every edge of the runs and the gathered sends (defaults: 256 KiB
    sends, runs of up to 1 MiB of files under 256 KiB)."""
    # the first send exactly full: the `dest_path` field, the first head and the file
    lead = len(f'--{"0" * 32}\r\nContent-Disposition: form-data; name="dest_path"\r\n\r\n')
    lead += len(dest) + 2
    head = len(
        f'--{"0" * 32}\r\nContent-Disposition: form-data; name="files"; filename="{first_name}"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    exact = GATHER_SIZE - lead - head
    return [
        exact,  # fills the first send to its last byte
        0,  # an empty file right after a full send
        1,
        GATHER_SIZE - 1,  # the largest file read in a run
        GATHER_SIZE,  # the smallest read on its own
        0,
        *[128 * 1024] * 8,  # a run of exactly 1 MiB
        100,  # the next run starts here
        GATHER_SIZE + 1,
        MiB,  # exactly one chunk: then the read that finds the end
        MiB + 1,
        0,  # an empty file last
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_runs_and_gathered_sends_put_the_exact_body_on_the_wire(
    tmp_path: Path,
    make_client: Callable[..., Any],  # noqa: F811 (the fixture imported above)
    kind: str,
) -> None:
    names = [f"f{i:02}.bin" for i in range(20)]
    names[1] = "ünï côdé %22.bin"  # sent as UTF-8, a percent sign as it is
    sizes = _boundary_sizes("up", names[0])
    paths = []
    for name, size in zip(names, sizes, strict=False):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(os.urandom(size))
    bodies: list[Seen] = []
    progress: list[int] = []
    with _uplink_server(bodies) as server:
        em = make_client(kind, server.url)
        result = em.uplink(paths, "up", progress=lambda done, total: progress.append(done))
    assert (result.file_count, result.calls) == (len(paths), 1)
    (seen,) = bodies
    boundary = seen.headers["content-type"].partition("boundary=")[2]
    assert seen.body == _expected_body(boundary, "up", [(p.name, p.read_bytes()) for p in paths])
    assert int(seen.headers["content-length"]) == len(seen.body)
    assert "transfer-encoding" not in seen.headers
    assert progress[-1] == sum(sizes)
    assert progress == sorted(progress)


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_send_filled_to_its_last_byte_is_not_split(tmp_path: Path, driver: str) -> None:
    names = [f"f{i:02}.bin" for i in range(4)]
    sizes = _boundary_sizes("up", names[0])[:4]
    files = []
    for name, size in zip(names, sizes, strict=True):
        (tmp_path / name).write_bytes(os.urandom(size))
        files.append(UplinkFile(tmp_path / name, size, "up"))
    stream = MultipartFileStream([("dest_path", "up")], files)
    pieces = _iterate(stream, driver)
    assert len(pieces[0]) == GATHER_SIZE  # the first file's last byte ends the first send
    assert pieces[1].startswith(b"\r\n--" + stream.boundary.encode())
    assert max(map(len, pieces)) <= GATHER_SIZE
    assert len(b"".join(pieces)) == stream.content_length


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("change", ["shrank", "grew", "vanished", "fifo"])
def test_a_small_file_changing_mid_batch_stops_the_call_naming_it(
    tmp_path: Path,
    make_client: Callable[..., Any],  # noqa: F811 (the fixture imported above)
    kind: str,
    change: str,
) -> None:
    # 100 files of 16 KiB: one call, two runs (64 files, then 36); file 80 changes after
    # the first send left, once its run was planned but before it was read
    paths = []
    for i in range(100):
        paths.append(tmp_path / f"f{i:03}.bin")
        paths[-1].write_bytes(os.urandom(16 * 1024))
    target = paths[80]

    def alter(done: int, total: int) -> None:
        if done and target.exists() and target.stat().st_size == 16 * 1024:
            if change == "shrank":
                os.truncate(target, 100)
            elif change == "grew":
                with open(target, "ab") as f:
                    f.write(b"more")
            elif change == "vanished":
                target.unlink()
            else:  # replaced by a FIFO with no writer: opening it must not wait for one
                target.unlink()
                os.mkfifo(target)

    bodies: list[Seen] = []
    with _uplink_server(bodies) as server:
        em = make_client(kind, server.url)
        with pytest.raises(ValidationError) as caught:
            em.uplink(paths, "up", progress=alter)
        # the client gave up first: the server may still be reading what it sent
        server.wait_for(lambda: bodies)
    message = str(caught.value)
    assert str(target) in message
    expected = {"vanished": "Cannot read", "fifo": "shrank"}.get(change, change)
    assert expected in message
    # the one request was cut short: the server never saw a whole body
    (seen,) = bodies
    assert 0 < len(seen.body) < int(seen.headers["content-length"])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", ["file", "folder", "dest_path"])
def test_a_name_that_is_not_utf8_is_refused_before_anything_is_sent(
    tmp_path: Path,
    make_client: Callable[..., Any],  # noqa: F811 (the fixture imported above)
    kind: str,
    where: str,
) -> None:
    # a POSIX name of arbitrary bytes comes to Python with surrogates, which no part head
    # or field can carry: refused at planning, not by a UnicodeEncodeError mid-call (after
    # the calls before it were sent: here a first call of the root's file)
    bad = os.fsdecode(b"bad\xff")
    (tmp_path / "first.bin").write_bytes(b"x")
    folder = tmp_path / (bad if where == "folder" else "tree")
    folder.mkdir()
    (folder / (bad if where == "file" else "f.bin")).write_bytes(b"y")
    bodies: list[Seen] = []
    with _uplink_server(bodies) as server:
        em = make_client(kind, server.url)
        with pytest.raises(ValidationError) as caught:
            em.uplink([tmp_path / "first.bin", folder], bad if where == "dest_path" else "up")
    assert repr(bad)[1:-1] in str(caught.value)
    assert "UTF-8" in str(caught.value)
    assert bodies == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_path_holding_nul_is_refused_before_anything_is_sent(
    tmp_path: Path,
    make_client: Callable[..., Any],  # noqa: F811 (the fixture imported above)
    kind: str,
) -> None:
    (tmp_path / "first.bin").write_bytes(b"x")
    bad = str(tmp_path / "a\x00b")
    bodies: list[Seen] = []
    with _uplink_server(bodies) as server:
        em = make_client(kind, server.url)
        with pytest.raises(ValidationError) as caught:
            em.uplink([tmp_path / "first.bin", bad], "up")
    assert repr(bad) in str(caught.value)
    assert "NUL" in str(caught.value)
    assert bodies == []


class _BytesPath:
    """An `os.PathLike` that gives bytes, which no part can be named from."""

    def __fspath__(self) -> bytes:
        return b"first.bin"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("given", ["bytes", "bytes-pathlike"])
def test_a_path_given_as_bytes_is_refused_naming_it(
    tmp_path: Path,
    make_client: Callable[..., Any],  # noqa: F811 (the fixture imported above)
    kind: str,
    given: str,
) -> None:
    (tmp_path / "first.bin").write_bytes(b"x")
    bad: Any = b"first.bin" if given == "bytes" else _BytesPath()
    bodies: list[Seen] = []
    with _uplink_server(bodies) as server:
        em = make_client(kind, server.url)
        with pytest.raises(ValidationError) as caught:
            em.uplink(bad, "up")
    assert f"Not a file path: {bad!r}" in str(caught.value)
    assert bodies == []


# -- the download target ---------------------------------------------------------------------


def _response(body: bytes, headers: Any = None, status: int = 200) -> httpx.Response:
    request = httpx.Request("GET", "http://em.invalid/em/files/downlink")
    return httpx.Response(status, headers=headers, content=body, request=request)


def test_target_writes_aside_and_commits_whole(dl: Path) -> None:
    seen: list[tuple[int, int]] = []
    progress = Progress(0, lambda d, t: seen.append((d, t)), bar=False, description="x")
    with DownloadTarget(dl, "dir/f.bin", overwrite=False, progress=progress) as target:
        target.open(_response(b"", {"Content-Length": "6"}))
        assert target.temp is not None
        assert target.temp.name.startswith(".f.bin.")
        assert target.temp.name.endswith(".part")
        target.write(b"abc")
        assert not (dl / "f.bin").exists()
        target.write(b"def")
        path = target.commit()
    assert path == dl / "f.bin"
    assert path.read_bytes() == b"abcdef"
    assert os.listdir(dl) == ["f.bin"]
    assert seen == [(3, 6), (6, 6)]
    target.abort()  # after a commit: nothing to do, the file stays
    assert path.read_bytes() == b"abcdef"


def test_target_store_many_writes_chunks_in_order_after_buffered_bytes(dl: Path) -> None:
    # the async driver's write: one writev per batch (more chunks than one call takes here)
    chunks = [os.urandom(1 + i % 50) for i in range(3000)] + [b""]
    total = 3 + sum(len(c) for c in chunks)
    with DownloadTarget(dl, "f.bin", overwrite=False, progress=None) as target:
        target.open(_response(b"", {"Content-Length": str(total)}))
        target.write(b"abc")  # still in the file's buffer: must come first
        for chunk in chunks:
            target.account(chunk)
        target.store_many(chunks)
        path = target.commit()
    assert path.read_bytes() == b"abc" + b"".join(chunks)


def test_target_short_body_leaves_nothing(dl: Path) -> None:
    with DownloadTarget(dl, "f.bin", overwrite=False, progress=None) as target:
        target.open(_response(b"", {"Content-Length": "6"}))
        target.write(b"abc")
        with pytest.raises(IncompleteDownloadError, match="3 of 6"):
            target.verify()
        with pytest.raises(IncompleteDownloadError, match="3 of 6"):
            target.commit()
    assert os.listdir(dl) == []


def test_target_refuses_more_than_announced(dl: Path) -> None:
    with DownloadTarget(dl, "f.bin", overwrite=False, progress=None) as target:
        target.open(_response(b"", {"Content-Length": "2"}))
        with pytest.raises(IncompleteDownloadError, match="more than the 2 bytes"):
            target.write(b"abc")
    assert os.listdir(dl) == []


def test_target_abort_is_idempotent_and_any_exception_aborts(dl: Path) -> None:
    target = DownloadTarget(dl, "f.bin", overwrite=False, progress=None)
    target.abort()  # before open: nothing to do
    target.open(_response(b""))
    target.write(b"x")
    assert len(os.listdir(dl)) == 1
    target.abort()
    target.abort()
    assert os.listdir(dl) == []

    def fail_midway() -> None:
        with DownloadTarget(dl, "g", overwrite=False, progress=None) as t:
            t.open(_response(b""))
            assert len(os.listdir(dl)) == 1
            raise KeyError("boom")

    with pytest.raises(KeyError):
        fail_midway()
    assert os.listdir(dl) == []


def test_target_leaving_without_commit_aborts(dl: Path) -> None:
    with DownloadTarget(dl, "f.bin", overwrite=False, progress=None) as target:
        target.open(_response(b""))
        target.write(b"x")
    assert os.listdir(dl) == []


def test_target_keeps_a_file_that_appeared_during_the_download(dl: Path) -> None:
    with DownloadTarget(dl, "f.bin", overwrite=False, progress=None) as target:
        target.open(_response(b"", {"Content-Length": "3"}))
        target.write(b"new")
        (dl / "f.bin").write_bytes(b"theirs")
        with pytest.raises(LocalFileExistsError, match="appeared during the download"):
            target.commit()
    assert os.listdir(dl) == ["f.bin"]
    assert (dl / "f.bin").read_bytes() == b"theirs"


def test_target_overwrite_replaces(dl: Path) -> None:
    (dl / "f.bin").write_bytes(b"old")
    with pytest.raises(LocalFileExistsError, match="overwrite=True"):
        DownloadTarget(dl, "f.bin", overwrite=False, progress=None).open(_response(b""))
    with DownloadTarget(dl, "f.bin", overwrite=True, progress=None) as target:
        target.open(_response(b""))
        target.write(b"new")
        target.commit()
    assert (dl / "f.bin").read_bytes() == b"new"
    assert os.listdir(dl) == ["f.bin"]


@pytest.mark.parametrize("value", ["abc", "-1", "5, 6", "²"])
def test_target_refuses_an_unusable_content_length(dl: Path, value: str) -> None:
    from dphi_em import TransportError

    target = DownloadTarget(dl, "f.bin", overwrite=False, progress=None)
    with pytest.raises(TransportError, match="Content-Length"):
        target.open(_response(b"", [(b"Content-Length", value.encode("latin-1"))]))
    assert os.listdir(dl) == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_an_in_memory_response_is_saved(dl: Path, driver: str) -> None:
    response = _response(b"hello", {"Content-Length": "5"})
    with DownloadTarget(dl, "a/h.txt", overwrite=False, progress=None) as target:
        if driver == "sync":
            path = feed_download(target, response)
        else:
            path = asyncio.run(afeed_download(target, response))
    assert path.read_bytes() == b"hello"


# -- downloads over a real socket ------------------------------------------------------------


@pytest.fixture
def stored(em_http: Callable[..., httpx.Client], pod_name: str) -> Iterator[tuple[str, bytes]]:
    """A 5 MiB + 3 file in the session emulator, in the test's own volume: (path, bytes)."""
    data = os.urandom(5 * MiB + 3)
    client = em_http()
    response = client.post(
        "em/files/uplink",
        files=[("files", ("blob.bin", data, "application/octet-stream"))],
        data={"dest_path": "d", "pod_name": pod_name},
    )
    assert response.status_code == 200, response.text
    return "d/blob.bin", data


def _auth(em_http: Callable[..., httpx.Client]) -> dict[str, str]:
    return {"Authorization": em_http().headers["Authorization"]}


@pytest.mark.parametrize("driver", DRIVERS)
def test_download_from_the_emulator_is_byte_exact(
    em_http: Callable[..., httpx.Client],
    emulator: Any,
    pod_name: str,
    stored: tuple[str, bytes],
    dl: Path,
    driver: str,
) -> None:
    path, data = stored
    seen: list[tuple[int, int]] = []
    progress = Progress(0, lambda d, t: seen.append((d, t)), bar=False, description="dl")
    local = _download(
        driver,
        emulator.url + "em/files/downlink",
        dl,
        path,
        headers=_auth(em_http),
        params={"filepath": path, "pod_name": pod_name},
        progress=progress,
    )
    assert local == dl / "blob.bin"
    assert local.read_bytes() == data
    assert os.listdir(dl) == ["blob.bin"]
    assert seen[-1] == (len(data), len(data))


def test_a_cancelled_async_download_leaves_nothing(
    em_http: Callable[..., httpx.Client],
    emulator: Any,
    pod_name: str,
    stored: tuple[str, bytes],
    dl: Path,
) -> None:
    path, _data = stored
    parts_seen: list[list[str]] = []

    async def run() -> None:
        task: asyncio.Task[Path] | None = None

        def on_progress(done: int, total: int) -> None:
            if done >= MiB and not parts_seen:
                parts_seen.append(os.listdir(dl))  # the temporary file, mid-download
                assert task is not None
                task.cancel()

        async def download() -> Path:
            async with (
                httpx.AsyncClient(base_url=emulator.url, timeout=30) as client,
                client.stream(
                    "GET",
                    "em/files/downlink",
                    params={"filepath": path, "pod_name": pod_name},
                    headers=_auth(em_http),
                ) as response,
            ):
                progress = Progress(0, on_progress, bar=False, description="dl")
                with DownloadTarget(dl, path, overwrite=False, progress=progress) as target:
                    return await afeed_download(target, response)

        task = asyncio.create_task(download())
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert len(parts_seen) == 1
    assert len(parts_seen[0]) == 1
    assert parts_seen[0][0].startswith(".blob.bin.")
    assert parts_seen[0][0].endswith(".part")
    assert os.listdir(dl) == []


# -- what the emulator will not do: a scripted server ----------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_gzip_body_is_saved_as_sent(dl: Path, driver: str) -> None:
    original = b"0123456789" * 100_000
    sent = gzip.compress(original)
    answer = http_response(200, sent, headers={"Content-Encoding": "gzip", "Connection": "close"})
    with ScriptedServer([answer]) as server:
        local = _download(driver, server.url + "em/files/downlink", dl, "data.bin")
    assert local.read_bytes() == sent  # not decoded: the bytes the server sent
    assert len(sent) < len(original)
    assert server.requests[0].lower().count(b"accept-encoding: identity") == 1


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_cut_gzip_stream_is_incomplete(dl: Path, driver: str, framing: str) -> None:
    sent = gzip.compress(os.urandom(300_000))
    half = sent[: len(sent) // 2]
    if framing == "content-length":
        answer = http_response(
            200, half, headers={"Content-Encoding": "gzip", "Content-Length": str(len(sent))}
        )
    else:
        answer = http_response(
            200,
            f"{len(half):x}\r\n".encode() + half + b"\r\n",  # one chunk, then the end never comes
            headers={"Content-Encoding": "gzip", "Transfer-Encoding": "chunked"},
            content_length=False,
        )
    with (
        ScriptedServer([answer]) as server,
        pytest.raises(IncompleteDownloadError, match=f"after {len(half)} bytes"),
    ):
        _download(driver, server.url + "em/files/downlink", dl, "data.bin")
    assert os.listdir(dl) == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_206_to_a_request_without_range_is_refused(dl: Path, driver: str) -> None:
    answer = http_response(
        206,
        b"only",
        reason="Partial Content",
        headers={"Content-Range": "bytes 0-3/100", "Connection": "close"},
    )
    with ScriptedServer([answer]) as server, pytest.raises(APIError, match="206") as caught:
        _download(driver, server.url + "em/files/downlink", dl, "data.bin")
    assert caught.value.status_code == 206
    assert b"range:" not in server.requests[0].lower()
    assert os.listdir(dl) == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_stalled_then_cut_body_leaves_nothing(dl: Path, driver: str) -> None:
    release = threading.Event()

    def handler(seen: Seen) -> Iterator[bytes]:
        yield http_response(200, b"x" * 1000, headers={"Content-Length": "5000"})
        release.wait(10)  # the client holds a .part file now

    def progress(done: int, total: int) -> None:
        assert [p for p in os.listdir(dl) if p.endswith(".part")]
        release.set()

    with ScriptedServer(handler) as server, pytest.raises(IncompleteDownloadError, match="1000"):
        _download(
            driver,
            server.url + "em/files/downlink",
            dl,
            "data.bin",
            progress=Progress(0, progress, bar=False, description="dl"),
        )
    assert release.is_set()
    assert os.listdir(dl) == []
    assert server.errors == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_connection_reset_mid_body_leaves_nothing(dl: Path, driver: str) -> None:
    taken = threading.Event()

    def handler(seen: Seen) -> Iterator[bytes]:
        yield http_response(200, b"y" * 3000, headers={"Content-Length": "9000"})
        taken.wait(10)  # the client has the first bytes (a reset would drop unread ones)
        yield RESET

    def progress(done: int, total: int) -> None:
        if done == 3000:
            taken.set()

    with (
        ScriptedServer(handler) as server,
        pytest.raises(IncompleteDownloadError, match="broke off after 3000 bytes"),
    ):
        _download(
            driver,
            server.url + "em/files/downlink",
            dl,
            "data.bin",
            progress=Progress(0, progress, bar=False, description="dl"),
        )
    assert taken.is_set()
    assert os.listdir(dl) == []
    assert len(server.requests) == 1


# -- progress --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.00 KiB"),
        (5000, "4.88 KiB"),
        (MiB, "1.00 MiB"),
        (150 * MiB, "150 MiB"),
        (1000 * MiB, "0.98 GiB"),
        (3 * 1024**4, "3.00 TiB"),
    ],
)
def test_format_bytes_is_iec(count: int, shown: str) -> None:
    assert format_bytes(count) == shown


def test_progress_is_a_callback_that_rewinds() -> None:
    seen: list[tuple[int, int]] = []
    outer = Progress(0, lambda d, t: seen.append((d, t)), bar=False, description="x")
    inner = Progress(100, outer, bar=False, description="y")
    inner.advance(60)
    inner.set(10)  # a retried request starts again
    inner.advance(90)
    assert seen == [(60, 100), (10, 100), (100, 100)]
    assert (outer.done, outer.total) == (100, 100)


def test_bars_are_tqdm_auto_and_tqdm_is_imported_only_when_drawn() -> None:
    code = (
        "import sys\n"
        "from dphi_em._progress import Progress\n"
        "p = Progress(10, lambda d, t: None, bar=True, description='x')\n"
        "before = 'tqdm' in sys.modules\n"
        "p.advance(5)\n"
        "import tqdm.auto\n"
        "print(before, isinstance(p._bar, tqdm.auto.tqdm))\n"
        "p.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "True"]
    assert "x:  50%" in out.stderr
    assert "5 B/10 B" in out.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_path_is_refused_not_read_as_the_current_folder(
    tmp_path: Path,
    make_client: Callable[..., Any],  # noqa: F811 (the fixture imported above)
    kind: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`uplink("")` (an unset shell variable) used to send the whole current folder."""
    (tmp_path / "secret.txt").write_bytes(b"not for the EM")
    monkeypatch.chdir(tmp_path)
    bodies: list[Seen] = []
    with _uplink_server(bodies) as server:
        em = make_client(kind, server.url)
        for given in ("", [tmp_path / "secret.txt", ""]):
            with pytest.raises(ValidationError) as caught:
                em.uplink(given, "up")
            assert "Cannot uplink '': an empty path names no file" in str(caught.value)
    assert bodies == []
