from http import HTTPStatus
from io import BytesIO
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.auth_error import AuthError
from ...models.em_error import EmError
from ...types import UNSET, File, Response, Unset


def _get_kwargs(
    *,
    filepath: str,
    pod_name: None | str | Unset = UNSET,
    pvc_name: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["filepath"] = filepath

    json_pod_name: None | str | Unset
    if isinstance(pod_name, Unset):
        json_pod_name = UNSET
    else:
        json_pod_name = pod_name
    params["pod_name"] = json_pod_name

    json_pvc_name: None | str | Unset
    if isinstance(pvc_name, Unset):
        json_pvc_name = UNSET
    else:
        json_pvc_name = pvc_name
    params["pvc_name"] = json_pvc_name

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/em/files/downlink",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuthError | EmError | File | None:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

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
) -> Response[AuthError | EmError | File]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    filepath: str,
    pod_name: None | str | Unset = UNSET,
    pvc_name: None | str | Unset = UNSET,
) -> Response[AuthError | EmError | File]:
    """Downlink a file from the user's onboard private volume

    Args:
        filepath (str):
        pod_name (None | str | Unset): A pod name, which is also the name of its persistent
            volume: a Kubernetes object name (lowercase letters, digits and '-', starting and ending
            with a letter or digit, at most 63 characters). Empty or null means the default pod and
            volume.
        pvc_name (None | str | Unset): A volume ("persistent volume claim") name, January 2026
            revision (taken from the vendor's client, not its spec): the same rules as a pod name.
            Empty or null means the default volume. An EM of the November 2025 revision ignores the
            field.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthError | EmError | File]
    """

    kwargs = _get_kwargs(
        filepath=filepath,
        pod_name=pod_name,
        pvc_name=pvc_name,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    filepath: str,
    pod_name: None | str | Unset = UNSET,
    pvc_name: None | str | Unset = UNSET,
) -> AuthError | EmError | File | None:
    """Downlink a file from the user's onboard private volume

    Args:
        filepath (str):
        pod_name (None | str | Unset): A pod name, which is also the name of its persistent
            volume: a Kubernetes object name (lowercase letters, digits and '-', starting and ending
            with a letter or digit, at most 63 characters). Empty or null means the default pod and
            volume.
        pvc_name (None | str | Unset): A volume ("persistent volume claim") name, January 2026
            revision (taken from the vendor's client, not its spec): the same rules as a pod name.
            Empty or null means the default volume. An EM of the November 2025 revision ignores the
            field.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthError | EmError | File
    """

    return sync_detailed(
        client=client,
        filepath=filepath,
        pod_name=pod_name,
        pvc_name=pvc_name,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    filepath: str,
    pod_name: None | str | Unset = UNSET,
    pvc_name: None | str | Unset = UNSET,
) -> Response[AuthError | EmError | File]:
    """Downlink a file from the user's onboard private volume

    Args:
        filepath (str):
        pod_name (None | str | Unset): A pod name, which is also the name of its persistent
            volume: a Kubernetes object name (lowercase letters, digits and '-', starting and ending
            with a letter or digit, at most 63 characters). Empty or null means the default pod and
            volume.
        pvc_name (None | str | Unset): A volume ("persistent volume claim") name, January 2026
            revision (taken from the vendor's client, not its spec): the same rules as a pod name.
            Empty or null means the default volume. An EM of the November 2025 revision ignores the
            field.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthError | EmError | File]
    """

    kwargs = _get_kwargs(
        filepath=filepath,
        pod_name=pod_name,
        pvc_name=pvc_name,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    filepath: str,
    pod_name: None | str | Unset = UNSET,
    pvc_name: None | str | Unset = UNSET,
) -> AuthError | EmError | File | None:
    """Downlink a file from the user's onboard private volume

    Args:
        filepath (str):
        pod_name (None | str | Unset): A pod name, which is also the name of its persistent
            volume: a Kubernetes object name (lowercase letters, digits and '-', starting and ending
            with a letter or digit, at most 63 characters). Empty or null means the default pod and
            volume.
        pvc_name (None | str | Unset): A volume ("persistent volume claim") name, January 2026
            revision (taken from the vendor's client, not its spec): the same rules as a pod name.
            Empty or null means the default volume. An EM of the November 2025 revision ignores the
            field.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthError | EmError | File
    """

    return (
        await asyncio_detailed(
            client=client,
            filepath=filepath,
            pod_name=pod_name,
            pvc_name=pvc_name,
        )
    ).parsed
