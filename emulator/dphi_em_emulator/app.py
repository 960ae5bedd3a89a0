"""`create_app(config)`: the emulator as a Starlette ASGI application."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import _handlers as h
from ._config import EmulatorConfig
from ._emulator import Emulator
from ._errors import INTERNAL_ERROR, NOT_FOUND, EMError, detail_response
from ._middleware import EMGate, MergeSlashes

_log = logging.getLogger("dphi_em_emulator")

_ROUTES = [
    Route("/auth/", h.login, methods=["POST"]),
    Route("/auth", h.login, methods=["POST"]),
    Route("/auth/refresh", h.refresh, methods=["POST"]),
    Route("/auth/refresh/", h.refresh, methods=["POST"]),
    Route("/em/files/uplink", h.uplink, methods=["POST"]),
    Route("/em/files/list", h.files_list, methods=["GET"]),
    Route("/em/files/downlink", h.downlink, methods=["GET"]),
    Route("/em/files/delete", h.delete, methods=["POST"]),
    Route("/em/pod/image/build", h.image_build, methods=["POST"]),
    Route("/em/pod/image/load", h.image_load, methods=["POST"]),
    Route("/em/pod/image/list", h.image_list, methods=["GET"]),
    Route("/em/pod/namespace/create", h.namespace_create, methods=["POST"]),
    Route("/em/pod/run", h.run, methods=["POST"]),
    Route("/em/pod/status", h.pod_status, methods=["GET"]),
    Route("/em/nodes/status", h.nodes_status, methods=["GET"]),
]


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
    _log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = {"error": INTERNAL_ERROR, "message": f"Internal server error: {type(exc).__name__}"}
    return JSONResponse(body, status_code=500)


def create_app(config: EmulatorConfig) -> Starlette:
    """The emulator's ASGI app; its state lives in `config.data_dir`.

    `app.state.emulator` holds the running state (its `lock` drives the 423 behaviour).
    """
    emulator = Emulator(config)
    app = Starlette(
        routes=_ROUTES,
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
    return app
