from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.auth_error import AuthError
from ...models.em_error import EmError
from ...models.em_pod_status_response import EmPodStatusResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    pod_name: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_pod_name: None | str | Unset
    if isinstance(pod_name, Unset):
        json_pod_name = UNSET
    else:
        json_pod_name = pod_name
    params["pod_name"] = json_pod_name

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/em/pod/status",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuthError | EmError | EmPodStatusResponse | None:
    if response.status_code == 200:
        response_200 = EmPodStatusResponse.from_dict(response.json())

        return response_200

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
) -> Response[AuthError | EmError | EmPodStatusResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    pod_name: None | str | Unset = UNSET,
) -> Response[AuthError | EmError | EmPodStatusResponse]:
    """The state of a pod (a Kubernetes container state); November 2025 (January 2026 has the POST form).

    Args:
        pod_name (None | str | Unset): A pod name, which is also the name of its persistent
            volume: a Kubernetes object name (lowercase letters, digits and '-', starting and ending
            with a letter or digit, at most 63 characters). Empty or null means the default pod and
            volume.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthError | EmError | EmPodStatusResponse]
    """

    kwargs = _get_kwargs(
        pod_name=pod_name,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    pod_name: None | str | Unset = UNSET,
) -> AuthError | EmError | EmPodStatusResponse | None:
    """The state of a pod (a Kubernetes container state); November 2025 (January 2026 has the POST form).

    Args:
        pod_name (None | str | Unset): A pod name, which is also the name of its persistent
            volume: a Kubernetes object name (lowercase letters, digits and '-', starting and ending
            with a letter or digit, at most 63 characters). Empty or null means the default pod and
            volume.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthError | EmError | EmPodStatusResponse
    """

    return sync_detailed(
        client=client,
        pod_name=pod_name,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    pod_name: None | str | Unset = UNSET,
) -> Response[AuthError | EmError | EmPodStatusResponse]:
    """The state of a pod (a Kubernetes container state); November 2025 (January 2026 has the POST form).

    Args:
        pod_name (None | str | Unset): A pod name, which is also the name of its persistent
            volume: a Kubernetes object name (lowercase letters, digits and '-', starting and ending
            with a letter or digit, at most 63 characters). Empty or null means the default pod and
            volume.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthError | EmError | EmPodStatusResponse]
    """

    kwargs = _get_kwargs(
        pod_name=pod_name,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    pod_name: None | str | Unset = UNSET,
) -> AuthError | EmError | EmPodStatusResponse | None:
    """The state of a pod (a Kubernetes container state); November 2025 (January 2026 has the POST form).

    Args:
        pod_name (None | str | Unset): A pod name, which is also the name of its persistent
            volume: a Kubernetes object name (lowercase letters, digits and '-', starting and ending
            with a letter or digit, at most 63 characters). Empty or null means the default pod and
            volume.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthError | EmError | EmPodStatusResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            pod_name=pod_name,
        )
    ).parsed
