"""The ASGI application factory."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shoal import __version__
from shoal.api.fish import errors as fish_errors
from shoal.api.fish.tts import router as fish_tts_router
from shoal.api.health import router as health_router
from shoal.api.middleware import RequestIdMiddleware
from shoal.auth.keys import count_keys, create_key
from shoal.errors import ShoalError
from shoal.services import Services
from shoal.settings import Settings

log = logging.getLogger("shoal")


def _bootstrap_key(services: Services) -> None:
    """On first start with an empty database, make one key and show it, once, on stdout."""
    if services.settings.bootstrap_key != "auto" or count_keys(db=services.db) > 0:
        return
    key, secret = create_key(db=services.db, name="default")
    print(
        "\nShoal created your first API key (shown only this once; `shoal keys create` makes more):\n"
        f"\n    {secret}\n",
        file=sys.stdout,
        flush=True,
    )
    log.info("created first API key %s (%s…)", key.id, key.prefix)


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """Build the app. ``services`` may be passed in (tests share one set of loaded engines)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        running = services if services is not None else await Services.start(settings)
        _bootstrap_key(running)
        app.state.services = running
        try:
            yield
        finally:
            if owned:
                await running.close()

    app = FastAPI(
        title="Shoal",
        version=__version__,
        summary="Self-hosted speech API: Fish Audio-compatible text to speech on local voices.",
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health_router)
    app.include_router(fish_tts_router)

    @app.exception_handler(ShoalError)
    async def _domain_error(_request: Request, error: ShoalError) -> Response:
        return fish_errors.domain_error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> Response:
        return fish_errors.validation_error_response(error.errors())

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, error: HTTPException) -> Response:
        message = error.detail if isinstance(error.detail, str) else "request failed"
        if error.status_code == 404:
            message = "not found: no such endpoint; see /docs for the API"
        elif error.status_code == 405:
            message = "method not allowed on this endpoint; see /docs for the API"
        return fish_errors.error_response(error.status_code, message, dict(error.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        request_id = request.scope.get("state", {}).get("request_id", "?")
        log.exception("unhandled error (request %s)", request_id)
        response: JSONResponse = fish_errors.error_response(
            500, f"internal server error; quote request id {request_id} when reporting it"
        )
        return response

    return app
