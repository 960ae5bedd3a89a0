"""The emulated telemetry service's data: SGP4 from the served TLE, sunlight and eclipse,
determinism for a seed, the history's clock, and the unbounded query."""

from __future__ import annotations

import io
import math
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from dphi_em_emulator import EmulatorConfig, EmulatorServer
from dphi_em_emulator._telemetry._history import History
from dphi_em_emulator._telemetry._orbit import Orbit, default_tle, parse_tle
from PIL import Image
from sgp4.api import Satrec, jday

#: ISS (ZARYA), 2008 (the sgp4 package's documentation example).
ISS = (
    "ISS (ZARYA)\n"
    "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927\n"
    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537\n"
)


def _sgp4_km(line1: str, line2: str, instant: float) -> tuple[float, float, float]:
    when = time.gmtime(instant)
    jd, fr = jday(*when[:5], when.tm_sec + (instant % 1))
    error, position, _ = Satrec.twoline2rv(line1, line2).sgp4(jd, fr)
    assert error == 0
    return position


def test_the_default_orbit_is_a_500_km_sun_synchronous_leo() -> None:
    line1, line2 = default_tle(0)
    assert parse_tle(f"{line1}\n{line2}")[1:] == (line1, line2)
    orbit = Orbit(line1, line2, seed=0)
    radii = [math.dist((0, 0, 0), orbit.propagate(orbit.epoch + 60 * k)[0]) for k in range(100)]
    assert all(6860 < r < 6900 for r in radii)  # ~500 km above a 6378 km Earth
    assert 97 < float(line2[8:16]) < 98  # sun-synchronous at that height
    assert default_tle(1) != default_tle(0)  # the seed picks the plane


def test_every_record_agrees_with_an_independent_sgp4_of_the_tle(tmp_path: Path) -> None:
    _, line1, line2 = parse_tle(ISS)
    history = History(Orbit(line1, line2, seed=3), seed=3, cadence=30.0, span=6000.0)
    for record in history.query(None, None, "complete", None):
        got = record["data"]["position"]
        want = _sgp4_km(line1, line2, record["original_timestamp"])
        assert math.dist(want, (got["x"], got["y"], got["z"])) < 1e-6


def test_sunlight_and_eclipse_drive_power_and_temperatures() -> None:
    line1, line2 = default_tle(5)
    orbit = Orbit(line1, line2, seed=5)
    states = [orbit.state(orbit.epoch + 30.0 * k) for k in range(200)]  # more than an orbit
    lit = [s for s in states if s["power"]["in_sunlight"]]
    dark = [s for s in states if not s["power"]["in_sunlight"]]
    assert lit
    assert dark
    assert all(s["power"]["solar_power_w"] == 0 for s in dark)
    assert all(s["power"]["solar_power_w"] > 20 for s in lit)

    def mean(group: list[dict]) -> float:
        return sum(sum(s["temperature"].values()) / 8 for s in group) / len(group)

    assert mean(lit) > mean(dark) + 10
    for state in states:
        q = state["attitude"]["quaternion"]
        assert abs(math.hypot(*q.values()) - 1) < 1e-12
        rate = state["attitude"]["angular_velocity"]
        assert 0 < math.hypot(*rate.values()) < 0.01  # rad/s: small


def test_a_seed_makes_the_same_records_every_time() -> None:
    line1, line2 = default_tle(9)
    started = 1_790_000_000.0
    one = History(Orbit(line1, line2, 9), 9, 10.0, 600.0, started=started)
    two = History(Orbit(line1, line2, 9), 9, 10.0, 600.0, started=started)
    other = History(Orbit(line1, line2, 10), 10, 10.0, 600.0, started=started)
    window = (started - 600, started)
    assert list(one.query(*window, None, None)) == list(two.query(*window, None, None))
    assert list(one.query(*window, "attitude", 3)) != list(other.query(*window, "attitude", 3))


def test_the_history_grows_with_the_time_scale() -> None:
    line1, line2 = default_tle(0)
    started = time.time() - 10.0
    history = History(Orbit(line1, line2, 0), 0, 10.0, 100.0, time_scale=60.0, started=started)
    # 10 wall seconds at 60x are 600 simulated seconds: 60 more ticks than the 100 s of history
    assert history.last_tick() >= 10 + 60
    assert history.now() >= started + 600


def test_an_unbounded_query_answers_the_whole_history_streamed(tmp_path: Path) -> None:
    config = EmulatorConfig(
        data_dir=tmp_path, users={"u": "p"}, telemetry_history=3600.0, telemetry_images=1
    )
    with EmulatorServer(config) as server:
        assert server.emulator.telemetry is not None
        url = server.emulator.telemetry.ground_url
        total = httpx.get(f"{url}/api/telemetry/stats").json()["data"]["total_records"]
        with httpx.stream("GET", f"{url}/api/telemetry", timeout=120) as answer:
            assert "content-length" not in answer.headers  # streamed as it is made
            body = answer.read()
        data = httpx.Response(200, content=body).json()
        assert data["count"] == len(data["data"]) >= total


def test_a_bad_tle_file_is_refused_by_the_command(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tle"
    bad.write_text(ISS.replace("2927", "2928"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dphi_em_emulator",
            "--data-dir",
            str(tmp_path / "d"),
            "--user",
            "u:p",
            "--pods",
            "simulated",
            "--port",
            "0",
            "--tle",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "bad checksum" in proc.stderr


def test_the_command_serves_a_given_tle_and_prints_the_ground_address(tmp_path: Path) -> None:
    tle = tmp_path / "iss.tle"
    tle.write_text(ISS)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dphi_em_emulator",
            "--data-dir",
            str(tmp_path / "d"),
            "--user",
            "u:p",
            "--pods",
            "simulated",
            "--port",
            "0",
            "--telemetry-port",
            "0",
            "--tle",
            str(tle),
            "--telemetry-seed",
            "4",
            "--telemetry-history",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = None
        for line in proc.stdout:
            if line.startswith("telemetry (ground, emulator only): "):
                url = line.split(": ", 1)[1].split(";")[0].strip()
                break
        assert url is not None
        served = httpx.get(f"{url}/api/telemetry/tle").json()["data"]
        assert served["name"] == "ISS (ZARYA)"
        assert served["line1"] == ISS.splitlines()[1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("images", [0, 3])
def test_images_are_real_pngs_and_unknown_names_404(tmp_path: Path, images: int) -> None:
    config = EmulatorConfig(
        data_dir=tmp_path, users={"u": "p"}, telemetry_history=60.0, telemetry_images=images
    )
    with EmulatorServer(config) as server:
        assert server.emulator.telemetry is not None
        url = server.emulator.telemetry.ground_url
        names = httpx.get(f"{url}/api/images/list").json()["data"]
        assert len(names) == images
        for name in names:
            answer = httpx.post(f"{url}/api/images", json={"images": [name]})
            assert answer.headers["content-type"] == "image/png"
            with Image.open(io.BytesIO(answer.content)) as png:
                assert png.format == "PNG"
                assert png.size[0] == png.size[1] > 100
        missing = httpx.post(f"{url}/api/images", json={"images": ["x.png"]})
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/plain")
        assert missing.text == "Image not found: x.png"
        bad = httpx.post(f"{url}/api/images", json={"limit": -1})
        assert bad.status_code == 400
        assert bad.headers["content-type"].startswith("text/plain")


def test_images_follow_the_seed_across_restarts_of_one_data_dir(tmp_path: Path) -> None:
    def first_png(seed: int) -> bytes:
        config = EmulatorConfig(
            data_dir=tmp_path,
            users={"u": "p"},
            telemetry_history=60.0,
            telemetry_images=1,
            telemetry_seed=seed,
        )
        with EmulatorServer(config) as server:
            assert server.emulator.telemetry is not None
            url = server.emulator.telemetry.ground_url
            return httpx.post(f"{url}/api/images", json={"images": ["20230606.png"]}).content

    one = first_png(1)
    assert first_png(2) != one
    assert first_png(1) == one


@pytest.mark.parametrize("fallback", [True, False])
def test_a_taken_ground_port_is_another_one_only_for_the_default(
    tmp_path: Path, fallback: bool
) -> None:
    """Two emulators on one machine: the command's default ground port (8100) taken by the
    first must not stop the second (it serves on a free port and says which); a port the
    user asked for is that port or an error."""
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        config = EmulatorConfig(
            data_dir=tmp_path,
            users={"u": "p"},
            telemetry_port=taken,
            telemetry_port_fallback=fallback,
            telemetry_history=60.0,
            telemetry_images=0,
        )
        if not fallback:
            with pytest.raises(OSError, match="in use"):
                EmulatorServer(config).start()
            return
        with EmulatorServer(config) as server:
            service = server.emulator.telemetry
            assert service is not None
            assert not service.ground_url.endswith(f":{taken}")
            assert f"(port {taken} is taken)" in service.describe()
            assert httpx.get(f"{service.ground_url}/health").status_code == 200
