"""What every API surface shares about a domain error: its HTTP status and the headers it asks for.

Each surface (Fish, OpenAI, …) renders the body in its own format on top of these.
"""

from __future__ import annotations

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


def error_headers(error: ShoalError) -> dict[str, str]:
    """Retry-After for temporary refusals, WWW-Authenticate for authentication failures."""
    headers: dict[str, str] = {}
    if isinstance(error, Unavailable):
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    if isinstance(error, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    return headers
