from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.auth_error import AuthError
from ...models.em_error import EmError
from ...models.em_image_list_response import EmImageListResponse
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/em/pod/image/list",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuthError | EmError | EmImageListResponse | None:
    if response.status_code == 200:
        response_200 = EmImageListResponse.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = EmImageListResponse.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = EmError.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = AuthError.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = EmError.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = EmError.from_dict(response.json())

        return response_404

    if response.status_code == 423:
        response_423 = EmError.from_dict(response.json())

        return response_423

    if response.status_code == 500:
        response_500 = EmError.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[AuthError | EmError | EmImageListResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[AuthError | EmError | EmImageListResponse]:
    """The user's own images. January 2026 revision, taken from the vendor's client (not its spec): POST
    without a body (the November 2025 form is GET).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthError | EmError | EmImageListResponse]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> AuthError | EmError | EmImageListResponse | None:
    """The user's own images. January 2026 revision, taken from the vendor's client (not its spec): POST
    without a body (the November 2025 form is GET).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthError | EmError | EmImageListResponse
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[AuthError | EmError | EmImageListResponse]:
    """The user's own images. January 2026 revision, taken from the vendor's client (not its spec): POST
    without a body (the November 2025 form is GET).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthError | EmError | EmImageListResponse]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> AuthError | EmError | EmImageListResponse | None:
    """The user's own images. January 2026 revision, taken from the vendor's client (not its spec): POST
    without a body (the November 2025 form is GET).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthError | EmError | EmImageListResponse
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
