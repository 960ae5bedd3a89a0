"""The telemetry service from real pods: `satellite-telemetry.dphi-tm`, ports 80 and 8000,
with and without a namespace, never over a bridge.

busybox `wget` pods ask every endpoint; a Python pod runs the vendor-style fisheye example
(standard library only) and one written with `TelemetryClient`. Every `position` of a served
record is checked against an independent SGP4 propagation of the served TLE.
"""

from __future__ import annotations

import io
import math
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sgp4.api import Satrec, jday

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
ONBOARD = "fpga.dphi.space:5000/busybox:1.36"
#: The onboard registry's Python image, stood in offline (`images prepare`, once per engine).
PYTHON_IMAGE = "python:3.12-alpine"
HOST = "satellite-telemetry.dphi-tm"
ENDPOINTS = {
    "health": "/health",
    "latest": "/api/telemetry/latest",
    "types": "/api/telemetry/types",
    "stats": "/api/telemetry/stats",
    "tle": "/api/telemetry/tle",
    "list": "/api/images/list",
    "window": "/api/telemetry?data_type=complete&limit=40",
    "positions": "/api/telemetry?datatype=position&limit=20",
}


@pytest.fixture(scope="session")
def python_image(standin: Any) -> str:
    """The onboard registry's `python:3.12-alpine`, its stand-in made once per engine through
    the public `images prepare` (for the architecture the emulator picks: arm64 where the
    machine runs it)."""
    standin(PYTHON_IMAGE)
    return PYTHON_IMAGE


def _wget_script(port: int | None) -> str:
    host = HOST if port is None else f"{HOST}:{port}"
    lines = ["rc=0"]
    for name, path in ENDPOINTS.items():
        lines.append(f"wget -q -O /data/{name}.json 'http://{host}{path}' || rc=1")
    post = "wget -q --header 'Content-Type: application/json' --post-data"
    lines += [
        f'{post} \'{{"images": ["20230606.png"]}}\' -O /data/one.png http://{host}/api/images'
        " || rc=1",
        f"{post} '{{\"limit\": 3}}' -O /data/three.zip http://{host}/api/images || rc=1",
        f'{post} \'{{"images": ["nope.png"]}}\' -O /data/missing http://{host}/api/images'
        " 2>/data/missing.err; echo $? > /data/missing.rc",
        f"wget -q -O /data/long.json http://{HOST}.svc.cluster.local:8000/health || rc=1",
        "exit $rc",
    ]
    return "\n".join(lines)


def _independent_km(tle: dict[str, str], record: dict[str, Any]) -> float:
    """How far a record's position is from SGP4's for the served TLE at its timestamp."""
    sat = Satrec.twoline2rv(tle["line1"], tle["line2"])
    when = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
    jd, fr = jday(
        when.year,
        when.month,
        when.day,
        when.hour,
        when.minute,
        when.second + when.microsecond / 1e6,
    )
    error, position, _ = sat.sgp4(jd, fr)
    assert error == 0
    got = record["data"]["position"]
    return math.dist(position, (got["x"], got["y"], got["z"]))


def _check_answers(fetch: Any) -> None:
    def load(name: str) -> Any:
        answer = fetch(f"{name}.json")
        assert answer.status_code == 200, (name, answer.text)
        body = answer.json()
        assert body["success"] is True, (name, body)
        return body["data"]

    assert load("health")["status"] == "healthy"
    assert load("types") == ["complete", "position", "attitude", "power", "temperature"]
    assert load("stats")["total_records"] > 0
    assert len(load("list")) > 3
    assert load("latest")[0]["data_type"] == "complete"
    tle = load("tle")
    window = load("window")
    assert len(window) == 40
    assert {r["data_type"] for r in window} == {"complete"}
    positions = load("positions")
    assert {r["data_type"] for r in positions} == {"position"}
    for record in window + positions + load("latest")[:2]:
        assert _independent_km(tle, record) < 1.0, record["timestamp"]
        quaternion = record["data"].get("attitude", {}).get("quaternion")
        if quaternion:
            assert abs(math.hypot(*quaternion.values()) - 1) < 1e-9
    assert load("long")["status"] == "healthy"
    png = fetch("one.png").content
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with zipfile.ZipFile(io.BytesIO(fetch("three.zip").content)) as archive:
        infos = archive.infolist()
        assert len(infos) == 3
        assert all(info.compress_type == zipfile.ZIP_STORED for info in infos)
        assert archive.read(infos[0]) == png
    assert fetch("missing.rc").text.strip() != "0"
    assert "404" in fetch("missing.err").text


@pytest.mark.parametrize("port", [None, 8000])
def test_busybox_pods_reach_every_endpoint_with_and_without_a_namespace(
    make_docker_em, docker_http, docker_client, docker_pod: str, port: int | None
) -> None:
    server_em = make_docker_em(api="2025-11", telemetry_history=1800.0, telemetry_images=8)
    em = docker_http(server_em)
    lone = docker_pod + "-lone"
    em.run(ONBOARD, lone, max_duration=30, command="/bin/sh -c", args=[_wget_script(port)])
    assert em.wait(lone)["exitCode"] == 0, em.get(
        "em/emulator/pod/log", params={"pod_name": lone}
    ).text
    assert em.status(lone)["emulator"]["network"] == "none"
    _check_answers(lambda path: em.fetch(path, lone))

    # a namespace whose own server pod holds port 80: the service keeps 8000 there
    assert em.post("em/pod/namespace/create").status_code == 200
    server, client = docker_pod + "-server", docker_pod + "-client"
    em.uplink({"index.html": b"own server\n"}, pod=server)
    em.run(
        ONBOARD,
        server,
        max_duration=30,
        namespace=True,
        ports=[80],
        command="httpd -f -p 80 -h /data",
    )
    em.wait(server, until="running")
    script = _wget_script(8000) + "\n"
    script = script.replace("exit $rc", "")
    script += (
        f"for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O /data/own client1-{server}:80/ && break;"
        " sleep 0.3; done\nexit $rc"
    )
    em.run(ONBOARD, client, namespace=True, command="/bin/sh -c", args=[script])
    assert em.wait(client)["exitCode"] == 0, em.get(
        "em/emulator/pod/log", params={"pod_name": client}
    ).text
    _check_answers(lambda path: em.fetch(path, client))
    assert em.fetch("own", client).content == b"own server\n"
    warnings = em.status(client)["emulator"]["warnings"]
    assert any("port 80" in w for w in warnings), warnings
    em.run(ONBOARD, server, command="true")
    assert em.wait(server)["exitCode"] == 0
    # no Docker network was made, and no container of the instance has a bridge address
    # (the list call's own records: inspecting each one races other tests' removals)
    for container in docker_client.api.containers(all=True):
        networks = (container.get("NetworkSettings") or {}).get("Networks") or {}
        for name, settings in networks.items():
            address = settings.get("IPAddress") or ""
            assert not address or address.startswith("127."), (container["Names"], name)


def _lib_zip() -> bytes:
    """dphi_em and its runtime dependencies (pure Python), as a zip to put on PYTHONPATH."""
    import anyio
    import attrs
    import certifi
    import dateutil
    import dphi_em
    import h11
    import httpcore
    import httpx
    import idna
    import six
    import sniffio
    import tlm_api_client

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for module in (
            dphi_em,
            tlm_api_client,
            httpx,
            httpcore,
            anyio,
            sniffio,
            idna,
            h11,
            certifi,
            attrs,
            dateutil,
        ):
            root = Path(module.__file__).parent
            for path in root.rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, f"{root.name}/{path.relative_to(root).as_posix()}")
        import attr

        attr_root = Path(attr.__file__).parent
        for path in attr_root.rglob("*.py"):
            archive.write(path, f"attr/{path.relative_to(attr_root).as_posix()}")
        archive.write(six.__file__, "six.py")
    return out.getvalue()


@pytest.fixture
def python_em(make_docker_em, python_image: str):
    from dphi_em_emulator._config import DEFAULT_PUBLIC_IMAGES

    return make_docker_em(
        api="2026-01",
        public_images=(*DEFAULT_PUBLIC_IMAGES, python_image),
        telemetry_history=1800.0,
        telemetry_images=12,
        pod_memory=512 * 1024 * 1024,
    )


def test_the_fisheye_example_runs_unmodified_in_a_python_pod(
    python_em, docker_http, docker_pod: str, python_image: str
) -> None:
    em = docker_http(python_em)
    script = (ROOT / "examples" / "telemetry" / "fisheye_api.py").read_bytes()
    em.uplink({"fisheye_api.py": script}, pod=docker_pod)
    em.run(
        python_image,
        docker_pod,
        max_duration=60,
        command="python3 /data/fisheye_api.py",
        args=["4"],
    )
    assert em.wait(docker_pod, timeout=300)["exitCode"] == 0, em.get(
        "em/emulator/pod/log", params={"pod_name": docker_pod}
    ).text
    report = em.fetch("fisheye/report.json", docker_pod).json()
    assert report["listed"] == 12
    assert report["content_type"] == "application/zip"
    assert [i["name"] for i in report["images"]] == report["asked"]
    for image in report["images"]:
        assert image["stored"] is True
        assert image["png"]["width"] == image["png"]["height"] > 0


def test_a_pod_written_with_telemetry_client(
    python_em, docker_http, docker_pod: str, python_image: str
) -> None:
    em = docker_http(python_em)
    script = (ROOT / "examples" / "telemetry" / "telemetry_pod.py").read_bytes()
    em.uplink({"telemetry_pod.py": script, "lib.zip": _lib_zip()}, pod=docker_pod)
    em.run(
        python_image,
        docker_pod,
        max_duration=60,
        command="python3 /data/telemetry_pod.py",
        envs={"PYTHONPATH": "/data/lib.zip"},
    )
    assert em.wait(docker_pod, timeout=300)["exitCode"] == 0, em.get(
        "em/emulator/pod/log", params={"pod_name": docker_pod}
    ).text
    summary = em.fetch("summary.json", docker_pod).json()
    assert summary["health"] == "healthy"
    assert summary["types"] == ["complete", "position", "attitude", "power", "temperature"]
    assert summary["total_records"] > 0
    assert summary["positions_last_10_min"] == 61  # every 10 s, both ends included
    x, y, z = summary["position_km"]
    served = {"line1": summary["tle"][0], "line2": summary["tle"][1]}
    record = {"timestamp": summary["timestamp"], "data": {"position": {"x": x, "y": y, "z": z}}}
    assert _independent_km(served, record) < 1.0
    assert 6700 < summary["radius_km"] < 7100
    assert 7.0 < summary["speed_km_s"] < 8.0
    assert len(summary["images"]) == 3
    for name in summary["images"]:
        assert em.fetch(f"images/{name}", docker_pod).content[:4] == b"\x89PNG"
    tle = python_em.emulator.telemetry.orbit
    assert summary["tle"] == [tle.line1, tle.line2]


def test_nothing_of_the_service_is_left_after_the_emulator_stops(
    make_docker_em, docker_http, docker_pod: str, docker_leftovers
) -> None:
    server_em = make_docker_em(api="2025-11", telemetry_history=60.0, telemetry_images=2)
    em = docker_http(server_em)
    em.run(
        ONBOARD,
        docker_pod,
        max_duration=1,
        command="wget -q -O /data/h.json http://satellite-telemetry.dphi-tm/health",
    )
    assert em.wait(docker_pod)["exitCode"] == 0, em.console(docker_pod)
    telemetry = server_em.emulator.telemetry
    instance = server_em.emulator.engine.instance
    assert telemetry is not None
    assert telemetry.served_namespaces() == set()  # the pod's own namespace went with it
    server_em.stop()
    assert docker_leftovers(instance) == []
