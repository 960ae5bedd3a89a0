"""`dphi-em telemetry latest | tle | images` against the emulator's ground address."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from dphi_em.cli import app
from dphi_em_emulator import EmulatorConfig, EmulatorServer


@pytest.fixture(scope="module")
def ground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        data_dir=tmp_path_factory.mktemp("cli-tlm"),
        users={"client1": "secret"},
        telemetry_history=600.0,
        telemetry_images=6,
    )
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture
def cli(ground: EmulatorServer) -> Any:
    assert ground.emulator.telemetry is not None
    env = {"DPHI_TLM_URL": ground.emulator.telemetry.ground_url}

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, ["telemetry", *args], env=env, catch_exceptions=False)

    return run


def test_latest_shows_each_type(cli: Any) -> None:
    result = cli("latest")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines] == [
        "complete",
        "position",
        "attitude",
        "power",
        "temperature",
    ]
    assert "km/s" in lines[0]
    records = json.loads(cli("latest", "--type", "position", "--json").stdout)
    assert len(records) == 1
    assert set(records[0]["position"]) == {"x", "y", "z"}


def test_tle_prints_the_two_lines(cli: Any, ground: EmulatorServer) -> None:
    result = cli("tle")
    assert result.exit_code == 0, result.output
    assert ground.emulator.telemetry is not None
    orbit = ground.emulator.telemetry.orbit
    assert result.stdout.splitlines() == [str(orbit.name), orbit.line1, orbit.line2]


def test_images_lists_and_downloads(cli: Any, tmp_path: Path) -> None:
    listed = cli("images").stdout.split()
    assert len(listed) == 6
    assert cli("images", "--limit", "2", "--json").stdout.count(".png") == 2
    result = cli("images", "--download", str(tmp_path / "shots"), "--limit", "3")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == listed[:3]
    result = cli("images", listed[4], "--download", str(tmp_path / "one"))
    assert (tmp_path / "one" / listed[4]).read_bytes()[:4] == b"\x89PNG"


def test_failures_are_one_line(cli: Any, tmp_path: Path) -> None:
    result = cli("images", "missing.png", "--download", str(tmp_path / "x"))
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: Image not found: missing.png [HTTP 404]"
    result = cli("images", "../up.png", "--download", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert "plain file name" in result.stderr
    nowhere = CliRunner().invoke(
        app, ["telemetry", "tle", "--tlm-url", "http://127.0.0.1:9"], catch_exceptions=False
    )
    assert nowhere.exit_code == 8
