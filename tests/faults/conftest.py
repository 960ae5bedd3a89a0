"""The fault-injection suite's fixture: a check that no secret reaches the `dphi_em` logger
in any fault test (the killable emulator process is `emulator_process`, tests/conftest.py).

Fixtures:
    no_secret_in_client_logs (autouse): captures the `dphi_em` logger at DEBUG for the whole
        test and fails it when a password of this suite or a JWT-shaped token appears in any
        record (message, arguments or traceback).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from faults_support import FAULT_PASSWORD
from support.clients import make_client  # noqa: F401 (the fixture, for every fault test)
from support.server import HOSTILE_PASSWORD

#: A JWT: base64url of '{"' twice, dot-separated.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")


def _client_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    records = caplog.get_records("setup") + caplog.get_records("call")
    return [r for r in records if r.name == "dphi_em" or r.name.startswith("dphi_em.")]


@pytest.fixture(autouse=True)
def no_secret_in_client_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG, logger="dphi_em")
    yield
    text = "\n".join(caplog.handler.format(record) for record in _client_records(caplog))
    for secret in (FAULT_PASSWORD, HOSTILE_PASSWORD):
        assert secret not in text, "a password reached the dphi_em logger"
    token = _JWT.search(text)
    assert token is None, f"a token reached the dphi_em logger: {token.group()[:12]}..."
