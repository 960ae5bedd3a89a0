from http import HTTPStatus
from io import BytesIO
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.images_request import ImagesRequest
from ...types import UNSET, File, Response, Unset


def _get_kwargs(
    *,
    body: ImagesRequest | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/images",
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> File | str | None:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

        return response_200

    if response.status_code == 400:
        response_400 = response.text
        return response_400

    if response.status_code == 404:
        response_404 = response.text
        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[File | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ImagesRequest | Unset = UNSET,
) -> Response[File | str]:
    """One image as a PNG, or several as a stored ZIP

     Exactly one name in `images`: that PNG itself. Several names: a ZIP of them; no names: a ZIP of
    every image. The ZIP is stored, not compressed. `limit` truncates the selection. More than 100
    images in one request is discouraged. An unknown name is answered 404; any other failure is plain
    text.

    Args:
        body (ImagesRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | str]
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
    body: ImagesRequest | Unset = UNSET,
) -> File | str | None:
    """One image as a PNG, or several as a stored ZIP

     Exactly one name in `images`: that PNG itself. Several names: a ZIP of them; no names: a ZIP of
    every image. The ZIP is stored, not compressed. `limit` truncates the selection. More than 100
    images in one request is discouraged. An unknown name is answered 404; any other failure is plain
    text.

    Args:
        body (ImagesRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | str
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ImagesRequest | Unset = UNSET,
) -> Response[File | str]:
    """One image as a PNG, or several as a stored ZIP

     Exactly one name in `images`: that PNG itself. Several names: a ZIP of them; no names: a ZIP of
    every image. The ZIP is stored, not compressed. `limit` truncates the selection. More than 100
    images in one request is discouraged. An unknown name is answered 404; any other failure is plain
    text.

    Args:
        body (ImagesRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | str]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ImagesRequest | Unset = UNSET,
) -> File | str | None:
    """One image as a PNG, or several as a stored ZIP

     Exactly one name in `images`: that PNG itself. Several names: a ZIP of them; no names: a ZIP of
    every image. The ZIP is stored, not compressed. `limit` truncates the selection. More than 100
    images in one request is discouraged. An unknown name is answered 404; any other failure is plain
    text.

    Args:
        body (ImagesRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | str
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
