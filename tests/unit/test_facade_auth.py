"""The token flow: login, proactive and concurrent refresh, 401 handling, rotation, secrets."""

from __future__ import annotations

import logging
import threading

import httpx
import pytest
from dphi_em import AuthenticationError, ConfigurationError, EMClient
from dphi_em._auth import jwt_claims
from em_api_client.api.em import em_files_list_list
from fake_em import PASSWORD, FakeEM, make_client, make_jwt


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client_with_clock(fake: FakeEM, **kwargs: object) -> tuple[EMClient, Clock]:
    em = make_client(fake, **kwargs)  # type: ignore[arg-type]
    clock = Clock()
    em._auth._clock = clock
    return em, clock


def test_lazy_login_on_first_call_then_token_reused() -> None:
    fake = FakeEM()
    with make_client(fake) as em:
        assert fake.calls == []
        em.files_list()
        em.files_list()
        em.image_list()
    assert fake.logins == 1
    assert fake.refreshes == 0
    assert fake.calls[0] == ("POST", "/auth/")
    login = fake.requests[0]
    assert login.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert [r.headers["Authorization"].startswith("Bearer ") for r in fake.requests[1:]] == [
        True
    ] * 3


def test_get_token_logs_in_explicitly() -> None:
    fake = FakeEM()
    with make_client(fake) as em:
        em.get_token()
        assert fake.calls == [("POST", "/auth/")]
        em.files_list()
    assert fake.logins == 1


def test_bad_credentials_raise_authentication_error_without_the_password() -> None:
    fake = FakeEM()
    em = EMClient(
        "http://em.test/",
        "client1",
        "wrong-password-xyz",
        transport=httpx.MockTransport(fake),
        retry=False,
    )
    with em, pytest.raises(AuthenticationError) as info:
        em.files_list()
    assert info.value.status_code == 401
    assert "wrong-password-xyz" not in str(info.value)
    assert "No active account" in str(info.value)
    assert [c[1] for c in fake.calls] == ["/auth/"]  # the operation itself was never sent


def test_missing_credentials_fail_at_first_call_naming_argument_and_variable() -> None:
    fake = FakeEM()
    em = EMClient("http://em.test/", transport=httpx.MockTransport(fake), retry=False)
    with em, pytest.raises(ConfigurationError) as info:
        em.files_list()
    message = str(info.value)
    for name in ("username", "DPHI_EM_USERNAME", "password", "DPHI_EM_PASSWORD"):
        assert name in message
    assert fake.calls == []


def test_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DPHI_EM_USERNAME", "client1")
    monkeypatch.setenv("DPHI_EM_PASSWORD", PASSWORD)
    monkeypatch.setenv("DPHI_EM_URL", "http://env.test:9000/base")
    fake = FakeEM()
    fake.prefix = "/base"
    with EMClient(transport=httpx.MockTransport(fake), retry=False) as em:
        em.files_list()
        assert str(em.base_url) == "http://env.test:9000/base/"
    assert fake.calls == [("POST", "/base/auth/"), ("GET", "/base/em/files/list")]


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DPHI_EM_USERNAME", "someone-else")
    monkeypatch.setenv("DPHI_EM_PASSWORD", "nope")
    monkeypatch.setenv("DPHI_EM_URL", "http://wrong.test/")
    fake = FakeEM()
    with make_client(fake) as em:
        em.files_list()
    assert fake.logins == 1
    assert fake.requests[0].url.host == "em.test"


def test_default_url_when_nothing_is_set() -> None:
    assert str(EMClient(username="u", password="p").base_url) == "http://localhost:8000/"


def test_proactive_refresh_before_expiry() -> None:
    fake = FakeEM(access_lifetime=300)
    em, clock = _client_with_clock(fake)
    with em:
        em.files_list()
        clock.now += 200  # 100 s left: more than the 30 s margin
        em.files_list()
        assert fake.refreshes == 0
        clock.now += 75  # 25 s left: renewed before use
        em.files_list()
    assert fake.refreshes == 1
    assert fake.logins == 1
    assert 401 not in [c for c in fake.calls]  # never sent an expiring token


def test_short_lived_tokens_are_renewed_half_way_not_every_call() -> None:
    fake = FakeEM(access_lifetime=10)
    em, clock = _client_with_clock(fake)
    with em:
        em.files_list()
        clock.now += 4
        em.files_list()
        assert fake.refreshes == 0
        clock.now += 2  # past half its life
        em.files_list()
    assert fake.refreshes == 1


def test_a_kept_refresh_token_keeps_its_own_expiry() -> None:
    fake = FakeEM(access_lifetime=300)  # refresh tokens live one day and are not rotated
    em, clock = _client_with_clock(fake)
    with em:
        start = clock.now
        em.files_list()  # login
        clock.now = start + 86_000  # access expired; the refresh token has 400 s left
        em.files_list()
        assert (fake.logins, fake.refreshes) == (1, 1)
        clock.now = start + 86_500  # that refresh token is now a day old: log in, don't refresh
        em.files_list()
    assert (fake.logins, fake.refreshes) == (2, 1)


def test_401_refreshes_once_and_retries() -> None:
    fake = FakeEM()
    with make_client(fake) as em:
        em.files_list()
        fake.revoke_access()
        em.files_list()
    assert fake.refreshes == 1
    assert fake.logins == 1
    assert fake.calls[-3:] == [
        ("GET", "/em/files/list"),
        ("POST", "/auth/refresh"),
        ("GET", "/em/files/list"),
    ]


def test_401_with_refused_refresh_logs_in_again() -> None:
    fake = FakeEM(refresh_ok=False)
    with make_client(fake) as em:
        em.files_list()
        fake.revoke_access()
        em.files_list()
    assert (fake.refreshes, fake.logins) == (1, 2)


def test_401_after_refresh_and_login_is_raised() -> None:
    fake = FakeEM()
    fake.routes[("GET", "/em/files/list")] = lambda r: httpx.Response(
        401, json={"detail": "nope", "code": "token_not_valid"}
    )
    with make_client(fake) as em, pytest.raises(AuthenticationError):
        em.files_list()
    # first login, then one refresh and one re-login; never a loop
    assert fake.calls.count(("GET", "/em/files/list")) == 3
    assert (fake.logins, fake.refreshes) == (2, 1)


def test_rotated_refresh_token_is_kept() -> None:
    fake = FakeEM(rotate=True)
    with make_client(fake) as em:
        em.files_list()
        fake.revoke_access()
        em.files_list()
        fake.revoke_access()
        em.files_list()
    assert fake.refreshes == 2
    assert fake.logins == 1  # the second refresh used the rotated token, which was accepted
    assert fake.used_refresh[0] != fake.used_refresh[1]


def test_concurrent_threads_make_one_refresh_on_expiry() -> None:
    fake = FakeEM(access_lifetime=300)
    em, clock = _client_with_clock(fake)
    errors: list[BaseException] = []
    with em:
        em.files_list()
        clock.now += 290
        barrier = threading.Barrier(16)

        def work() -> None:
            try:
                barrier.wait()
                em.files_list()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert fake.refreshes == 1
    assert fake.logins == 1


def test_concurrent_threads_make_one_refresh_on_401() -> None:
    fake = FakeEM()
    errors: list[BaseException] = []
    with make_client(fake) as em:
        em.files_list()
        fake.revoke_access()
        barrier = threading.Barrier(12)

        def work() -> None:
            try:
                barrier.wait()
                em.files_list()
            except BaseException as exc:  # pragma: no cover
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert fake.refreshes == 1
    assert fake.logins == 1


def test_raw_calls_share_the_token_flow() -> None:
    fake = FakeEM()
    with make_client(fake) as em:
        em.files_list()
        fake.revoke_access()
        response = em_files_list_list.sync_detailed(client=em.raw, pod_name="pod-a")
    assert response.status_code == 200
    assert fake.logins == 1
    assert fake.refreshes == 1
    assert fake.requests[-1].url.params["pod_name"] == "pod-a"


def test_large_uplink_gets_a_fresh_token(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = FakeEM()
    fake.routes[("POST", "/em/files/uplink")] = lambda r: httpx.Response(
        200, json={"message": "ok", "data": {"file_count": 1, "total_size_kb": 1.0}}
    )
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(40 * 1024 * 1024)
    small = tmp_path / "small.bin"
    small.write_bytes(b"x")
    em, clock = _client_with_clock(fake)
    with em:
        em.files_list()
        clock.now += 60
        em.uplink([small])
        assert fake.refreshes == 0
        em.uplink([big])
        assert fake.refreshes == 1
        assert fake.calls[-2:] == [("POST", "/auth/refresh"), ("POST", "/em/files/uplink")]


def test_secrets_never_in_logs_reprs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeEM(rotate=True)
    em = make_client(fake)
    with em:
        em.get_token()
        em.files_list()
        fake.revoke_access()
        em.files_list()
        fake.routes[("GET", "/em/pod/image/list")] = lambda r: httpx.Response(
            401, json={"detail": "x"}
        )
        with pytest.raises(AuthenticationError) as info:
            em.image_list()
        texts = [
            caplog.text,
            repr(em),
            repr(em._auth),
            str(info.value),
            repr(info.value),
            repr(em._auth._credentials),
            repr(em.raw),
        ]
    secrets = [PASSWORD, *fake.access, *fake.refresh, *fake.used_refresh]
    assert len(secrets) > 3
    assert caplog.records  # httpx and dphi_em did log
    for text in texts:
        for secret in secrets:
            assert secret not in text
            assert secret[-20:] not in text


def test_jwt_claims_reads_the_payload_and_tolerates_garbage() -> None:
    token = make_jwt("access", 60, now=100.0)
    assert jwt_claims(token)["exp"] == 160
    assert jwt_claims("not-a-jwt") == {}
    assert jwt_claims("a.!!!.c") == {}
