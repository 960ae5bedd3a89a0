"""openapi/tlm-api.yaml, run against the emulator's telemetry service with Schemathesis.

Every operation of our telemetry spec gets a bounded number of generated requests over a real
socket (the service's emulator-only ground address) and must pass Schemathesis' standard
checks: no 5xx, documented status codes and content types, bodies matching their schemas,
schema-valid requests accepted and invalid ones refused. Exception, explained where it is made:
a name the camera lacks (a 404 the schema can't foresee).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from dphi_em_emulator import EmulatorConfig, EmulatorServer
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "tlm-api.yaml"
schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture(scope="module")
def telemetry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = EmulatorConfig(
        data_dir=tmp_path_factory.mktemp("tlm-contract"),
        users={"client1": "secret"},
        telemetry_history=600.0,
        telemetry_images=12,
    )
    with EmulatorServer(config) as server:
        assert server.emulator.telemetry is not None
        yield server.emulator.telemetry.ground_url


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_telemetry_service_follows_the_spec(case, telemetry_url: str) -> None:
    response = case.call(base_url=telemetry_url)
    excluded = []
    if case.path == "/api/images" and response.status_code == 404:
        # The schema can't say which names exist; an unknown one is the documented 404.
        assert response.text.startswith("Image not found: ")
        excluded.append(positive_data_acceptance)
    case.validate_response(response, excluded_checks=excluded)
