"""Error handlers: each domain error is mapped once per API surface, chosen by path.

Fish routes answer ``{"status", "message"}`` (422 as Kui's array); OpenAI routes
answer the ``{"error": {...}}`` envelope.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from shoal.api.fish import errors as fish
from shoal.api.middleware import discard_response_headers
from shoal.api.openai import errors as openai
from shoal.api.proxy import errors as proxy
from shoal.billing.metering import BILLING_HEADER_PREFIX
from shoal.errors import ShoalError

log = logging.getLogger("shoal")

OPENAI_PREFIXES = (
    "/v1/audio/", "/v1/chat/", "/v1/models", "/v1/run", "/v1/completions", "/v1/embeddings",
    "/v1/usage", "/v1/admin/", "/v1/tasks", "/v1/webhooks",
)  # fmt: skip


def _is_openai(request: Request) -> bool:
    return request.url.path.startswith(OPENAI_PREFIXES)


def _is_proxy(request: Request) -> bool:
    return request.url.path.startswith(proxy.PREFIX)


def _http_message(error: HTTPException) -> str:
    if error.status_code == 404:
        return "not found: no such endpoint; see /docs for the API"
    if error.status_code == 405:
        return "method not allowed on this endpoint; see /docs for the API"
    return error.detail if isinstance(error.detail, str) else "request failed"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShoalError)
    async def _domain(request: Request, error: ShoalError) -> Response:
        # A request that failed is not charged: the hold announced in its headers is released.
        discard_response_headers(request, BILLING_HEADER_PREFIX)
        if _is_proxy(request):
            return proxy.domain_error_response(request, error)
        if _is_openai(request):
            return openai.domain_error_response(error)
        return fish.domain_error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        if _is_proxy(request):
            return proxy.validation_error_response(request, error.errors())
        if _is_openai(request):
            return openai.validation_error_response(error.errors())
        return fish.validation_error_response(error.errors())

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> Response:
        headers = dict(error.headers or {})
        if _is_proxy(request):
            return proxy.http_error_response(request, error.status_code, _http_message(error), headers)
        if _is_openai(request):
            return openai.error_response(error.status_code, _http_message(error), headers=headers)
        return fish.error_response(error.status_code, _http_message(error), headers)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, error: ClientDisconnect) -> Response:
        # The client left while its body was being read: nobody will read an answer, nothing broke.
        log.debug("request %s: client disconnected", request.scope.get("state", {}).get("request_id", "?"))
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        discard_response_headers(request, BILLING_HEADER_PREFIX)
        request_id = request.scope.get("state", {}).get("request_id", "?")
        log.exception("unhandled error (request %s)", request_id)
        message = f"internal server error; quote request id {request_id} when reporting it"
        if _is_proxy(request):
            return proxy.error_response(request, 500, "api_error", message)
        if _is_openai(request):
            return openai.error_response(500, message)
        return fish.error_response(500, message)
