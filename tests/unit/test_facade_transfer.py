"""Uplink planning and streaming, downlink naming and atomic writes."""

from __future__ import annotations

import email.parser
import email.policy
import os
import re
from pathlib import Path

import httpx
import pytest
from dphi_em import (
    FileTooLargeError,
    IncompleteDownloadError,
    LocalFileExistsError,
    ValidationError,
)
from dphi_em._download import content_disposition_filename, safe_file_name
from dphi_em._uplink import MultipartFileStream, UplinkFile, plan_uplink
from fake_em import FakeEM, make_client


def _parse_multipart(headers: dict[str, str], body: bytes) -> list[tuple[str, str | None, bytes]]:
    raw = f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode() + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    parts = []
    for part in message.iter_parts():
        parts.append(
            (
                part.get_param("name", header="content-disposition"),
                part.get_filename(),
                part.get_payload(decode=True) or b"",
            )
        )
    return parts


def _tree(root: Path) -> None:
    (root / "proj" / "src" / "deep").mkdir(parents=True)
    (root / "proj" / "a.txt").write_bytes(b"a")
    (root / "proj" / "src" / "b.py").write_bytes(b"bb")
    (root / "proj" / "src" / "deep" / "c.bin").write_bytes(b"ccc")
    (root / "proj" / "empty").mkdir()


# -- planning --------------------------------------------------------------------------------


def test_plan_keeps_folder_structure_one_batch_per_destination(tmp_path: Path) -> None:
    _tree(tmp_path)
    single = tmp_path / "single.txt"
    single.write_bytes(b"s")
    batches = plan_uplink([single, tmp_path / "proj"], "dest", max_bytes=100)
    assert [[(f.dest_dir, f.name) for f in b] for b in batches] == [
        [("dest", "single.txt")],
        [("dest/proj", "a.txt")],
        [("dest/proj/src", "b.py")],
        [("dest/proj/src/deep", "c.bin")],
    ]
    root = plan_uplink([tmp_path / "proj"], "", max_bytes=100)
    assert [f.dest for b in root for f in b] == [
        "proj/a.txt",
        "proj/src/b.py",
        "proj/src/deep/c.bin",
    ]


def test_plan_accepts_a_single_path_string(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"1")
    assert plan_uplink(str(tmp_path / "x"), "", max_bytes=10)[0][0].size == 1


def test_plan_splits_sets_over_the_limit(tmp_path: Path) -> None:
    paths = []
    for i, size in enumerate([40, 40, 40, 10, 100]):
        path = tmp_path / f"f{i}"
        path.write_bytes(b"x" * size)
        paths.append(path)
    batches = plan_uplink(paths, "", max_bytes=100)
    assert [[f.size for f in b] for b in batches] == [[40, 40], [40, 10], [100]]
    assert all(sum(f.size for f in b) <= 100 for b in batches)


def test_plan_splits_by_file_count(tmp_path: Path) -> None:
    paths = []
    for i in range(5):
        (tmp_path / f"f{i}").write_bytes(b"")
        paths.append(tmp_path / f"f{i}")
    assert [len(b) for b in plan_uplink(paths, "", max_bytes=10, max_files=2)] == [2, 2, 1]


def test_plan_refuses_a_file_over_the_limit_naming_it(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 11)
    with pytest.raises(FileTooLargeError, match=r"big\.bin"):
        plan_uplink([big], "", max_bytes=10)


@pytest.mark.parametrize("kind", ["missing", "fifo", "unreadable", "quote", "empty-dir", "none"])
def test_plan_refuses_bad_paths_before_sending(tmp_path: Path, kind: str) -> None:
    ok = tmp_path / "ok.txt"
    ok.write_bytes(b"ok")
    bad: object
    if kind == "missing":
        bad = tmp_path / "nope.txt"
    elif kind == "fifo":
        bad = tmp_path / "pipe"
        os.mkfifo(bad)
    elif kind == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads everything")
        bad = tmp_path / "secret.txt"
        bad.write_bytes(b"x")
        bad.chmod(0)
    elif kind == "quote":
        bad = tmp_path / 'we"ird.txt'
        bad.write_bytes(b"x")
    elif kind == "empty-dir":
        bad = tmp_path / "empty"
        bad.mkdir()
        with pytest.raises(ValidationError, match="no files"):
            plan_uplink([bad], "", max_bytes=10)
        return
    else:
        with pytest.raises(ValidationError):
            plan_uplink([], "", max_bytes=10)
        return
    with pytest.raises(ValidationError, match=re.escape(repr(str(bad)))):
        plan_uplink([ok, bad], "", max_bytes=100)


def test_plan_survives_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"1")
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    files = [f.dest for b in plan_uplink([tmp_path / "d"], "", max_bytes=10) for f in b]
    assert files == ["d/f"]


# -- the multipart stream --------------------------------------------------------------------


def test_stream_is_exact_random_and_reiterable(tmp_path: Path) -> None:
    nasty = b"--\r\n--boundary\r\nContent-Disposition: form-data\r\n\r\n" + bytes(range(256))
    a = tmp_path / "a.bin"
    a.write_bytes(nasty)
    b = tmp_path / "ünï côdé.txt"
    b.write_bytes(b"")
    files = [UplinkFile(a, a.stat().st_size, ""), UplinkFile(b, 0, "")]
    stream = MultipartFileStream([("dest_path", "x/y"), ("pod_name", "pod-a")], files, chunk_size=7)
    first = b"".join(stream)
    second = b"".join(stream)
    assert first == second
    assert len(first) == stream.content_length
    assert stream.headers["Content-Length"] == str(len(first))
    other = MultipartFileStream([], files)
    assert other.boundary != stream.boundary
    assert len(stream.boundary) >= 32
    parts = _parse_multipart(stream.headers, first)
    assert parts == [
        ("dest_path", None, b"x/y"),
        ("pod_name", None, b"pod-a"),
        ("files", "a.bin", nasty),
        ("files", "ünï côdé.txt", b""),
    ]


def test_stream_gathers_small_parts_and_passes_large_chunks_through(tmp_path: Path) -> None:
    small = []
    for i in range(300):
        path = tmp_path / f"s{i:03}.txt"
        path.write_bytes(bytes([i % 256]) * 100)
        small.append(UplinkFile(path, 100, ""))
    big = tmp_path / "big.bin"
    big.write_bytes(b"B" * 2500)
    files = [*small, UplinkFile(big, 2500, "")]
    reported: list[int] = []
    stream = MultipartFileStream(
        [("dest_path", "d")], files, chunk_size=1000, on_chunk=reported.append
    )
    pieces = list(stream)
    body = b"".join(pieces)
    assert len(body) == stream.content_length
    # 300 headers and files gathered into pieces of at most 1000 bytes, not 600 sends
    assert len(pieces) < stream.content_length // 1000 + 5
    assert all(len(piece) <= 1000 for piece in pieces)
    # the big file's chunks as read: 1000, 1000, then its last 500 gathered with the end
    assert pieces.count(b"B" * 1000) == 2
    assert sum(reported) == 300 * 100 + 2500  # file bytes only, each counted once
    parts = _parse_multipart(stream.headers, body)
    assert [p[2] for p in parts[1:]] == [bytes([i % 256]) * 100 for i in range(300)] + [b"B" * 2500]


def test_stream_refuses_a_file_that_changed_size(tmp_path: Path) -> None:
    a = tmp_path / "a.bin"
    a.write_bytes(b"12345")
    stream = MultipartFileStream([], [UplinkFile(a, 5, "")])
    a.write_bytes(b"123")
    with pytest.raises(ValidationError, match="shrank"):
        b"".join(stream)
    a.write_bytes(b"1234567")
    with pytest.raises(ValidationError, match="grew"):
        b"".join(stream)


def test_uplink_sends_streams_with_progress(tmp_path: Path) -> None:
    fake = FakeEM()
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(
            200, json={"message": "ok", "data": {"file_count": 2, "total_size_kb": 0}}
        )

    fake.routes[("POST", "/em/files/uplink")] = handler
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "one").write_bytes(b"1" * 3000)
    (tmp_path / "d" / "two").write_bytes(b"2" * 5000)
    seen: list[tuple[int, int]] = []
    with make_client(fake) as em:
        result = em.uplink(
            [tmp_path / "d"], "base", pod_name="pod-a", progress=lambda d, t: seen.append((d, t))
        )
    assert result.to_dict() == {
        "file_count": 2,
        "total_bytes": 8000,
        "calls": 1,
        "paths": ["base/d/one", "base/d/two"],
    }
    request = received[0]
    assert "chunked" not in request.headers.get("Transfer-Encoding", "")
    assert int(request.headers["Content-Length"]) == len(request.content)
    parts = _parse_multipart({"Content-Type": request.headers["Content-Type"]}, request.content)
    assert parts[:2] == [("dest_path", None, b"base/d"), ("pod_name", None, b"pod-a")]
    assert seen[-1] == (8000, 8000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_uplink_splits_over_a_small_limit(tmp_path: Path) -> None:
    fake = FakeEM()
    counts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        n = request.content.count(b'name="files"')
        counts.append(n)
        return httpx.Response(
            200, json={"message": "ok", "data": {"file_count": n, "total_size_kb": 0}}
        )

    fake.routes[("POST", "/em/files/uplink")] = handler
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"f{i}")
        paths[-1].write_bytes(b"x" * 40)
    with make_client(fake, max_uplink_bytes=100) as em:
        result = em.uplink(paths)
    assert counts == [2, 2, 1]
    assert (result.file_count, result.calls, result.total_bytes) == (5, 3, 200)


def test_uplink_checks_everything_before_sending(tmp_path: Path) -> None:
    fake = FakeEM()
    ok = tmp_path / "ok"
    ok.write_bytes(b"1")
    with make_client(fake) as em:
        with pytest.raises(ValidationError):
            em.uplink([ok, tmp_path / "missing"])
        with pytest.raises(ValidationError, match="Bad_Name"):
            em.uplink([ok], pod_name="Bad_Name")
    assert fake.calls == []


# -- downlink --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="report.txt"', "report.txt"),
        ("attachment; filename=plain.bin", "plain.bin"),
        ('attachment; filename="../../etc/passwd"', None),
        ('attachment; filename="/abs/path/name.txt"', "name.txt"),
        ('attachment; filename="/abs"', "abs"),
        ('attachment; filename="C:\\\\x"', None),
        ('attachment; filename="C:x"', None),
        ('attachment; filename=".."', None),
        ('attachment; filename=" .. "', None),
        ('attachment; filename="x/ .."', None),
        ("attachment; filename*=UTF-8''%20..%20", None),
        ('attachment; filename="."', None),
        ('attachment; filename="a\\\\..\\\\b"', None),
        ('attachment; filename="sub\\\\dir\\\\ok.txt"', "ok.txt"),
        ('attachment; filename="bad\x01name"', None),
        ('attachment; filename="new\nline"', None),
        ("attachment; filename*=UTF-8''..%2F..%2Fevil", None),
        ("attachment; filename*=UTF-8''%2Fetc%2Fshadow", "shadow"),
        ("attachment; filename*=UTF-8''na%00me", None),
        (
            "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf; filename=\"fallback.pdf\"",
            "résumé.pdf",
        ),
        (
            "attachment; filename=\"fallback.pdf\"; filename*=UTF-8''pr%C3%A9f%C3%A9r%C3%A9.pdf",
            "préféré.pdf",
        ),
        ("attachment; filename*=iso-8859-1'en'%E9t%E9.txt", "été.txt"),
        ("attachment; filename*=bogus-charset''x.txt; filename=\"y.txt\"", "y.txt"),
        ('attachment; filename="NUL.txt"', None),
        ('attachment; filename="\u202etxt.exe"', None),
        ("attachment", None),
        ("", None),
        ('attachment; filename="q\\"uote.txt"', 'q"uote.txt'),
    ],
)
def test_content_disposition_names_are_made_safe(header: str, expected: str | None) -> None:
    assert content_disposition_filename(header) == expected


@pytest.mark.parametrize("name", ["", "..", ".", "a/..", " .. ", "a/ ../b", "CON", "x\x7f"])
def test_safe_file_name_refuses(name: str) -> None:
    assert safe_file_name(name) is None


def _downlink_route(fake: FakeEM, body: bytes, headers: dict[str, str]) -> None:
    fake.routes[("GET", "/em/files/downlink")] = lambda r: httpx.Response(
        200, headers=headers, stream=httpx.ByteStream(body)
    )


def test_hostile_name_falls_back_to_the_requested_base_name(tmp_path: Path) -> None:
    fake = FakeEM()
    _downlink_route(fake, b"data", {"Content-Disposition": 'attachment; filename="../../x"'})
    with make_client(fake) as em:
        path = em.downlink("results/out.txt", tmp_path / "dl")
    assert path == tmp_path / "dl" / "out.txt"
    assert path.read_bytes() == b"data"
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["out.txt"]
    assert not (tmp_path / "x").exists()


def test_server_name_is_preferred(tmp_path: Path) -> None:
    fake = FakeEM()
    _downlink_route(fake, b"xyz", {"Content-Disposition": 'attachment; filename="server.txt"'})
    with make_client(fake) as em:
        assert em.downlink("a/b.txt", tmp_path).name == "server.txt"
    request = fake.requests[-1]
    assert request.url.params["filepath"] == "a/b.txt"
    assert request.headers["Accept-Encoding"] == "identity"


def test_cut_stream_leaves_nothing_behind(tmp_path: Path) -> None:
    tmp_path = tmp_path / "dl"
    tmp_path.mkdir()
    fake = FakeEM()
    _downlink_route(fake, b"only part", {"Content-Length": "1000"})
    with make_client(fake) as em, pytest.raises(IncompleteDownloadError, match="9 of 1000"):
        em.downlink("big.bin", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_broken_stream_leaves_nothing_behind(tmp_path: Path) -> None:
    tmp_path = tmp_path / "dl"
    tmp_path.mkdir()

    class Broken(httpx.SyncByteStream):
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield b"x" * 100
            raise httpx.RemoteProtocolError("peer closed connection")

    fake = FakeEM()
    fake.routes[("GET", "/em/files/downlink")] = lambda r: httpx.Response(200, stream=Broken())
    with make_client(fake) as em, pytest.raises(IncompleteDownloadError, match="100 bytes"):
        em.downlink("big.bin", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_kept_unless_overwrite(tmp_path: Path) -> None:
    tmp_path = tmp_path / "dl"
    tmp_path.mkdir()
    fake = FakeEM()
    _downlink_route(fake, b"new", {"Content-Length": "3"})
    (tmp_path / "f.txt").write_bytes(b"old")
    with make_client(fake) as em:
        with pytest.raises(LocalFileExistsError, match="overwrite=True"):
            em.downlink("f.txt", tmp_path)
        assert (tmp_path / "f.txt").read_bytes() == b"old"
        em.downlink("f.txt", tmp_path, overwrite=True)
    assert (tmp_path / "f.txt").read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_downlink_progress_reports_bytes(tmp_path: Path) -> None:
    fake = FakeEM()
    _downlink_route(fake, b"z" * 5000, {"Content-Length": "5000"})
    seen: list[tuple[int, int]] = []
    with make_client(fake, progress=lambda d, t: seen.append((d, t))) as em:
        em.downlink("z.bin", tmp_path)
    assert seen[-1] == (5000, 5000)


def test_progress_bar_is_shown_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeEM()
    _downlink_route(fake, b"z" * 5000, {"Content-Length": "5000"})
    with make_client(fake) as em:
        em.downlink("z.bin", tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "downlink" in err
    # the bar knew the size from Content-Length: it shows a percentage and the total
    assert "100%" in err
    # in IEC units, labelled as such (tqdm's own scaling says "4.88k" and "kB/s")
    assert "4.88 KiB/4.88 KiB" in err
    assert re.search(r"[0-9.]+ (B|KiB|MiB|GiB)/s\]", err), err
