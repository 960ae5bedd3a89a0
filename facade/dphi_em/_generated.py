"""The one place that touches the generated client (`em_api_client`).

Request builders wrap each generated operation's private `_get_kwargs` and its request
models; parsers read answers through the generated models and return our own types
(`_models`). A generator upgrade that renames or reshapes anything breaks this module only,
and `tests/spec/test_pipeline.py` pins what it relies on.

Builders take values already checked by `_validate` (plain Python: None means "not given")
and return the keyword arguments of `httpx.Client.request` / `build_request`. A volume is
named in both fields (`pod_name` for an EM of the November 2025 revision, `pvc_name` for one
of January 2026); a read-only call has a `GET` form and a `POST` form (see `_revision`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs
import httpx
from em_api_client import Client
from em_api_client.api.em import (
    em_files_delete_create,
    em_files_downlink_list,
    em_files_list_create,
    em_files_list_list,
    em_nodes_status_create,
    em_nodes_status_list,
    em_pod_image_build_create,
    em_pod_image_list_create,
    em_pod_image_list_list,
    em_pod_image_load_create,
    em_pod_namespace_create_create,
    em_pod_run_create,
    em_pod_status_create,
    em_pod_status_list,
    em_pvc_delete_create,
    em_pvc_list_create,
)
from em_api_client.models import (
    EmDeleteRequest,
    EmFilesListRequest,
    EmImageBuildRequest,
    EmImageListResponse,
    EmImageLoadRequest,
    EmMessage,
    EmNodesStatusResponse,
    EmNodeType,
    EmPodStatusResponse,
    EmPvcDeleteRequest,
    EmPvcListResponse,
    EmRunRequest,
    EmRunRequestEnvsType0,
    EmUplinkResponse,
)
from em_api_client.types import UNSET, Unset

from ._errors import MAX_ANSWER_BYTES, APIError, ConfigurationError
from ._models import FileNode, NodeStatus, PodState, Volume

__all__ = [
    "MAX_JSON_BYTES",
    "Client",
    "async_raw_client",
    "delete_request",
    "delete_volume_request",
    "downlink_request",
    "files_list_post",
    "files_list_request",
    "image_build_request",
    "image_list_post",
    "image_list_request",
    "image_load_request",
    "namespace_create_request",
    "nodes_status_post",
    "nodes_status_request",
    "parse_file_tree",
    "parse_image_list",
    "parse_json",
    "parse_message",
    "parse_nodes",
    "parse_pod_state",
    "parse_uplink_count",
    "parse_volumes",
    "pod_status_post",
    "pod_status_request",
    "run_request",
    "sync_raw_client",
    "uplink_fields",
    "volumes_request",
]

_M = TypeVar("_M")
_T = TypeVar("_T")

#: Most bytes of a JSON answer the client parses (a larger one is an `APIError`); the
#: transport stops reading an answer soon after this many bytes (`_transports._bounds`).
MAX_JSON_BYTES = MAX_ANSWER_BYTES


def _opt(value: _T | None) -> _T | Unset:
    return UNSET if value is None else value


# -- requests ---------------------------------------------------------------------------------


def files_list_request(pod_name: str | None) -> dict[str, Any]:
    return em_files_list_list._get_kwargs(pod_name=_opt(pod_name))


def files_list_post(pod_name: str | None) -> dict[str, Any]:
    kwargs = em_files_list_create._get_kwargs(body=EmFilesListRequest(pvc_name=_opt(pod_name)))
    if "data" not in kwargs:  # no field at all: an empty form
        kwargs["data"] = {}
    return kwargs


def downlink_request(filepath: str, pod_name: str | None) -> dict[str, Any]:
    return em_files_downlink_list._get_kwargs(
        filepath=filepath, pod_name=_opt(pod_name), pvc_name=_opt(pod_name)
    )


def uplink_fields(dest_dir: str, pod_name: str | None) -> list[tuple[str, str]]:
    """The plain fields of an uplink's multipart body (the files follow)."""
    fields = [("dest_path", dest_dir)] if dest_dir else []
    if pod_name is not None:
        fields += [("pod_name", pod_name), ("pvc_name", pod_name)]
    return fields


def delete_request(filepath: str, pod_name: str | None) -> dict[str, Any]:
    body = EmDeleteRequest(filepath=filepath, pod_name=_opt(pod_name), pvc_name=_opt(pod_name))
    return em_files_delete_create._get_kwargs(body=body)


def image_build_request(
    dockerfile: str, image: str, context: str, pod_name: str | None
) -> dict[str, Any]:
    body = EmImageBuildRequest(
        dockerfile=dockerfile,
        image=image,
        context=context,
        pod_name=_opt(pod_name),
        pvc_name=_opt(pod_name),
    )
    return em_pod_image_build_create._get_kwargs(body=body)


def image_load_request(tarfile: str, image: str, pod_name: str | None) -> dict[str, Any]:
    body = EmImageLoadRequest(
        tarfile=tarfile, image=image, pod_name=_opt(pod_name), pvc_name=_opt(pod_name)
    )
    return em_pod_image_load_create._get_kwargs(body=body)


image_list_request = em_pod_image_list_list._get_kwargs
image_list_post = em_pod_image_list_create._get_kwargs
namespace_create_request = em_pod_namespace_create_create._get_kwargs


def run_request(
    *,
    image: str,
    node: str,
    max_duration: int,
    command: str | None,
    scheduled_time: datetime | None,
    pod_name: str | None,
    pvc_name: str | None,
    ports: list[int] | None,
    namespace: bool,
    args: list[str] | None,
    envs: Mapping[str, str] | None,
) -> dict[str, Any]:
    env_model: EmRunRequestEnvsType0 | Unset = UNSET
    if envs is not None:
        env_model = EmRunRequestEnvsType0()
        env_model.additional_properties.update(envs)
    body = EmRunRequest(
        image=image,
        max_duration=max_duration,
        node=EmNodeType(node),
        scheduled_time=_opt(scheduled_time),
        command=_opt(command),
        args=_opt(args),
        envs=env_model,
        ports=_opt(ports),
        namespace=namespace,
        pod_name=_opt(pod_name),
        pvc_name=_opt(pvc_name),
    )
    return em_pod_run_create._get_kwargs(body=body)


def pod_status_request(pod_name: str | None) -> dict[str, Any]:
    return em_pod_status_list._get_kwargs(pod_name=_opt(pod_name))


def pod_status_post(pod_name: str | None) -> dict[str, Any]:
    return em_pod_status_create._get_kwargs(pod_name=_opt(pod_name))


nodes_status_request = em_nodes_status_list._get_kwargs
nodes_status_post = em_nodes_status_create._get_kwargs
volumes_request = em_pvc_list_create._get_kwargs


def delete_volume_request(name: str) -> dict[str, Any]:
    return em_pvc_delete_create._get_kwargs(body=EmPvcDeleteRequest(pvc_name=name))


# -- answers ----------------------------------------------------------------------------------


def _where(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path}"


def parse_json(response: httpx.Response) -> Any:
    """The JSON body of an answer, bounded in size and depth.

    Raises:
        APIError: The body is over `MAX_JSON_BYTES`, not JSON, or nested too deeply; the
            message names the call.
    """
    content = response.content
    if len(content) > MAX_JSON_BYTES:
        raise APIError(
            f"Unexpected answer from {_where(response)}: {len(content)} bytes of JSON, "
            f"more than the {MAX_JSON_BYTES} the client reads.",
            status_code=response.status_code,
            response=response,
        )
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:
        raise APIError(
            f"Unexpected answer from {_where(response)}: not JSON ({type(exc).__name__}).",
            status_code=response.status_code,
            response=response,
        ) from None


def _parse(response: httpx.Response, model: Callable[[Any], _M]) -> _M:
    body = parse_json(response)
    try:
        return model(body)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise APIError(
            f"Unexpected answer from {_where(response)}: {type(exc).__name__}: {exc}"[:500],
            status_code=response.status_code,
            response=response,
        ) from exc


def parse_file_tree(response: httpx.Response) -> list[FileNode]:
    """The `files/list` tree as `FileNode`s.

    Read straight from the JSON (the same checks as `EmFilesListResponse`: a `data` list of
    entries with a string `name` and a `type` of `file` or `directory`), without building the
    generated models first: a listing is the most frequent call, and that halved its parsing.
    """
    body = parse_json(response)
    data = body.get("data") if isinstance(body, dict) else None
    try:
        if not isinstance(data, list):
            raise ValueError("no `data` list")
        return [FileNode.from_dict(node) for node in data]
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise APIError(
            f"Unexpected answer from {_where(response)}: a file tree: {exc}"[:500],
            status_code=response.status_code,
            response=response,
        ) from None


def parse_message(response: httpx.Response) -> str:
    return _parse(response, EmMessage.from_dict).message


def parse_image_list(response: httpx.Response) -> list[str]:
    return list(_parse(response, EmImageListResponse.from_dict).data)


def parse_pod_state(response: httpx.Response) -> PodState:
    parsed = _parse(response, EmPodStatusResponse.from_dict)
    state = PodState.from_state(parsed.data.state.to_dict())
    return attrs.evolve(state, warnings=_emulator_warnings(response))


def _emulator_warnings(response: httpx.Response) -> tuple[str, ...]:
    """The emulator's `data.emulator.warnings` (e.g. an amd64 image on the arm64 CG2), if any.

    Only the emulator sends them (the EM's answer has no `emulator` object).
    """
    try:
        body = response.json()
    except ValueError:
        return ()
    data = body.get("data") if isinstance(body, dict) else None
    extra = data.get("emulator") if isinstance(data, dict) else None
    found = extra.get("warnings") if isinstance(extra, dict) else None
    if not isinstance(found, list):
        return ()
    return tuple(str(item) for item in found if isinstance(item, str))


def parse_nodes(response: httpx.Response) -> list[NodeStatus]:
    parsed = _parse(response, EmNodesStatusResponse.from_dict)
    return [
        NodeStatus(name=n.name, ready=n.status.strip().lower() == "true", status=n.status)
        for n in parsed.data
    ]


def parse_uplink_count(response: httpx.Response) -> int:
    return _parse(response, EmUplinkResponse.from_dict).data.file_count


def parse_volumes(response: httpx.Response) -> list[Volume]:
    parsed = _parse(response, EmPvcListResponse.from_dict)
    return [
        Volume(
            name=v.name,
            default=bool(v.default) if not isinstance(v.default, Unset) else not v.name,
            size=None if isinstance(v.size, Unset) else v.size,
            file_count=None if isinstance(v.file_count, Unset) else v.file_count,
        )
        for v in parsed.data
    ]


# -- `raw`: the generated client on the facade's httpx client ---------------------------------


class _SyncOnlyTransport(httpx.AsyncBaseTransport):
    """The async side of `EMClient.raw`: refuses, naming what to use instead."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise ConfigurationError(
            "EMClient.raw serves the generated sync calls (sync, sync_detailed) only: use "
            "AsyncEMClient.raw for the asyncio calls, with the same tokens and retries."
        )


class _AsyncOnlyTransport(httpx.BaseTransport):
    """The sync side of `AsyncEMClient.raw`: refuses, naming what to use instead."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise ConfigurationError(
            "AsyncEMClient.raw serves the generated asyncio calls (asyncio, "
            "asyncio_detailed) only: use EMClient.raw for the sync calls."
        )


def sync_raw_client(base_url: httpx.URL, http: httpx.Client) -> Client:
    """`EMClient.raw`: the generated client whose sync calls go through `http`."""
    raw = Client(base_url=str(base_url)).set_httpx_client(http)
    raw.set_async_httpx_client(httpx.AsyncClient(transport=_SyncOnlyTransport()))
    return raw


def async_raw_client(base_url: httpx.URL, http: httpx.AsyncClient) -> Client:
    """`AsyncEMClient.raw`: the generated client whose asyncio calls go through `http`."""
    raw = Client(base_url=str(base_url)).set_async_httpx_client(http)
    raw.set_httpx_client(httpx.Client(transport=_AsyncOnlyTransport()))
    return raw
