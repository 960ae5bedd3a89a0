"""`create_app(config)`: the emulator as a Starlette ASGI application.

The routes depend on `config.api` (see `_revisions`): each `/em/` method and path is served
by the revisions that have it. A strict mode answers the other revision's forms as Django
REST Framework does: 405 with `Allow` for a method its path does not take (`GET
/em/files/list` on 2026-01), 404 for a path it does not have (`/em/pvc/list` on 2025-11).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import _handlers as h
from ._config import API_JANUARY_2026, API_NOVEMBER_2025, EmulatorConfig
from ._emulator import Emulator
from ._errors import INSUFFICIENT_STORAGE, INTERNAL_ERROR, NOT_FOUND, EMError, detail_response
from ._middleware import EMGate, MergeSlashes
from ._revisions import serves
from ._state import JsonDocument
from ._volumes_api import POD_VOLUMES_FILE, PodVolumes, pvc_delete, pvc_list

_log = logging.getLogger("dphi_em_emulator")

Endpoint = Callable[[Request], Awaitable[Response]]

_AUTH_ROUTES = [
    Route("/auth/", h.login, methods=["POST"]),
    Route("/auth", h.login, methods=["POST"]),
    Route("/auth/refresh", h.refresh, methods=["POST"]),
    Route("/auth/refresh/", h.refresh, methods=["POST"]),
]

_NOV, _JAN = API_NOVEMBER_2025, API_JANUARY_2026
_EVERY = (_NOV, _JAN)

#: path -> (handler, {method: the revisions that have it}).
EM_ROUTES: dict[str, tuple[Endpoint, dict[str, tuple[str, ...]]]] = {
    "/em/files/uplink": (h.uplink, {"POST": _EVERY}),
    "/em/files/list": (h.files_list, {"GET": (_NOV,), "POST": (_JAN,)}),
    "/em/files/downlink": (h.downlink, {"GET": _EVERY}),
    "/em/files/delete": (h.delete, {"POST": _EVERY}),
    "/em/pod/image/build": (h.image_build, {"POST": _EVERY}),
    "/em/pod/image/load": (h.image_load, {"POST": _EVERY}),
    "/em/pod/image/list": (h.image_list, {"GET": (_NOV,), "POST": (_JAN,)}),
    "/em/pod/namespace/create": (h.namespace_create, {"POST": (_NOV,)}),
    "/em/pod/run": (h.run, {"POST": _EVERY}),
    "/em/pod/status": (h.pod_status, {"GET": (_NOV,), "POST": (_JAN,)}),
    "/em/nodes/status": (h.nodes_status, {"GET": (_NOV,), "POST": (_JAN,)}),
    "/em/pvc/list": (pvc_list, {"POST": (_JAN,)}),
    "/em/pvc/delete": (pvc_delete, {"POST": (_JAN,)}),
    # emulator only: a pod's console output (the EM keeps none)
    "/em/emulator/pod/log": (h.pod_log, {"GET": _EVERY}),
}


def em_routes(api: str) -> list[Route]:
    """The `/em/` routes of an emulator serving `api` ("2025-11", "2026-01" or "both")."""
    routes = []
    for path, (endpoint, methods) in EM_ROUTES.items():
        served = [
            method
            for method, revisions in methods.items()
            if any(serves(api, revision) for revision in revisions)
        ]
        if served:
            routes.append(Route(path, endpoint, methods=served))
    return routes


async def _em_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EMError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        response = detail_response(405, f'Method "{request.method}" not allowed.')
        response.headers.update(exc.headers or {})  # Allow: ...
        return response
    if exc.status_code == 404:
        body = {"error": NOT_FOUND, "message": f"{request.url.path} not found."}
        return JSONResponse(body, status_code=404)
    return detail_response(exc.status_code, str(exc.detail))


async def _server_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        _log.warning("%s %s: the data dir is full: %s", request.method, request.url.path, exc)
        message = "The emulator's disk is full; try again when space is freed."
        return JSONResponse({"error": INSUFFICIENT_STORAGE, "message": message}, 507)
    _log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = {"error": INTERNAL_ERROR, "message": f"Internal server error: {type(exc).__name__}"}
    return JSONResponse(body, status_code=500)


def create_app(config: EmulatorConfig) -> Starlette:
    """The emulator's ASGI app; its state lives in `config.data_dir`.

    `app.state.emulator` holds the running state (its `lock` drives the 423 behaviour).
    """
    emulator = Emulator(config)
    app = Starlette(
        routes=[*_AUTH_ROUTES, *em_routes(config.api)],
        middleware=[
            Middleware(MergeSlashes),
            Middleware(
                EMGate,
                authenticator=emulator.auth,
                lock=emulator.lock,
                idle_timeout=config.request_idle_timeout,
            ),
        ],
        exception_handlers={
            EMError: _em_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.emulator = emulator
    app.state.pod_volumes = PodVolumes(JsonDocument(emulator.data.state / POD_VOLUMES_FILE))
    return app
