"""OpenAI's error envelope: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import JSONResponse

from shoal.api.status import error_headers, status_for
from shoal.errors import ShoalError

_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    503: "service_unavailable_error",
}


def error_type(status: int, code: str | None = None) -> str:
    if code == "insufficient_balance":
        return code  # seed 002's envelope: type and code both name it
    if status in _TYPES:
        return _TYPES[status]
    return "server_error" if status >= 500 else "invalid_request_error"


def error_response(
    status: int, message: str, *, code: str | None = None, param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:  # fmt: skip
    body = {"error": {"message": message, "type": error_type(status, code), "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def domain_error_response(error: ShoalError) -> JSONResponse:
    status = status_for(error)
    return error_response(
        status, error.message, code=error.code, param=error.param, headers=error_headers(error)
    )


def validation_error_response(errors: Sequence[Any]) -> JSONResponse:
    first = errors[0] if errors else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "header", "path")]
    param = ".".join(loc) or None
    message = (
        f"{param}: {first.get('msg', 'invalid value')}" if param else str(first.get("msg", "invalid request"))
    )
    code = "missing_required_parameter" if first.get("type") == "missing" else "invalid_value"
    return error_response(400, message, param=param, code=code)
