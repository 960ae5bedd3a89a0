"""`raise_for_response`: every status and error code maps to its class, with its fields."""

from __future__ import annotations

import asyncio
import pickle

import httpx
import pytest
from dphi_em import (
    APIError,
    AuthenticationError,
    BadRequestError,
    BuildFailedError,
    BusyError,
    ConnectionFailedError,
    EMError,
    ForbiddenPathError,
    ImageLoadFailedError,
    NoFilesError,
    NotFoundError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    UplinkTooLargeError,
    ValidationError,
    raise_for_response,
)
from dphi_em._errors import map_transport_errors, parse_retry_after

REQUEST = httpx.Request("GET", "http://em.test/em/files/list")


def _response(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=REQUEST, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (400, {"error": "NO_FILES", "message": "No files"}, NoFilesError, "NO_FILES"),
        (
            400,
            {"error": "MAX_UPLINK_SIZE_EXCEEDED", "message": "Too big"},
            UplinkTooLargeError,
            "MAX_UPLINK_SIZE_EXCEEDED",
        ),
        (
            400,
            {"error": "BUILD_FAILED", "message": "b", "log_tail": ["x\n"]},
            BuildFailedError,
            "BUILD_FAILED",
        ),
        (
            400,
            {"error": "IMAGE_LOAD_FAILED", "message": "l", "log_tail": ["y\n"]},
            ImageLoadFailedError,
            "IMAGE_LOAD_FAILED",
        ),
        (
            400,
            {"error": "INVALID_PARAMETERS", "message": "bad"},
            BadRequestError,
            "INVALID_PARAMETERS",
        ),
        (
            401,
            {"detail": "Given token not valid", "code": "token_not_valid"},
            AuthenticationError,
            "token_not_valid",
        ),
        (403, {"error": "ILLEGAL_PATH", "message": "outside"}, ForbiddenPathError, "ILLEGAL_PATH"),
        (404, {"error": "FILE_NOT_FOUND", "message": "missing"}, NotFoundError, "FILE_NOT_FOUND"),
        (423, {"error": "LOCKED", "message": "busy"}, BusyError, "LOCKED"),
        (500, {"error": "INTERNAL", "message": "boom"}, ServerError, "INTERNAL"),
        (503, {"message": "down"}, ServerError, None),
        (409, {"message": "conflict"}, APIError, None),
    ],
)
def test_status_and_code_pick_the_class(
    status: int, body: dict[str, object], cls: type[APIError], code: str | None
) -> None:
    response = _response(status, json=body)
    with pytest.raises(cls) as info:
        raise_for_response(response)
    err = info.value
    assert type(err) is cls
    assert isinstance(err, EMError)
    assert err.status_code == status
    assert err.code == code
    assert err.message == body.get("message", body.get("detail"))
    assert err.log_tail == body.get("log_tail", [])
    assert err.response is response
    assert str(status) in str(err)
    assert err.message in str(err)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_passes(status: int) -> None:
    raise_for_response(_response(status, json={"message": "ok"}))


def test_non_json_error_body_keeps_the_text() -> None:
    with pytest.raises(ServerError) as info:
        raise_for_response(_response(502, text="Bad Gateway from nginx"))
    assert info.value.message == "Bad Gateway from nginx"
    assert info.value.code is None


def test_empty_error_body_uses_the_reason_phrase() -> None:
    with pytest.raises(NotFoundError) as info:
        raise_for_response(_response(404))
    assert info.value.message == "Not Found"


def test_streamed_error_body_is_read() -> None:
    response = _response(400, stream=httpx.ByteStream(b'{"error": "NO_FILES", "message": "m"}'))
    with pytest.raises(NoFilesError):
        raise_for_response(response)


def test_api_errors_pickle() -> None:
    err = BuildFailedError("failed", status_code=400, code="BUILD_FAILED", log_tail=["a\n"])
    copy = pickle.loads(pickle.dumps(err))  # noqa: S301 (our own bytes)
    assert type(copy) is BuildFailedError
    assert (copy.status_code, copy.code, copy.log_tail, str(copy)) == (
        400,
        "BUILD_FAILED",
        ["a\n"],
        str(err),
    )


def test_validation_error_is_a_value_error() -> None:
    assert issubclass(ValidationError, ValueError)
    assert issubclass(RequestTimeoutError, TimeoutError)


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx.ConnectError("refused"), ConnectionFailedError),
        (httpx.ConnectTimeout("slow"), RequestTimeoutError),
        (httpx.ReadTimeout("slow"), RequestTimeoutError),
        (httpx.PoolTimeout("slow"), RequestTimeoutError),
        (httpx.RemoteProtocolError("cut"), TransportError),
        (httpx.ReadError("reset"), TransportError),
    ],
)
def test_transport_errors_are_mapped_and_chained(exc: Exception, cls: type[EMError]) -> None:
    with pytest.raises(cls) as info, map_transport_errors():
        raise exc
    assert info.value.__cause__ is exc


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx.ConnectError("refused"), ConnectionFailedError),
        (httpx.ReadError("x"), TransportError),
    ],
)
def test_transport_errors_are_mapped_under_async_with_too(
    exc: Exception, cls: type[EMError]
) -> None:
    async def main() -> None:
        async with map_transport_errors():
            raise exc

    with pytest.raises(cls) as info:
        asyncio.run(main())
    assert info.value.__cause__ is exc


def test_busy_error_exposes_retry_after() -> None:
    response = _response(
        423, json={"error": "LOCKED", "message": "busy"}, headers={"Retry-After": "7"}
    )
    with pytest.raises(BusyError) as info:
        raise_for_response(response)
    assert info.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("0.5", 0.5), ("-4", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date_in_the_past_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_a_url_holding_credentials_is_refused_without_echoing_them() -> None:
    from dphi_em import ConfigurationError, EMClient

    with pytest.raises(ConfigurationError) as info:
        EMClient("http://client1:hunter2@em.example:8000/", "u", "p")
    assert "hunter2" not in str(info.value)
    assert "username" in str(info.value)
