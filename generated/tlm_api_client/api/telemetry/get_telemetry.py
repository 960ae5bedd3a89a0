import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.records_response import RecordsResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    start_time: datetime.datetime | Unset = UNSET,
    end_time: datetime.datetime | Unset = UNSET,
    data_type: str | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_start_time: str | Unset = UNSET
    if not isinstance(start_time, Unset):
        json_start_time = start_time.isoformat()
    params["start_time"] = json_start_time

    json_end_time: str | Unset = UNSET
    if not isinstance(end_time, Unset):
        json_end_time = end_time.isoformat()
    params["end_time"] = json_end_time

    params["data_type"] = data_type

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/telemetry",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | RecordsResponse | None:
    if response.status_code == 200:
        response_200 = RecordsResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | RecordsResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    start_time: datetime.datetime | Unset = UNSET,
    end_time: datetime.datetime | Unset = UNSET,
    data_type: str | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> Response[ErrorResponse | RecordsResponse]:
    """Records, filtered by time window, type and count

     Records whose timestamp lies in [start_time, end_time], oldest first; `limit` keeps the first ones.
    Without any of start_time, end_time and limit the whole database comes back, slowly: the vendor
    warns that such a query may time out.

    Args:
        start_time (datetime.datetime | Unset):
        end_time (datetime.datetime | Unset):
        data_type (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | RecordsResponse]
    """

    kwargs = _get_kwargs(
        start_time=start_time,
        end_time=end_time,
        data_type=data_type,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    start_time: datetime.datetime | Unset = UNSET,
    end_time: datetime.datetime | Unset = UNSET,
    data_type: str | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> ErrorResponse | RecordsResponse | None:
    """Records, filtered by time window, type and count

     Records whose timestamp lies in [start_time, end_time], oldest first; `limit` keeps the first ones.
    Without any of start_time, end_time and limit the whole database comes back, slowly: the vendor
    warns that such a query may time out.

    Args:
        start_time (datetime.datetime | Unset):
        end_time (datetime.datetime | Unset):
        data_type (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | RecordsResponse
    """

    return sync_detailed(
        client=client,
        start_time=start_time,
        end_time=end_time,
        data_type=data_type,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    start_time: datetime.datetime | Unset = UNSET,
    end_time: datetime.datetime | Unset = UNSET,
    data_type: str | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> Response[ErrorResponse | RecordsResponse]:
    """Records, filtered by time window, type and count

     Records whose timestamp lies in [start_time, end_time], oldest first; `limit` keeps the first ones.
    Without any of start_time, end_time and limit the whole database comes back, slowly: the vendor
    warns that such a query may time out.

    Args:
        start_time (datetime.datetime | Unset):
        end_time (datetime.datetime | Unset):
        data_type (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | RecordsResponse]
    """

    kwargs = _get_kwargs(
        start_time=start_time,
        end_time=end_time,
        data_type=data_type,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    start_time: datetime.datetime | Unset = UNSET,
    end_time: datetime.datetime | Unset = UNSET,
    data_type: str | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> ErrorResponse | RecordsResponse | None:
    """Records, filtered by time window, type and count

     Records whose timestamp lies in [start_time, end_time], oldest first; `limit` keeps the first ones.
    Without any of start_time, end_time and limit the whole database comes back, slowly: the vendor
    warns that such a query may time out.

    Args:
        start_time (datetime.datetime | Unset):
        end_time (datetime.datetime | Unset):
        data_type (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | RecordsResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            start_time=start_time,
            end_time=end_time,
            data_type=data_type,
            limit=limit,
        )
    ).parsed
