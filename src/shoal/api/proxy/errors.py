"""The proxy surface's errors: ``{"success": false, "error": {"code", "message"}, "trace_id"}``.

Codes as the proxy documents them (400 ``token_mismatched`` for bad parameters, 401
``invalid_token``, 429 ``too_many_requests``, 500 ``api_error``), and self-explanatory ones
for what it does not list (402, 403, 404, 413, 415, 503 …). ``trace_id`` is the request id
(also in ``x-request-id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from shoal.api.middleware import request_id
from shoal.api.status import error_headers, status_for
from shoal.errors import (
    AuthenticationFailed,
    Conflict,
    IdempotencyKeyReused,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    PermissionDenied,
    RateLimited,
    RequestTooLarge,
    ShoalError,
    Unavailable,
    UnsupportedEncoding,
)

PREFIX = "/v1/fish/"

BAD_PARAMETERS = "token_mismatched"
NOT_IMPLEMENTED = "api_not_implemented"

_CODES: list[tuple[type[ShoalError], str]] = [
    (UnsupportedEncoding, "unsupported_media_type"),
    (InvalidRequest, BAD_PARAMETERS),
    (RequestTooLarge, "payload_too_large"),
    (AuthenticationFailed, "invalid_token"),
    (PermissionDenied, "permission_denied"),
    (NotFound, "not_found"),
    (RateLimited, "too_many_requests"),
    (Conflict, "conflict"),
    (IdempotencyKeyReused, "idempotency_key_reused"),
    (Unavailable, "service_unavailable"),
]
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def _code(error: ShoalError) -> str:
    if isinstance(error, PaymentRequired):
        return error.code or "insufficient_balance"  # insufficient_balance, monthly_cap_exceeded
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return "api_error"


def error_response(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"success": False, "error": {"code": code, "message": message}, "trace_id": request_id(request)}
    return JSONResponse(body, status_code=status, headers=headers)


def domain_error_response(request: Request, error: ShoalError) -> JSONResponse:
    return error_response(request, status_for(error), _code(error), error.message, error_headers(error))


def http_error_response(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    code = _HTTP_CODES.get(status, "api_error" if status >= 500 else BAD_PARAMETERS)
    return error_response(request, status, code, message, headers)


def validation_error_response(request: Request, errors: Sequence[Any]) -> JSONResponse:
    """The first problem, as ``field: what is wrong`` (400, like every bad parameter here)."""
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "header"))
    what = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return error_response(request, 400, BAD_PARAMETERS, f"{where}: {what}" if where else what)
