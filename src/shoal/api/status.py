"""What every API surface shares about a domain error: its HTTP status and the headers it asks for.

Each surface (Fish, OpenAI, …) renders the body in its own format on top of these.
"""

from __future__ import annotations

import math

from shoal.errors import (
    AuthenticationFailed,
    ConcurrencyLimitExceeded,
    Conflict,
    EngineFailed,
    IdempotencyKeyReused,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    PermissionDenied,
    RateLimited,
    RequestRateExceeded,
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
    (PermissionDenied, 403),
    (NotFound, 404),
    (PaymentRequired, 402),
    (RateLimited, 429),
    (Conflict, 409),
    (IdempotencyKeyReused, 422),
    (Unavailable, 503),
    (EngineFailed, 500),
]


def status_for(error: ShoalError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def duration(seconds: float) -> str:
    """OpenAI's reset format: ``"12ms"``, ``"6s"``, ``"6m0s"``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if minutes else f"{rest:.3g}s"


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def limit_headers(kind: str, limit: int, remaining: int, reset_after: float) -> dict[str, str]:
    """``x-ratelimit-*-requests`` (OpenAI's names) or ``x-ratelimit-*-concurrency`` (Shoal's)."""
    return {
        f"x-ratelimit-limit-{kind}": str(limit),
        f"x-ratelimit-remaining-{kind}": str(max(0, remaining)),
        f"x-ratelimit-reset-{kind}": duration(reset_after),
    }


def error_headers(error: ShoalError) -> dict[str, str]:
    """Retry-After and limit state for refusals, WWW-Authenticate for authentication failures."""
    headers: dict[str, str] = {}
    if isinstance(error, Unavailable):
        headers["Retry-After"] = retry_after(error.retry_after)
    if isinstance(error, RateLimited):
        headers["Retry-After"] = retry_after(error.retry_after)
        state = error.state
        if isinstance(error, RequestRateExceeded):
            headers.update(limit_headers("requests", state.limit, state.remaining, state.reset_after))
        elif isinstance(error, ConcurrencyLimitExceeded):
            headers.update(limit_headers("concurrency", state.limit, state.remaining, state.reset_after))
    if isinstance(error, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    return headers
