"""The token flow: login, proactive and concurrent refresh, 401 handling, rotation, secrets.

Every test but a few asyncio-only ones runs twice through the `driver` fixture: `TokenAuth`
under `httpx.Client` (`sync_auth_flow`) and under `httpx.AsyncClient` (`async_auth_flow`).
The last ones check how `EMClient` and `AsyncEMClient` wire it (configuration, raw calls,
large uploads).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dphi_em import AuthenticationError, ConfigurationError
from dphi_em._auth import FRESH_TOKEN_EXTENSION, TokenAuth, jwt_claims
from dphi_em._config import Credentials
from em_api_client.api.em import em_files_list_list
from fake_em import PASSWORD, USER, FakeEM, make_jwt
from http_drivers import DRIVERS, Clock, Driver, driver_fixture


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    yield from driver_fixture(request)


LIST = "/em/files/list"


def test_lazy_login_on_first_request_then_token_reused(driver: Driver) -> None:
    fake = FakeEM()
    http = driver.client(fake)
    assert fake.calls == []
    assert not http.auth.has_token
    for _ in range(3):
        assert http.get(LIST).status_code == 200
    assert (fake.logins, fake.refreshes) == (1, 0)
    assert http.auth.has_token
    assert (http.auth.login_count, http.auth.refresh_count) == (1, 0)
    assert fake.calls[0] == ("POST", "/auth/")
    login = fake.requests[0]
    assert login.headers["Content-Type"] == "application/x-www-form-urlencoded"
    bearers = [r.headers["Authorization"] for r in fake.requests[1:]]
    assert len(set(bearers)) == 1
    assert bearers[0].startswith("Bearer ")
    assert bearers[0][7:] in fake.access


def test_login_now_then_requests_use_that_token(driver: Driver) -> None:
    fake = FakeEM()
    http = driver.client(fake)
    http.login()  # TokenAuth.login or TokenAuth.alogin
    assert fake.calls == [("POST", "/auth/")]
    assert "Authorization" not in fake.requests[0].headers
    http.get(LIST)
    assert fake.logins == 1


def test_login_now_with_bad_credentials_raises(driver: Driver) -> None:
    fake = FakeEM()
    http = driver.client(fake, password="wrong-password-xyz")
    with pytest.raises(AuthenticationError) as info:
        http.login()
    assert info.value.status_code == 401
    assert "wrong-password-xyz" not in str(info.value)
    assert not http.auth.has_token


def test_bad_credentials_raise_authentication_error_without_the_password(
    driver: Driver,
) -> None:
    fake = FakeEM()
    http = driver.client(fake, password="wrong-password-xyz")
    with pytest.raises(AuthenticationError) as info:
        http.get(LIST)
    assert info.value.status_code == 401
    assert "wrong-password-xyz" not in str(info.value)
    assert "No active account" in str(info.value)
    assert [c[1] for c in fake.calls] == ["/auth/"]  # the request itself was never sent
    # the lock was given back: a second try logs in again instead of hanging
    with pytest.raises(AuthenticationError):
        http.get(LIST)
    assert fake.logins == 2


def test_missing_credentials_fail_before_anything_is_sent(driver: Driver) -> None:
    fake = FakeEM()
    http = driver.client(fake, username=None, password=None)
    with pytest.raises(ConfigurationError) as info:
        http.get(LIST)
    for name in ("username", "DPHI_EM_USERNAME", "password", "DPHI_EM_PASSWORD"):
        assert name in str(info.value)
    assert fake.calls == []


def test_an_explicit_authorization_header_wins(driver: Driver) -> None:
    fake = FakeEM()
    http = driver.client(fake)
    response = http.get(LIST, headers={"Authorization": "Bearer mine"})
    assert response.status_code == 401  # the fake does not know it; no login was tried
    assert fake.calls == [("GET", LIST)]


def test_proactive_refresh_before_expiry(driver: Driver) -> None:
    fake = FakeEM(access_lifetime=300)
    clock = Clock()
    http = driver.client(fake, clock=clock)
    http.get(LIST)
    clock.now += 200  # 100 s left: more than the 30 s margin
    http.get(LIST)
    assert fake.refreshes == 0
    clock.now += 75  # 25 s left: renewed before use
    http.get(LIST)
    assert (fake.refreshes, fake.logins) == (1, 1)
    assert fake.calls[-2:] == [("POST", "/auth/refresh"), ("GET", LIST)]
    assert http.auth.refresh_count == 1


def test_short_lived_tokens_are_renewed_half_way_not_every_call(driver: Driver) -> None:
    fake = FakeEM(access_lifetime=10)
    clock = Clock()
    http = driver.client(fake, clock=clock)
    http.get(LIST)
    clock.now += 4
    http.get(LIST)
    assert fake.refreshes == 0
    clock.now += 2  # past half its life
    http.get(LIST)
    assert fake.refreshes == 1


def test_a_kept_refresh_token_keeps_its_own_expiry(driver: Driver) -> None:
    fake = FakeEM(access_lifetime=300)  # refresh tokens live one day and are not rotated
    clock = Clock()
    http = driver.client(fake, clock=clock)
    start = clock.now
    http.get(LIST)  # login
    clock.now = start + 86_000  # access expired; the refresh token has 400 s left
    http.get(LIST)
    assert (fake.logins, fake.refreshes) == (1, 1)
    clock.now = start + 86_500  # that refresh token is now a day old: log in, don't refresh
    http.get(LIST)
    assert (fake.logins, fake.refreshes) == (2, 1)


def test_fresh_token_extension_renews_a_token_older_than_a_few_seconds(driver: Driver) -> None:
    fake = FakeEM()
    clock = Clock()
    http = driver.client(fake, clock=clock)
    http.get(LIST)
    clock.now += 3
    http.post("/em/files/uplink", extensions={FRESH_TOKEN_EXTENSION: True})
    assert fake.refreshes == 0  # 3 s old counts as fresh
    clock.now += 60
    http.get(LIST)
    assert fake.refreshes == 0  # plain requests don't care
    http.post("/em/files/uplink", extensions={FRESH_TOKEN_EXTENSION: True})
    assert fake.refreshes == 1
    assert fake.calls[-2:] == [("POST", "/auth/refresh"), ("POST", "/em/files/uplink")]


def test_401_refreshes_once_and_retries(driver: Driver) -> None:
    fake = FakeEM()
    http = driver.client(fake)
    http.get(LIST)
    fake.revoke_access()
    assert http.get(LIST).status_code == 200
    assert (fake.refreshes, fake.logins) == (1, 1)
    assert fake.calls[-3:] == [("GET", LIST), ("POST", "/auth/refresh"), ("GET", LIST)]


def test_401_with_refused_refresh_logs_in_again(driver: Driver) -> None:
    fake = FakeEM(refresh_ok=False)
    http = driver.client(fake)
    http.get(LIST)
    fake.revoke_access()
    assert http.get(LIST).status_code == 200
    assert (fake.refreshes, fake.logins) == (1, 2)


def test_401_after_refresh_and_login_is_given_back(driver: Driver) -> None:
    fake = FakeEM()
    fake.routes[("GET", LIST)] = lambda r: httpx.Response(
        401, json={"detail": "nope", "code": "token_not_valid"}
    )
    http = driver.client(fake)
    response = http.get(LIST)
    assert response.status_code == 401
    # first login, then one refresh and one re-login; never a loop
    assert fake.calls.count(("GET", LIST)) == 3
    assert (fake.logins, fake.refreshes) == (2, 1)


def test_rotated_refresh_token_is_kept(driver: Driver) -> None:
    fake = FakeEM(rotate=True)
    http = driver.client(fake)
    http.get(LIST)
    fake.revoke_access()
    http.get(LIST)
    fake.revoke_access()
    http.get(LIST)
    assert fake.refreshes == 2
    assert fake.logins == 1  # the second refresh used the rotated token, which was accepted
    assert fake.used_refresh[0] != fake.used_refresh[1]


@pytest.mark.parametrize("gate", [True, False], ids=["gated", "overlapping"])
def test_concurrent_callers_make_one_refresh_on_expiry(driver: Driver, gate: bool) -> None:
    fake = FakeEM(access_lifetime=300)
    clock = Clock()
    http = driver.client(fake, clock=clock, gate=gate, delay=0.005)
    http.get(LIST)
    clock.now += 290
    responses = driver.concurrently(20, lambda: http.call("GET", LIST))
    assert [r.status_code for r in responses] == [200] * 20
    assert (fake.refreshes, fake.logins) == (1, 1)


@pytest.mark.parametrize("gate", [True, False], ids=["gated", "overlapping"])
def test_concurrent_callers_make_one_refresh_on_401(driver: Driver, gate: bool) -> None:
    fake = FakeEM()
    http = driver.client(fake, gate=gate, delay=0.005)
    http.get(LIST)
    fake.revoke_access()
    responses = driver.concurrently(12, lambda: http.call("GET", LIST))
    assert [r.status_code for r in responses] == [200] * 12
    assert (fake.refreshes, fake.logins) == (1, 1)


@pytest.mark.parametrize("gate", [True, False], ids=["gated", "overlapping"])
def test_concurrent_first_calls_make_one_login(driver: Driver, gate: bool) -> None:
    fake = FakeEM()
    http = driver.client(fake, gate=gate, delay=0.005)
    responses = driver.concurrently(20, lambda: http.call("GET", LIST))
    assert [r.status_code for r in responses] == [200] * 20
    assert (fake.logins, fake.refreshes) == (1, 0)


def test_a_failed_refresh_call_gives_the_lock_back(driver: Driver) -> None:
    fake = FakeEM()
    clock = Clock()
    broken = {"refresh": True}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/refresh" and broken["refresh"]:
            raise httpx.ReadError("cut", request=request)
        return fake(request)

    http = driver.client(handler, clock=clock)
    http.get(LIST)
    clock.now += 290
    with pytest.raises(httpx.ReadError):
        http.get(LIST)
    broken["refresh"] = False
    assert http.get(LIST).status_code == 200  # would hang if the lock were still held
    assert fake.refreshes == 1


def test_a_task_cancelled_during_a_refresh_gives_the_lock_back() -> None:
    fake = FakeEM()
    clock = Clock()
    entered = asyncio.Event()
    hold = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/refresh" and not hold.is_set():
            entered.set()
            await hold.wait()
        return fake(request)

    auth = TokenAuth(Credentials(USER, PASSWORD), httpx.URL("http://em.test/"), clock=clock)

    async def main() -> None:
        async with httpx.AsyncClient(
            auth=auth, transport=httpx.MockTransport(handler), base_url="http://em.test/"
        ) as client:
            await client.get(LIST)
            clock.now += 290
            task = asyncio.ensure_future(client.get(LIST))
            await entered.wait()  # the task holds the renewal lock, its refresh in flight
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            hold.set()
            response = await asyncio.wait_for(client.get(LIST), 10)
            assert response.status_code == 200

    asyncio.run(main())
    assert auth.refresh_count == 1  # the cancelled refresh never came back
    assert fake.refreshes == 1


def test_the_async_flow_works_on_a_second_event_loop() -> None:
    fake = FakeEM()
    clock = Clock()
    auth = TokenAuth(Credentials(USER, PASSWORD), httpx.URL("http://em.test/"), clock=clock)

    async def burst() -> None:
        async with httpx.AsyncClient(
            auth=auth, transport=httpx.MockTransport(fake), base_url="http://em.test/"
        ) as client:
            clock.now += 290
            responses = await asyncio.gather(*(client.get(LIST) for _ in range(5)))
            assert [r.status_code for r in responses] == [200] * 5

    asyncio.run(burst())  # the lock is made on this loop...
    asyncio.run(burst())  # ...and remade on this one
    assert (fake.logins, fake.refreshes) == (1, 1)


def test_secrets_never_in_logs_reprs_or_errors(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeEM(rotate=True)
    fake.routes[("GET", "/em/pod/image/list")] = lambda r: httpx.Response(401, json={"detail": "x"})
    http = driver.client(fake)
    http.login()
    http.get(LIST)
    fake.revoke_access()
    http.get(LIST)
    assert http.get("/em/pod/image/list").status_code == 401  # refresh, login, still 401
    bad = driver.client(fake, password="wrong-" + PASSWORD)
    with pytest.raises(AuthenticationError) as info:
        bad.get(LIST)
    texts = [
        caplog.text,
        repr(http.auth),
        repr(http.auth._credentials),
        str(info.value),
        repr(info.value),
    ]
    secrets = [PASSWORD, *fake.access, *fake.refresh, *fake.used_refresh]
    assert len(secrets) > 5
    messages = [r.getMessage() for r in caplog.records if r.name == "dphi_em"]
    assert any(f"logged in as {USER!r}" in m for m in messages)
    assert any("access token refreshed" in m for m in messages)
    for text in texts:
        for secret in secrets:
            assert secret not in text
            assert secret[-20:] not in text


def test_secrets_lists_the_password_and_every_token_issued(driver: Driver) -> None:
    fake = FakeEM(rotate=True)
    http = driver.client(fake)
    assert http.auth.secrets() == (PASSWORD,)
    http.get(LIST)
    fake.revoke_access()
    http.get(LIST)  # a refresh: new access and refresh tokens, the old ones kept
    secrets = set(http.auth.secrets())
    assert secrets == {PASSWORD, *fake.refresh, *fake.used_refresh, *_issued_access(fake)}
    assert len(secrets) == 5
    no_password = driver.client(fake, username=None, password=None)
    assert no_password.auth.secrets() == ()


def _issued_access(fake: FakeEM) -> set[str]:
    tokens: set[str] = set()
    for request in fake.requests:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            tokens.add(header[7:])
    return tokens


def test_jwt_claims_reads_the_payload_and_tolerates_garbage() -> None:
    token = make_jwt("access", 60, now=100.0)
    assert jwt_claims(token)["exp"] == 160
    assert jwt_claims("not-a-jwt") == {}
    assert jwt_claims("a.!!!.c") == {}


# -- wired into EMClient and AsyncEMClient ------------------------------------------------------


def test_em_client_get_token_logs_in_explicitly(driver: Driver) -> None:
    fake = FakeEM()
    with driver.em(fake) as em:
        em.get_token()
        assert fake.calls == [("POST", "/auth/")]
        em.files_list()
    assert fake.logins == 1


def test_em_client_bad_credentials_raise_without_sending_the_operation(driver: Driver) -> None:
    fake = FakeEM()
    with driver.em(fake, password="wrong-password-xyz") as em:
        with pytest.raises(AuthenticationError) as info:
            em.files_list()
        assert "wrong-password-xyz" not in repr(em.client)
    assert info.value.status_code == 401
    assert "wrong-password-xyz" not in str(info.value)
    assert [c[1] for c in fake.calls] == ["/auth/"]


def test_em_client_missing_credentials_fail_naming_argument_and_variable(
    driver: Driver,
) -> None:
    fake = FakeEM()
    with (
        driver.em(fake, username=None, password=None) as em,
        pytest.raises(ConfigurationError) as info,
    ):
        em.files_list()
    message = str(info.value)
    for name in ("username", "DPHI_EM_USERNAME", "password", "DPHI_EM_PASSWORD"):
        assert name in message
    assert fake.calls == []


def test_credentials_come_from_the_environment(
    driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DPHI_EM_USERNAME", "client1")
    monkeypatch.setenv("DPHI_EM_PASSWORD", PASSWORD)
    monkeypatch.setenv("DPHI_EM_URL", "http://env.test:9000/base")
    fake = FakeEM()
    fake.prefix = "/base"
    with driver.em(fake, base_url=None, username=None, password=None) as em:
        em.files_list()
        assert str(em.base_url) == "http://env.test:9000/base/"
    assert fake.calls == [("POST", "/base/auth/"), ("GET", "/base/em/files/list")]


def test_arguments_win_over_the_environment(
    driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DPHI_EM_USERNAME", "someone-else")
    monkeypatch.setenv("DPHI_EM_PASSWORD", "nope")
    monkeypatch.setenv("DPHI_EM_URL", "http://wrong.test/")
    fake = FakeEM()
    with driver.em(fake) as em:
        em.files_list()
    assert fake.logins == 1
    assert fake.requests[0].url.host == "em.test"


def test_default_url_when_nothing_is_set(driver: Driver) -> None:
    with driver.em(base_url=None, username="u", password="p") as em:
        assert str(em.base_url) == "http://localhost:8000/"


def test_raw_calls_share_the_token_flow(driver: Driver) -> None:
    fake = FakeEM()
    raw_call = (
        em_files_list_list.asyncio_detailed if driver.is_async else em_files_list_list.sync_detailed
    )
    with driver.em(fake) as em:
        em.files_list()
        fake.revoke_access()
        response = driver.run(raw_call(client=em.raw, pod_name="pod-a"))
    assert response.status_code == 200
    assert fake.logins == 1
    assert fake.refreshes == 1
    assert fake.requests[-1].url.params["pod_name"] == "pod-a"


def test_large_uplink_gets_a_fresh_token(driver: Driver, tmp_path: Path) -> None:
    fake = FakeEM()
    fake.routes[("POST", "/em/files/uplink")] = lambda r: httpx.Response(
        200, json={"message": "ok", "data": {"file_count": 1, "total_size_kb": 1.0}}
    )
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(40 * 1024 * 1024)
    small = tmp_path / "small.bin"
    small.write_bytes(b"x")
    clock = Clock()
    with driver.em(fake) as em:
        em._auth._clock = clock
        em.files_list()
        clock.now += 60
        em.uplink([small])
        assert fake.refreshes == 0
        em.uplink([big])
        assert fake.refreshes == 1
        assert fake.calls[-2:] == [("POST", "/auth/refresh"), ("POST", "/em/files/uplink")]


# -- lock order and the bearer at send time (issue 11) ----------------------------------------


def test_a_renewal_waits_for_the_gate_without_holding_the_lock() -> None:
    from dphi_em._synchronization import InFlightGate
    from http_drivers import log_signal

    auth = TokenAuth(Credentials(USER, PASSWORD), httpx.URL("http://em.test/"))
    gate = InFlightGate()
    auth.use_gate(gate)
    tokens = {"access": make_jwt("access", 3600), "refresh": make_jwt("refresh", 86400)}

    def send(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=tokens, request=request)

    gate.acquire()  # a streamed downlink holds it
    done = threading.Event()

    def log_in() -> None:
        auth.login(send, httpx.Request("POST", "http://em.test/"))
        done.set()

    with log_signal("a token renewal waits for the request in flight") as waiting:
        thread = threading.Thread(target=log_in)
        thread.start()
        assert waiting.event.wait(timeout=10)
        assert not auth._lock.locked(), "the renewal lock is held while waiting for the gate"
        assert not done.is_set()
        gate.release()
        thread.join(timeout=10)
    assert done.is_set()
    assert auth.has_token


@pytest.mark.parametrize("token", ["t\u00f6ken-Secret-1", "tok-Secret-2\r\nX: y", "a b"])
def test_an_access_token_unfit_for_a_header_is_an_api_error_without_it(token: str) -> None:
    from dphi_em import APIError

    auth = TokenAuth(Credentials(USER, PASSWORD), httpx.URL("http://em.test/"))

    def send(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"access": token, "refresh": "r-Secret-3"}, request=request)

    with pytest.raises(APIError, match="/auth/") as caught:
        auth.login(send, httpx.Request("POST", "http://em.test/"))
    assert "Secret" not in str(caught.value)
    assert PASSWORD not in str(caught.value)
