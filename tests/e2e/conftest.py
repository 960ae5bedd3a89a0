"""End-to-end fixtures: each facade test runs with `EMClient` and with `AsyncEMClient`."""

from __future__ import annotations

import pytest
from facade_helpers import CLIENT_KINDS


@pytest.fixture(params=CLIENT_KINDS)
def client_kind(request: pytest.FixtureRequest) -> str:
    """ "sync" (`EMClient`) or "async" (`AsyncEMClient` through `AsyncView`)."""
    kind: str = request.param
    return kind
