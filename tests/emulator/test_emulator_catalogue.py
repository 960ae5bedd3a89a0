"""The onboard registry's catalogue, without a Docker engine: `images list`, refusals naming the
closest entries, `--catalogue FILE`, `--any-image`, and the simulated engine's builds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def _images(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "dphi_em_emulator", "images", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_images_list_shows_all_135_entries_without_an_engine() -> None:
    listing = _images("list", "--json", env=NO_ENGINE)
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)["images"]
    assert len(rows) == 135
    assert {"name": "fpga.dphi.space:5000/python:3.12-alpine", "version": ""}.items() <= rows[
        [row["name"] for row in rows].index("fpga.dphi.space:5000/python:3.12-alpine")
    ].items()
    assert all(row["has"] == "nothing" and "no Docker engine" in row["detail"] for row in rows)
    text = _images("list", env=NO_ENGINE)
    assert text.stdout.startswith("135 images in the onboard registry")
    assert "fpga.dphi.space:5000/busybox:latest (1.37.0)" in text.stdout


def test_prepare_refuses_a_name_outside_the_catalogue_naming_the_closest() -> None:
    answer = _images("prepare", "python:3.13-slim", env=NO_ENGINE)
    assert answer.returncode == 1
    assert (
        "python:3.13-slim: not in the onboard registry; closest: python:3.12-slim, "
        "python:3.11-slim" in answer.stderr
    )


def test_a_catalogue_file_replaces_the_vendors_list(tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.tsv"
    catalogue.write_text("name\ttag\tversion_when_listed\npython\t3.13-slim\t3.13.1\n")
    listing = _images("list", "--json", "--catalogue", str(catalogue), env=NO_ENGINE)
    assert [row["name"] for row in json.loads(listing.stdout)["images"]] == [
        "fpga.dphi.space:5000/python:3.13-slim"
    ]
    bad = tmp_path / "bad.tsv"
    bad.write_text("python 3.13\n")
    refused = _images("list", "--catalogue", str(bad), env=NO_ENGINE)
    assert refused.returncode == 2
    assert "line 1: expected name<TAB>tag" in refused.stderr


def _build(server, dockerfile: bytes) -> httpx.Response:
    token = httpx.post(f"{server.url}auth/", data={"username": "client1", "password": "secret"})
    headers = {"Authorization": f"Bearer {token.json()['access']}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as em:
        up = em.post("em/files/uplink", files=[("files", ("Dockerfile", dockerfile))])
        assert up.status_code == 200, up.text
        return em.post(
            "em/pod/image/build",
            json={"dockerfile": "Dockerfile", "context": ".", "image": "x", "pod_name": ""},
        )


def test_a_simulated_build_from_outside_the_catalogue_fails(make_emulator, tmp_path) -> None:
    server = make_emulator()
    refused = _build(server, b"FROM fpga.dphi.space:5000/python:3.13-slim\nRUN true\n")
    assert refused.status_code == 400
    assert refused.json()["error"] == "BUILD_FAILED"
    assert "not in the onboard registry; closest: python:3.12-slim, python:3.11-slim" in "".join(
        refused.json()["log_tail"]
    )
    # the bare name is the catalogue's too (the registry as the engine's mirror)
    assert _build(server, b"FROM python:3.12-alpine\n").status_code == 200
    # --any-image turns the check off
    anything = make_emulator(any_image=True)
    assert _build(anything, b"FROM python:3.13-slim\n").status_code == 200


def test_the_cli_points_at_the_base_images(make_emulator) -> None:
    from click.testing import CliRunner
    from dphi_em.cli import app

    server = make_emulator()
    env = {"DPHI_EM_URL": server.url, "DPHI_EM_USERNAME": "client2", "DPHI_EM_PASSWORD": "secret2"}
    empty = CliRunner().invoke(app, ["image", "ls"], env=env, catch_exceptions=False)
    assert empty.exit_code == 0
    assert "(no images)" in empty.stdout
    assert "'dphi-em emulator images list' shows them" in empty.stdout
    listing = CliRunner().invoke(
        app, ["emulator", "images", "list", "--json"], env=NO_ENGINE, catch_exceptions=False
    )
    assert listing.exit_code == 0, listing.output
    assert len(json.loads(listing.stdout)["images"]) == 135


def test_the_start_up_banner_points_at_the_base_images(tmp_path) -> None:
    import os
    import signal

    command = [sys.executable, "-m", "dphi_em_emulator", "--port", "0", "--pods", "simulated"]
    command += ["--data-dir", str(tmp_path / "data"), "--user", "client1:secret"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **NO_ENGINE},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(6)]
        # answered once uvicorn serves (and handles Ctrl-C)
        answer = httpx.post(f"{lines[0].split()[-1]}auth/", data={"username": "client1"})
        assert answer.status_code == 400
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        process.stdout.close()
    hint = [line for line in lines if line.startswith("base images: the onboard registry's")]
    assert hint, lines
    assert "dphi-em emulator images list" in hint[0]
    assert "python -m dphi_em_emulator images list" in hint[0]


@pytest.mark.parametrize("command", ["list", "prepare"])
def test_the_cli_passes_help_to_the_images_command(command: str) -> None:
    """`dphi-em emulator images prepare --help` is the images command's help, not ours."""
    from click.testing import CliRunner
    from dphi_em.cli import app

    shown = CliRunner().invoke(
        app, ["emulator", "images", command, "--help"], env=NO_ENGINE, catch_exceptions=False
    )
    assert shown.exit_code == 0, shown.output
    assert f"images {command} [-h]" in shown.stdout
    assert "--standin-record FILE" in shown.stdout
    assert "Start a local EM emulator" not in shown.stdout
