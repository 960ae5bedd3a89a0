from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.auth_error import AuthError
from ...models.em_error import EmError
from ...models.em_files_list_request import EmFilesListRequest
from ...models.em_files_list_response import EmFilesListResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: EmFilesListRequest | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/em/files/list",
    }

    if not isinstance(body, Unset):
        _kwargs["data"] = body.to_dict()

    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuthError | EmError | EmFilesListResponse | None:
    if response.status_code == 200:
        response_200 = EmFilesListResponse.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = EmFilesListResponse.from_dict(response.json())

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
) -> Response[AuthError | EmError | EmFilesListResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmFilesListRequest | Unset = UNSET,
) -> Response[AuthError | EmError | EmFilesListResponse]:
    """The volume's file tree. January 2026 revision, taken from the vendor's client (not its spec): POST
    with the form field pvc_name (the November 2025 form is GET with the query pod_name).

    Args:
        body (EmFilesListRequest | Unset): The form of POST /em/files/list (January 2026 revision,
            taken from the vendor's client, not its spec).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthError | EmError | EmFilesListResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: EmFilesListRequest | Unset = UNSET,
) -> AuthError | EmError | EmFilesListResponse | None:
    """The volume's file tree. January 2026 revision, taken from the vendor's client (not its spec): POST
    with the form field pvc_name (the November 2025 form is GET with the query pod_name).

    Args:
        body (EmFilesListRequest | Unset): The form of POST /em/files/list (January 2026 revision,
            taken from the vendor's client, not its spec).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthError | EmError | EmFilesListResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmFilesListRequest | Unset = UNSET,
) -> Response[AuthError | EmError | EmFilesListResponse]:
    """The volume's file tree. January 2026 revision, taken from the vendor's client (not its spec): POST
    with the form field pvc_name (the November 2025 form is GET with the query pod_name).

    Args:
        body (EmFilesListRequest | Unset): The form of POST /em/files/list (January 2026 revision,
            taken from the vendor's client, not its spec).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthError | EmError | EmFilesListResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EmFilesListRequest | Unset = UNSET,
) -> AuthError | EmError | EmFilesListResponse | None:
    """The volume's file tree. January 2026 revision, taken from the vendor's client (not its spec): POST
    with the form field pvc_name (the November 2025 form is GET with the query pod_name).

    Args:
        body (EmFilesListRequest | Unset): The form of POST /em/files/list (January 2026 revision,
            taken from the vendor's client, not its spec).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthError | EmError | EmFilesListResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
