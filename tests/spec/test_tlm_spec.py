"""The telemetry service's spec (openapi/tlm-api.yaml, ours) -> generated/tlm_api_client."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi" / "tlm-api.yaml"
BUILD = ROOT / "openapi" / "build.py"

#: operationId: (tag, method, path), every endpoint of telemetry-contract.md.
OPERATIONS = {
    "health": ("telemetry", "get", "/health"),
    "get_telemetry": ("telemetry", "get", "/api/telemetry"),
    "get_latest": ("telemetry", "get", "/api/telemetry/latest"),
    "get_types": ("telemetry", "get", "/api/telemetry/types"),
    "get_stats": ("telemetry", "get", "/api/telemetry/stats"),
    "get_tle": ("telemetry", "get", "/api/telemetry/tle"),
    "list_images": ("images", "get", "/api/images/list"),
    "get_images": ("images", "post", "/api/images"),
}


def spec() -> dict:
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))


def test_the_spec_is_openapi_3_1_and_valid() -> None:
    from openapi_spec_validator import validate

    doc = spec()
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    assert doc["servers"][0]["url"] == "http://satellite-telemetry.dphi-tm"


@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
def test_every_contract_endpoint_is_generated_with_its_path(op_id: str) -> None:
    tag, method, path = OPERATIONS[op_id]
    assert spec()["paths"][path][method]["operationId"] == op_id
    module = importlib.import_module(f"tlm_api_client.api.{tag}.{op_id}")
    source = inspect.getsource(module._get_kwargs)
    assert f'"method": "{method}"' in source
    assert f'"url": "{path}"' in source


def test_records_take_the_contract_s_query() -> None:
    from tlm_api_client.api.telemetry import get_telemetry

    params = set(inspect.signature(get_telemetry.sync_detailed).parameters) - {"client"}
    assert params == {"start_time", "end_time", "data_type", "limit"}


def test_images_answers_are_binary_and_failures_text() -> None:
    from tlm_api_client.api.images import get_images

    answers = spec()["paths"]["/api/images"]["post"]["responses"]
    assert set(answers["200"]["content"]) == {"image/png", "application/zip"}
    assert set(answers["404"]["content"]) == {"text/plain"}
    kwargs = get_images._get_kwargs()
    assert kwargs == {"method": "post", "url": "/api/images", "headers": kwargs["headers"]}


def test_models_read_a_contract_record() -> None:
    from tlm_api_client.models import RecordsResponse, TelemetryData

    record = {
        "id": "8f0c1c64-5a8e-4e43-8d5c-8f0f3f0b2a10",
        "timestamp": "2026-06-01T12:00:00Z",
        "original_timestamp": 1780315200.0,
        "data_type": "complete",
        "data": {
            "timestamp": 1780315200.0,
            "position": {"x": 6890.0, "y": 0.0, "z": 0.0},
            "velocity": {"x": 0.0, "y": 7.6, "z": 1.0},
            "attitude": None,
            "power": None,
            "temperature": {"sensor0": 21.5},
            "tle": None,
        },
        "created_at": "2026-06-01T12:00:01Z",
    }
    wrapped = {"success": True, "data": [record], "count": 1, "error": None}
    parsed = RecordsResponse.from_dict(wrapped)
    assert parsed.count == 1
    data = TelemetryData.from_dict(parsed.data[0].data.to_dict())
    assert data.position.x == 6890.0
    assert parsed.to_dict()["data"][0]["data"]["position"] == {"x": 6890.0, "y": 0.0, "z": 0.0}


def test_generated_code_runs_on_python_3_10() -> None:
    import tlm_api_client

    package = Path(tlm_api_client.__file__).parent
    assert (package / "py.typed").exists()
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 15
    for source in sources:
        ast.parse(source.read_text(encoding="utf-8"), feature_version=(3, 10))


def test_a_broken_telemetry_spec_fails_the_build_and_writes_nothing(tmp_path: Path) -> None:
    doc = spec()
    doc["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Nowhere"
    }
    broken = tmp_path / "tlm-api.yaml"
    broken.write_text(yaml.safe_dump(doc), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(BUILD), "--tlm", str(broken), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the telemetry spec" in proc.stderr
    assert "invalid" in proc.stderr
    assert not (tmp_path / "out").exists()
