"""dphi_em.telemetry against the emulator's telemetry service (its emulator-only ground
address), and against small scripted answers for what the service can't do on demand."""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from dphi_em import ClientClosedError, ConfigurationError, LocalFileExistsError, ValidationError
from dphi_em.telemetry import (
    DEFAULT_TLM_URL,
    AsyncTelemetryClient,
    ImageNotFoundError,
    TelemetryClient,
    TelemetryError,
)
from dphi_em_emulator import EmulatorConfig, EmulatorServer


@pytest.fixture(autouse=True)
def no_tlm_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DPHI_TLM_URL", raising=False)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        data_dir=tmp_path_factory.mktemp("tlm"),
        users={"client1": "secret"},
        telemetry_history=2 * 3600.0,
        telemetry_images=110,
        telemetry_seed=7,
    )
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture
def url(service: EmulatorServer) -> str:
    assert service.emulator.telemetry is not None
    return service.emulator.telemetry.ground_url


# -- parity (the text: `_client.py` is made by scripts/unasync.py, tests/unit/test_unasync.py) --


def _public(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_sync_and_async_clients_have_the_same_operations() -> None:
    sync, aio = _public(TelemetryClient), _public(AsyncTelemetryClient)
    assert set(sync) - {"close"} == set(aio) - {"aclose"}
    assert {"latest", "types", "stats", "tle", "health", "records", "iter_records"} <= set(sync)
    assert {"image_names", "download_images"} <= set(sync)
    for name, method in sync.items():
        twin = aio["aclose" if name == "close" else name]
        mine, theirs = inspect.signature(method), inspect.signature(twin)
        assert mine.parameters == theirs.parameters, name
        returns = str(theirs.return_annotation).replace("AsyncIterator", "Iterator")
        assert str(mine.return_annotation) == returns, name
        assert method.__doc__ == twin.__doc__, name
        assert inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin), name
        assert not inspect.iscoroutinefunction(method), name


# -- configuration -------------------------------------------------------------------------


def test_the_default_address_is_the_in_pod_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with TelemetryClient() as tlm:
        assert tlm.base_url == DEFAULT_TLM_URL == "http://satellite-telemetry.dphi-tm"
    monkeypatch.setenv("DPHI_TLM_URL", "http://127.0.0.1:9/")
    with TelemetryClient() as tlm:
        assert tlm.base_url == "http://127.0.0.1:9"
    monkeypatch.setenv("DPHI_TLM_URL", "ftp://x")
    with pytest.raises(ConfigurationError, match=r"DPHI_TLM_URL.*ftp://x"):
        TelemetryClient()


# -- against the emulator's service --------------------------------------------------------


def test_every_endpoint_answers_typed(url: str) -> None:
    with TelemetryClient(url) as tlm:
        assert tlm.health().status == "healthy"
        assert tlm.types() == ["complete", "position", "attitude", "power", "temperature"]
        stats = tlm.stats()
        assert stats.total_records == sum(stats.data_type_breakdown.values()) > 0
        tle = tlm.tle()
        assert len(tle.line1) == len(tle.line2) == 69
        assert 97 < tle.inclination_deg < 98
        latest = tlm.latest()
        assert [r.data_type for r in latest] == tlm.types()
        complete = latest[0]
        assert complete.position is not None
        assert 6700 < complete.position.norm < 7100
        assert complete.velocity is not None
        assert 7.0 < complete.velocity.norm < 8.0
        assert complete.attitude is not None
        assert complete.attitude.quaternion is not None
        assert abs(complete.attitude.quaternion.norm - 1) < 1e-9
        assert complete.temperature is not None
        assert len(complete.temperature.sensors) == 8
        assert complete.power is not None
        assert complete.power.in_sunlight in (True, False)
        assert complete.tle is not None
        assert str(complete.tle) == str(tle)
        (power,) = tlm.latest("power")
        assert power.power == complete.power
        assert len(tlm.image_names()) == 110


def test_records_refuses_an_unbounded_query_before_sending() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"success": True, "data": [], "count": 0, "error": None})

    with TelemetryClient("http://tlm.test", transport=httpx.MockTransport(handler)) as tlm:
        with pytest.raises(ValidationError, match=r"whole telemetry database.*unbounded=True"):
            tlm.records()
        with pytest.raises(ValidationError, match="timezone-aware"):
            tlm.records(datetime(2026, 1, 1))
        with pytest.raises(ValidationError, match="limit must be"):
            tlm.records(limit=0)
        assert sent == []
        assert tlm.records(unbounded=True) == []
        assert sent[0].url.params == httpx.QueryParams()


def test_records_in_a_window_and_a_walk_in_windows(url: str) -> None:
    with TelemetryClient(url) as tlm:
        stats = tlm.stats()
        assert stats.earliest_timestamp is not None
        start = stats.earliest_timestamp
        end = start + timedelta(minutes=30)
        whole = tlm.records(start, end, data_type="position")
        assert len(whole) == 181  # every 10 s, both ends included
        assert all(start <= r.timestamp <= end for r in whole)
        walked = list(tlm.iter_records(start, end, "position", window=timedelta(minutes=7)))
        assert [r.id for r in walked] == [r.id for r in whole]
        assert len(tlm.records(start, end, limit=7)) == 7
        assert len(list(tlm.iter_records(start, end, window=timedelta(minutes=1), limit=33))) == 33


def test_a_refusal_is_a_telemetry_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            body = {"success": False, "data": None, "count": None, "error": "database offline"}
            return httpx.Response(200, json=body)
        return httpx.Response(502, text="bad gateway")

    with TelemetryClient("http://tlm.test", transport=httpx.MockTransport(handler)) as tlm:
        with pytest.raises(TelemetryError, match="database offline") as caught:
            tlm.health()
        assert caught.value.status_code == 200
        with pytest.raises(TelemetryError, match="502: bad gateway"):
            tlm.types()


def test_an_answer_over_the_bound_is_refused() -> None:
    big = b'{"success": true, "data": [' + b'"x", ' * (4 * 1024 * 1024) + b'"x"]}'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=big)

    tlm = TelemetryClient("http://tlm.test", transport=httpx.MockTransport(handler))
    with tlm, pytest.raises(TelemetryError, match="over the 16777216 bytes"):
        tlm.types()


def test_one_name_is_the_png_several_a_zip_unpacked(url: str, tmp_path: Path) -> None:
    with TelemetryClient(url) as tlm:
        names = tlm.image_names()
        (png,) = tlm.download_images(names[0], dest=tmp_path / "one")
        assert png == tmp_path / "one" / names[0]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        got = tlm.download_images(names[3:6], dest=tmp_path / "three")
        assert sorted(p.name for p in got) == sorted(names[3:6])
        assert sorted(p.name for p in (tmp_path / "three").iterdir()) == sorted(names[3:6])
        assert [p.name for p in tlm.download_images(limit=2, dest=tmp_path / "two")] == names[:2]
        with pytest.raises(LocalFileExistsError):
            tlm.download_images(names[0], dest=tmp_path / "one")
        assert tlm.download_images(names[0], dest=tmp_path / "one", overwrite=True) == [png]
        with pytest.raises(ImageNotFoundError, match=r"Image not found: 19990101\.png"):
            tlm.download_images(["19990101.png", names[0]], dest=tmp_path / "none")
        assert list((tmp_path / "none").iterdir()) == []
        for bad in ("../x.png", "a/b.png", ""):
            with pytest.raises(ValidationError, match="plain file name"):
                tlm.download_images(bad, dest=tmp_path / "bad")
        with pytest.raises(ValidationError, match="names or a limit"):
            tlm.download_images(dest=tmp_path / "bad")
        with pytest.raises(ValidationError, match="at most 100"):
            tlm.download_images(limit=101, dest=tmp_path / "bad")


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("evil", ["../escaped.png", "/abs.png", "sub/dir.png", "..png/../x"])
def test_a_zip_reaching_outside_dest_writes_nothing(tmp_path: Path, evil: str) -> None:
    archive = _zip({"20230606.png": b"\x89PNG\r\n\x1a\nfine", evil: b"\x89PNG\r\n\x1a\nevil"})

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=archive, headers={"Content-Type": "application/zip"})

    dest = tmp_path / "box" / "dest"
    tlm = TelemetryClient("http://tlm.test", transport=httpx.MockTransport(handler))
    with tlm, pytest.raises(TelemetryError, match="not a plain image file name"):
        tlm.download_images(limit=2, dest=dest)
    assert list(dest.iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "box").iterdir()) == ["dest"]


def test_a_closed_client_refuses() -> None:
    tlm = TelemetryClient("http://tlm.test")
    tlm.close()
    with pytest.raises(ClientClosedError):
        tlm.health()


def test_the_async_client_answers_the_same(url: str, tmp_path: Path) -> None:
    async def main() -> tuple[Any, ...]:
        async with AsyncTelemetryClient(url) as tlm:
            stats = await tlm.stats()
            start = stats.earliest_timestamp
            assert start is not None
            end = start + timedelta(minutes=5)
            walked = [r async for r in tlm.iter_records(start, end, window=timedelta(minutes=2))]
            with pytest.raises(ValidationError, match="unbounded=True"):
                await tlm.records()
            files = await tlm.download_images(limit=3, dest=tmp_path / "a")
            return await tlm.tle(), await tlm.records(start, end), walked, files

    tle, records, walked, files = asyncio.run(main())
    with TelemetryClient(url) as tlm:
        assert tlm.tle() == tle
        assert [r.id for r in walked] == [r.id for r in records]
        start = records[0].timestamp
        assert tlm.records(start, start + timedelta(minutes=5)) == records
        synced = tlm.download_images(limit=3, dest=tmp_path / "s")
    assert [p.read_bytes() for p in files] == [p.read_bytes() for p in synced]


MEMORY_PROBE = """
import json, sys, tracemalloc
from dphi_em.telemetry import TelemetryClient
tracemalloc.start()
with TelemetryClient(sys.argv[1]) as tlm:
    files = tlm.download_images(limit=100, dest=sys.argv[2])
print(json.dumps({"files": len(files), "peak": tracemalloc.get_traced_memory()[1],
                  "bytes": sum(p.stat().st_size for p in files)}))
"""


def test_a_100_image_zip_streams_to_disk_in_flat_memory(url: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, url, str(tmp_path / "imgs")],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    assert figures["files"] == 100
    assert figures["bytes"] > 15 * 1024 * 1024  # a client holding the ZIP would peak above
    assert figures["peak"] < 3 * 1024 * 1024, figures


def test_records_time_bounds_go_out_as_rfc_3339() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"success": True, "data": [], "count": 0, "error": None})

    start = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
    with TelemetryClient("http://tlm.test", transport=httpx.MockTransport(handler)) as tlm:
        tlm.records(start, start + timedelta(hours=1), "power", 5)
    params = seen[0].url.params
    assert params["start_time"] == "2026-12-05T12:00:00+00:00"
    assert params["end_time"] == "2026-12-05T13:00:00+00:00"
    assert (params["data_type"], params["limit"]) == ("power", "5")


def test_vectors_and_quaternions_parse_only_complete_numeric_objects() -> None:
    from dphi_em.telemetry import Quaternion, Vector3

    assert Vector3.parse({"x": 1, "y": 2.5, "z": -3}) == Vector3(1.0, 2.5, -3.0)
    assert Quaternion.parse({"w": 1, "x": 0, "y": 0, "z": 0}) == Quaternion(1.0, 0.0, 0.0, 0.0)
    assert Vector3.parse({"x": 1, "y": 2}) is None  # a component missing
    assert Vector3.parse({"x": 1, "y": 2, "z": True}) is None  # a bool is not a number
    assert Quaternion.parse({"x": 0, "y": 0, "z": 0}) is None
    assert Quaternion.parse([1, 0, 0, 0]) is None  # not an object
