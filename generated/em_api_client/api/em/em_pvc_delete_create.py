from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.auth_error import AuthError
from ...models.em_error import EmError
from ...models.em_message import EmMessage
from ...models.em_pvc_delete_request import EmPvcDeleteRequest
from ...types import Response


def _get_kwargs(
    *,
    body: EmPvcDeleteRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/em/pvc/delete",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuthError | EmError | EmMessage | None:
    if response.status_code == 200:
        response_200 = EmMessage.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = EmMessage.from_dict(response.json())

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

    if response.status_code == 409:
        response_409 = EmError.from_dict(response.json())

        return response_409

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
) -> Response[AuthError | EmError | EmMessage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmPvcDeleteRequest,
) -> Response[AuthError | EmError | EmMessage]:
    """Delete one of the user's volumes and its files. January 2026 revision, taken from the vendor's
    client (not its spec; the answers are unpublished, the EM's usual envelopes are assumed). A volume a
    pod is using can't be deleted (409), nor can the default volume.

    Args:
        body (EmPvcDeleteRequest): The body of POST /em/pvc/delete (January 2026 revision, taken
            from the vendor's client, not its spec).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthError | EmError | EmMessage]
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
    body: EmPvcDeleteRequest,
) -> AuthError | EmError | EmMessage | None:
    """Delete one of the user's volumes and its files. January 2026 revision, taken from the vendor's
    client (not its spec; the answers are unpublished, the EM's usual envelopes are assumed). A volume a
    pod is using can't be deleted (409), nor can the default volume.

    Args:
        body (EmPvcDeleteRequest): The body of POST /em/pvc/delete (January 2026 revision, taken
            from the vendor's client, not its spec).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthError | EmError | EmMessage
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmPvcDeleteRequest,
) -> Response[AuthError | EmError | EmMessage]:
    """Delete one of the user's volumes and its files. January 2026 revision, taken from the vendor's
    client (not its spec; the answers are unpublished, the EM's usual envelopes are assumed). A volume a
    pod is using can't be deleted (409), nor can the default volume.

    Args:
        body (EmPvcDeleteRequest): The body of POST /em/pvc/delete (January 2026 revision, taken
            from the vendor's client, not its spec).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthError | EmError | EmMessage]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EmPvcDeleteRequest,
) -> AuthError | EmError | EmMessage | None:
    """Delete one of the user's volumes and its files. January 2026 revision, taken from the vendor's
    client (not its spec; the answers are unpublished, the EM's usual envelopes are assumed). A volume a
    pod is using can't be deleted (409), nor can the default volume.

    Args:
        body (EmPvcDeleteRequest): The body of POST /em/pvc/delete (January 2026 revision, taken
            from the vendor's client, not its spec).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthError | EmError | EmMessage
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
