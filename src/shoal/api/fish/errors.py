"""Fish Audio's error format: ``{"status", "message"}`` and nothing else; 422 as Kui's bare array.

The legacy SDK builds an exception from ``**body``: any extra key crashes it, so
nothing but ``status`` and ``message`` ever goes in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import JSONResponse

from shoal.api.status import error_headers, status_for
from shoal.errors import ShoalError


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status": status, "message": message}, status_code=status, headers=headers)


def domain_error_response(error: ShoalError) -> JSONResponse:
    return error_response(status_for(error), error.message, error_headers(error))


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
