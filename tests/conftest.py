"""Shared fixtures: a real emulator over a real socket, and a clean environment.

Fixtures:
    clean_environment (autouse): removes every `DPHI_EM_*` variable and points `HOME` and
        `XDG_CONFIG_HOME` at a temporary folder, so no test reads or writes a real config or
        token file.
    emulator (session): an `EmulatorServer` on 127.0.0.1 and a free port, with a temporary data
        dir, users `client1:secret` and `client2:secret2`, pods living 60 times faster than the
        wall clock (a pod minute is a second) and a 0.2 s start delay; the 423 lock is on, as on
        the real EM. Attributes: `url` (`http://127.0.0.1:PORT/`), `username`, `password`
        (client1's), `users`, `config`, `force_locked(n)`, `set_lock_enabled(bool)`. Shared by
        the whole session: use your own `pod_name` (see `pod_name`) or unique file names.
        When `DPHI_EM_TEST_URL` is set (with `DPHI_EM_TEST_USERNAME`, `DPHI_EM_TEST_PASSWORD`),
        it is an `ExternalEM` pointing there instead; tests that need the local emulator's
        internals (locks, data dir) skip.
    make_emulator (function): a factory `make_emulator(**overrides) -> EmulatorServer` for a
        fresh, started emulator with its own config (any `EmulatorConfig` field; `data_dir`
        defaults to a new temporary folder, so pass the same one to "restart"). Stopped at the
        end of the test.
    emulator_process (function): a factory `emulator_process(*extra_args, users=SESSION_USERS)
        -> EmulatorProcess`, the real `python -m dphi_em_emulator` command in its own process
        (`support.emulators`), which a test can SIGKILL and start again on the same port and
        data dir. Killed at the end of the test.
    pod_name (function): a fresh, valid pod name (so a fresh volume) for the test.
    em_http (function): a factory `em_http(server=None, username=None, password=None)` ->
        `httpx.Client` with `base_url=server.url` and a valid `Authorization: Bearer` header
        (default: the session emulator, its first user). Closed at the end of the test.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dphi_em_emulator import EmulatorConfig, EmulatorServer
from support.emulators import EmulatorProcess

# Read once at import: the autouse fixture below clears DPHI_EM_* for each test.
_TEST_URL = os.environ.get("DPHI_EM_TEST_URL")
_TEST_USERNAME = os.environ.get("DPHI_EM_TEST_USERNAME", "client1")
_TEST_PASSWORD = os.environ.get("DPHI_EM_TEST_PASSWORD", "")

SESSION_USERS = {"client1": "secret", "client2": "secret2"}


@dataclasses.dataclass
class ExternalEM:
    """An EM not started by the tests (`DPHI_EM_TEST_URL`): same face, no internals."""

    url: str
    username: str
    password: str

    @property
    def users(self) -> dict[str, str]:
        return {self.username: self.password}

    @property
    def config(self) -> Any:
        pytest.skip("needs the local emulator's configuration")

    def force_locked(self, count: int) -> None:
        pytest.skip("needs the local emulator (forced 423)")

    def set_lock_enabled(self, enabled: bool) -> None:
        pytest.skip("needs the local emulator (lock switch)")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test` runs `-n 3 --dist loadgroup`), the tests that use the
    Docker engine run on one worker, one after the other: they share the engine and, per
    worker, a session emulator on it (`tests/emulator/conftest.py`); images built by every
    emulator on an engine share their `<user>-<image>` names.

    The other tests run slowest first (`slow`: the large transfers and the demo), so that no
    long test starts last while the other workers idle."""
    for item in items:
        if item.get_closest_marker("docker") is not None:
            item.add_marker(pytest.mark.xdist_group("engine"))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under `--dist loadgroup`, a grouped test whose node id lacks its "@group" suffix errors:
    pytest 9.2's structured node ids ignore the suffix pytest-xdist 3.8 writes
    (pytest-xdist#1386), and the engine tests would run on both workers at once unsaid."""
    nodeid = item.nodeid
    loadgroup = getattr(item.config.option, "loadgroup", False)
    grouped = nodeid.rfind("@") > nodeid.rfind("]")  # as xdist's loadgroup scheduler reads it
    if loadgroup and not grouped and item.get_closest_marker("xdist_group") is not None:
        pytest.fail(
            f"--dist loadgroup does not group {nodeid}: no '@group' suffix"
            " (pytest >= 9.2 with pytest-xdist 3.8: pytest-xdist#1386; see pyproject.toml)",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("DPHI_EM_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))


@pytest.fixture(scope="session")
def api_mode() -> str:
    """The session emulator's `--api` mode (tests/e2e runs every test in all three)."""
    return "both"


@pytest.fixture(scope="session")
def emulator(
    tmp_path_factory: pytest.TempPathFactory, api_mode: str
) -> Iterator[EmulatorServer | ExternalEM]:
    if _TEST_URL:
        url = _TEST_URL if _TEST_URL.endswith("/") else _TEST_URL + "/"
        yield ExternalEM(url, _TEST_USERNAME, _TEST_PASSWORD)
        return
    config = EmulatorConfig(
        data_dir=tmp_path_factory.mktemp("emulator"),
        users=SESSION_USERS,
        time_scale=60.0,
        pod_start_delay=0.2,
        api=api_mode,
    )
    with EmulatorServer(config) as server:
        yield server
    shutil.rmtree(config.data_dir, ignore_errors=True)  # what the session's tests stored


@pytest.fixture
def make_emulator(tmp_path: Path) -> Iterator[Callable[..., EmulatorServer]]:
    servers: list[EmulatorServer] = []

    def make(**overrides: Any) -> EmulatorServer:
        options: dict[str, Any] = {
            "data_dir": tmp_path / f"emulator-{len(servers)}",
            "users": SESSION_USERS,
            "time_scale": 60.0,
            "pod_start_delay": 0.2,
        }
        options.update(overrides)
        server = EmulatorServer(EmulatorConfig(**options)).start()
        servers.append(server)
        return server

    yield make
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[Callable[..., EmulatorProcess]]:
    started: list[EmulatorProcess] = []

    def make(*extra_args: str, users: dict[str, str] = SESSION_USERS) -> EmulatorProcess:
        process = EmulatorProcess(tmp_path / f"em-{len(started)}", users, extra_args)
        started.append(process)
        process.start()
        return process

    yield make
    for process in started:
        process.kill()


@pytest.fixture
def pod_name() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def login(url: str, username: str, password: str) -> dict[str, str]:
    """`POST /auth/` and return the token pair (asserts success)."""
    response = httpx.post(f"{url}auth/", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


@pytest.fixture
def em_http(
    emulator: EmulatorServer | ExternalEM,
) -> Iterator[Callable[..., httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(
        server: EmulatorServer | ExternalEM | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> httpx.Client:
        server = server or emulator
        username = username or server.username
        if password is None:
            password = server.users[username]
        access = login(server.url, username, password)["access"]
        client = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {access}"}, timeout=60
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
