"""What the client says about itself: retries, gate waits and token renewals on the `dphi_em`
logger (no secrets), shown by `dphi-em --debug`."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from click.testing import CliRunner
from dphi_em.cli import app
from facade_helpers import client_for


def test_debug_shows_retries_and_logins_without_secrets(emulator: Any) -> None:
    emulator.force_locked(2)
    env = {
        "DPHI_EM_URL": emulator.url,
        "DPHI_EM_USERNAME": emulator.username,
        "DPHI_EM_PASSWORD": emulator.password,
    }
    result = CliRunner().invoke(app, ["--debug", "nodes"], env=env)
    assert result.exit_code == 0, result.output
    assert "423 LOCKED, retrying in" in result.stderr
    assert f"logged in as '{emulator.username}'" in result.stderr
    assert emulator.password not in result.stderr


def test_retries_gate_waits_and_refreshes_are_logged(
    make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_emulator(access_lifetime=2.0)
    caplog.set_level(logging.DEBUG, logger="dphi_em")
    with client_for(server) as em:
        em.get_token()
        server.force_locked(1)
        em.files_list()
        # a streamed answer holds the one-request gate: another thread's call waits for it
        with em.http_client.stream("GET", "em/nodes/status") as held:
            waiter = threading.Thread(target=em.files_list)
            waiter.start()
            for _ in range(500):
                if any("waits for the request in flight" in r.getMessage() for r in caplog.records):
                    break
                threading.Event().wait(0.01)
            held.read()
        waiter.join()
        threading.Event().wait(1.2)  # past the renewal point of a 2-second token
        em.files_list()
    messages = [r.getMessage() for r in caplog.records if r.name == "dphi_em"]
    assert any("423 LOCKED, retrying" in m for m in messages)
    assert any("refreshed" in m for m in messages)
    assert any("waits for the request in flight" in m for m in messages)
    retry = next(r for r in caplog.records if "retrying" in r.getMessage())
    assert retry.retry_attempt == 2  # type: ignore[attr-defined]  # the attempt to come
    token_like = [m for m in messages if "eyJ" in m]
    assert token_like == []
