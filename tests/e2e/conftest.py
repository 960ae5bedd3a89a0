"""End-to-end fixtures: each facade test runs with `EMClient` and with `AsyncEMClient`; the
emulator serves both API revisions (`--api both`), and a test whose behaviour depends on the
revision the server speaks runs against each of its `--api` modes.

A test runs in the three modes when it takes `api_mode` or `read_method` itself, or is marked
`@pytest.mark.api_modes`; the session emulator is then one per mode, shared by those tests.
Every other test meets the default mode only (the client's behaviour there does not depend on
it; `test_revisions.py` proves each mode-dependent behaviour against fresh emulators).
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from facade_helpers import CLIENT_KINDS
from support.cli import Runner, runner_for

#: The emulator's `--api` modes: both revisions, or one strictly (see the emulator README).
API_MODES = ["both", "2025-11", "2026-01"]


def _depends_on_mode(metafunc: pytest.Metafunc) -> bool:
    if metafunc.definition.get_closest_marker("api_modes") is not None:
        return True
    own = inspect.signature(metafunc.function).parameters
    return "api_mode" in own or "read_method" in own


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "api_mode" in metafunc.fixturenames and _depends_on_mode(metafunc):
        metafunc.parametrize("api_mode", API_MODES, scope="session")


@pytest.fixture(params=CLIENT_KINDS)
def client_kind(request: pytest.FixtureRequest) -> str:
    """ "sync" (`EMClient`) or "async" (`AsyncEMClient` through `AsyncView`)."""
    kind: str = request.param
    return kind


@pytest.fixture
def read_method(api_mode: str) -> str:
    """The method of a read-only call in this mode (the January 2026 revision takes POST)."""
    return "POST" if api_mode == "2026-01" else "GET"


@pytest.fixture
def cli(emulator: Any) -> Runner:
    """`cli(*args, input=None, extra_env=None)`: `dphi-em ARGS` in-process against the
    session emulator, as its first user."""
    return runner_for(emulator.url, emulator.username, emulator.password)
