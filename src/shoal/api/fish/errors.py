"""Fish Audio's error format: ``{"status", "message"}`` and nothing else; 422 as Kui's bare array.

The legacy SDK builds an exception from ``**body``: any extra key crashes it, so
nothing but ``status`` and ``message`` ever goes in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import JSONResponse

from shoal.errors import (
    AuthenticationFailed,
    EngineFailed,
    InvalidRequest,
    NotFound,
    RequestTooLarge,
    ShoalError,
    Unavailable,
    UnsupportedEncoding,
)

_STATUS: list[tuple[type[ShoalError], int]] = [
    (UnsupportedEncoding, 415),
    (InvalidRequest, 400),
    (RequestTooLarge, 413),
    (AuthenticationFailed, 401),
    (NotFound, 404),
    (Unavailable, 503),
    (EngineFailed, 500),
]


def status_for(error: ShoalError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status": status, "message": message}, status_code=status, headers=headers)


def retry_headers(error: ShoalError) -> dict[str, str]:
    """Headers an error asks for on any surface: Retry-After, WWW-Authenticate."""
    headers: dict[str, str] = {}
    if isinstance(error, Unavailable):
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    if isinstance(error, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    return headers


def domain_error_response(error: ShoalError) -> JSONResponse:
    return error_response(status_for(error), error.message, retry_headers(error))


_LOCATIONS = frozenset({"body", "query", "header", "path", "cookie"})


def _validation_item(error: Any) -> dict[str, Any]:
    loc = list(error.get("loc", ()))
    where = loc.pop(0) if loc and loc[0] in _LOCATIONS else "body"
    return {
        "loc": loc or [where],
        "type": str(error.get("type", "value_error")),
        "msg": str(error.get("msg", "invalid value")),
        "in": where,
    }


def validation_error_response(errors: Sequence[Any]) -> JSONResponse:
    """Kui's validation format: a bare array of ``{loc, type, msg, in}``, status 422."""
    return JSONResponse([_validation_item(error) for error in errors], status_code=422)
