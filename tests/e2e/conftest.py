"""End-to-end fixtures: the suite runs against the emulator in each of its `--api` modes, and
each facade test with `EMClient` and with `AsyncEMClient`."""

from __future__ import annotations

import pytest
from facade_helpers import CLIENT_KINDS


@pytest.fixture(params=CLIENT_KINDS)
def client_kind(request: pytest.FixtureRequest) -> str:
    """ "sync" (`EMClient`) or "async" (`AsyncEMClient` through `AsyncView`)."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="session", params=["both", "2025-11", "2026-01"])
def api_mode(request: pytest.FixtureRequest) -> str:
    """The emulator serves both API revisions, or one strictly (see the emulator README)."""
    mode: str = request.param
    return mode


@pytest.fixture
def read_method(api_mode: str) -> str:
    """The method of a read-only call in this mode (the January 2026 revision takes POST)."""
    return "POST" if api_mode == "2026-01" else "GET"
