"""Authentication: SimpleJWT-style tokens, 401 bodies, expiry and refresh, over a real socket."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

BAD_TOKEN_DETAIL = "Given token not valid for any token type"


def test_login_with_form_fields_answers_200_and_a_token_pair(emulator) -> None:
    response = httpx.post(
        f"{emulator.url}auth/", data={"username": "client1", "password": "secret"}
    )
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    access = jwt.decode(tokens["access"], options={"verify_signature": False})
    refresh = jwt.decode(tokens["refresh"], options={"verify_signature": False})
    assert access["token_type"] == "access"
    assert refresh["token_type"] == "refresh"
    for claims in (access, refresh):
        assert {"exp", "iat", "jti", "user_id"} <= set(claims)
        assert claims["user_id"] == "client1"
    assert access["exp"] - access["iat"] == 300  # SimpleJWT's default: 5 minutes
    assert refresh["exp"] - refresh["iat"] == 86400
    assert jwt.get_unverified_header(tokens["access"])["alg"] == "HS256"


def test_login_with_json_and_with_a_doubled_slash(emulator) -> None:
    base = emulator.url.rstrip("/")
    response = httpx.post(f"{base}//auth/", json={"username": "client2", "password": "secret2"})
    assert response.status_code == 200
    assert jwt.decode(response.json()["access"], options={"verify_signature": False})[
        "user_id"
    ] == ("client2")


@pytest.mark.parametrize(
    ("username", "password"),
    [("client1", "wrong"), ("nobody", "secret"), ("client1", "secret2"), ("CLIENT1", "secret")],
)
def test_bad_credentials_get_401_with_detail(emulator, username: str, password: str) -> None:
    response = httpx.post(f"{emulator.url}auth/", data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json() == {"detail": "No active account found with the given credentials"}


@pytest.mark.parametrize(
    "body", [{}, {"username": "client1"}, {"password": "secret"}, {"username": "", "password": ""}]
)
def test_missing_login_fields_get_400_per_field(emulator, body: dict[str, str]) -> None:
    response = httpx.post(f"{emulator.url}auth/", json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"} - set(
        key for key, value in body.items() if value
    )


@pytest.mark.parametrize(("body", "type_name"), [([None, None], "list"), ("x", "str"), (3, "int")])
@pytest.mark.parametrize("path", ["auth/", "auth/refresh"])
def test_a_json_body_that_is_not_an_object_gets_drfs_non_field_errors(
    emulator, path: str, body: object, type_name: str
) -> None:
    response = httpx.post(f"{emulator.url}{path}", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [f"Invalid data. Expected a dictionary, but got {type_name}."]
    }


def test_a_malformed_json_login_gets_400(emulator) -> None:
    response = httpx.post(
        f"{emulator.url}auth/", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "detail" in response.json()


def test_every_em_endpoint_needs_a_token(emulator) -> None:
    calls = [
        ("GET", "em/files/list"),
        ("GET", "em/files/downlink?filepath=x"),
        ("POST", "em/files/uplink"),
        ("POST", "em/files/delete"),
        ("POST", "em/pod/image/build"),
        ("POST", "em/pod/image/load"),
        ("GET", "em/pod/image/list"),
        ("POST", "em/pod/namespace/create"),
        ("POST", "em/pod/run"),
        ("GET", "em/pod/status"),
        ("GET", "em/nodes/status"),
    ]
    for method, path in calls:
        response = httpx.request(method, f"{emulator.url}{path}")
        assert response.status_code == 401, path
        assert response.json() == {"detail": "Authentication credentials were not provided."}
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Bearer not-a-jwt", BAD_TOKEN_DETAIL),
        ("Bearer", "Invalid Authorization header. No credentials provided."),
        ("Bearer a b", "Authorization header must contain two space-delimited values"),
        ("Token abc", "Authentication credentials were not provided."),
    ],
)
def test_bad_authorization_headers_get_401(emulator, header: str, detail: str) -> None:
    response = httpx.get(f"{emulator.url}em/files/list", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["detail"] == detail


def test_a_refresh_token_is_not_an_access_token(emulator) -> None:
    tokens = httpx.post(
        f"{emulator.url}auth/", data={"username": "client1", "password": "secret"}
    ).json()
    response = httpx.get(
        f"{emulator.url}em/files/list", headers={"Authorization": f"Bearer {tokens['refresh']}"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_token_signed_with_another_key_is_refused(emulator) -> None:
    forged = jwt.encode(
        {"token_type": "access", "exp": time.time() + 60, "jti": "x", "user_id": "client1"},
        "not-the-signing-key-of-this-emulator",
        algorithm="HS256",
    )
    response = httpx.get(
        f"{emulator.url}em/files/list", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


def test_refresh_returns_a_working_access_token(emulator) -> None:
    tokens = httpx.post(
        f"{emulator.url}auth/", data={"username": "client1", "password": "secret"}
    ).json()
    response = httpx.post(f"{emulator.url}auth/refresh", json={"refresh": tokens["refresh"]})
    assert response.status_code == 200
    access = response.json()["access"]
    headers = {"Authorization": f"Bearer {access}"}
    assert httpx.get(f"{emulator.url}em/files/list", headers=headers).status_code == 200


def test_refresh_refuses_bad_tokens(emulator) -> None:
    tokens = httpx.post(
        f"{emulator.url}auth/", data={"username": "client1", "password": "secret"}
    ).json()
    for bad in (tokens["access"], "garbage"):
        response = httpx.post(f"{emulator.url}auth/refresh", data={"refresh": bad})
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"
    missing = httpx.post(f"{emulator.url}auth/refresh", json={})
    assert missing.status_code == 400
    assert missing.json() == {"refresh": ["This field is required."]}


def _wait_past(token: str) -> None:
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    while time.time() < exp + 1:  # exp has a one-second granularity
        time.sleep(0.2)


def test_an_expired_access_token_gets_401_and_refresh_recovers(make_emulator) -> None:
    server = make_emulator(access_lifetime=1)
    tokens = httpx.post(
        f"{server.url}auth/", data={"username": "client1", "password": "secret"}
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access']}"}
    _wait_past(tokens["access"])
    expired = httpx.get(f"{server.url}em/nodes/status", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["detail"] == BAD_TOKEN_DETAIL
    refreshed = httpx.post(f"{server.url}auth/refresh", json={"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200
    headers = {"Authorization": f"Bearer {refreshed.json()['access']}"}
    assert httpx.get(f"{server.url}em/nodes/status", headers=headers).status_code == 200


def test_an_expired_refresh_token_gets_401(make_emulator) -> None:
    server = make_emulator(refresh_lifetime=1)
    tokens = httpx.post(
        f"{server.url}auth/", data={"username": "client1", "password": "secret"}
    ).json()
    _wait_past(tokens["refresh"])
    response = httpx.post(f"{server.url}auth/refresh", json={"refresh": tokens["refresh"]})
    assert response.status_code == 401


def test_tokens_of_a_user_no_longer_configured_are_refused(make_emulator, tmp_path) -> None:
    first = make_emulator(data_dir=tmp_path / "shared")
    tokens = httpx.post(
        f"{first.url}auth/", data={"username": "client2", "password": "secret2"}
    ).json()
    first.stop()
    second = make_emulator(data_dir=tmp_path / "shared", users={"client1": "secret"})
    headers = {"Authorization": f"Bearer {tokens['access']}"}
    assert httpx.get(f"{second.url}em/nodes/status", headers=headers).status_code == 401


def test_auth_wrong_method_is_405(emulator) -> None:
    response = httpx.get(f"{emulator.url}auth/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}
