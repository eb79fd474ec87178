"""Shoal's domain errors. No HTTP in here: each API surface maps them once.

    ShoalError
    ├── InvalidRequest          the request is well-formed but asks for something impossible
    │   ├── TextTooLong
    │   ├── NothingToSpeak
    │   ├── VoiceNotFound
    │   ├── MalformedBody       the body cannot be decoded at all
    │   ├── MissingField        a required field is absent
    │   ├── InvalidAudio        uploaded audio that cannot be decoded, or is too long or too short
    │   ├── UpstreamRejected    an upstream provider refused the request as invalid (its message kept)
    │   └── UnsupportedEncoding the body comes in an encoding the endpoint does not take
    ├── RequestTooLarge         the body exceeds a configured size limit
    ├── AuthenticationFailed    missing, unknown, revoked, disabled or expired API key
    │   └── WholesaleOnly       a wholesale-only model asked for with a standard key
    ├── PermissionDenied        the key may not do this (a model outside its list, admin work)
    ├── NotFound                a resource that does not exist or is not yours
    │   └── ModelNotFound       a model name that is not configured
    ├── PaymentRequired         the work would cost more than the caller may spend
    │   ├── InsufficientCredit  the account's balance is too low
    │   └── MonthlyCapExceeded  the key's monthly spending cap is reached
    ├── RateLimited             too many requests now; retry later
    │   ├── RequestRateExceeded requests per minute
    │   └── ConcurrencyLimitExceeded  requests in flight
    ├── Conflict                the same idempotency key is still being processed
    ├── IdempotencyKeyReused    an idempotency key sent again with a different request
    ├── Unavailable             temporarily unable to serve; retry later
    │   ├── EngineBusy
    │   └── UpstreamUnavailable every deployment of a model failed or is resting
    └── EngineFailed            an engine broke while working on a valid request

Validation of wire schemas (pydantic) is not a domain error: each surface renders
``pydantic.ValidationError`` in its own format.
"""

from __future__ import annotations

from dataclasses import dataclass


class ShoalError(Exception):
    """Base of every error Shoal raises on purpose."""

    code: str | None = None
    """A stable machine-readable reason, for surfaces that carry one (OpenAI's ``code``)."""
    param: str | None = None
    """The request field at fault, for surfaces that carry one (OpenAI's ``param``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ShoalError):
    pass


class TextTooLong(InvalidRequest):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            f"text is {length} characters long; the limit is {limit}. Split it into several requests."
        )


class NothingToSpeak(InvalidRequest):
    def __init__(self) -> None:
        super().__init__("text has nothing to speak once speaker and expression tags are removed")


class MalformedBody(InvalidRequest):
    pass


class MissingField(InvalidRequest):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidAudio(InvalidRequest):
    pass


class UnsupportedEncoding(InvalidRequest):
    pass


class UpstreamRejected(InvalidRequest):
    """An upstream said the request itself is wrong: its message, field and code are the caller's news."""

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


class RequestTooLarge(ShoalError):
    code = "file_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"request body is {size} bytes; the limit is {limit} bytes")


class AuthenticationFailed(ShoalError):
    code = "invalid_api_key"


class WholesaleOnly(AuthenticationFailed):
    code = "wholesale_key_required"

    def __init__(self, model: str) -> None:
        super().__init__(f"model {model!r} is sold wholesale only; use a wholesale key")


class PermissionDenied(ShoalError):
    code = "permission_denied"


class NotFound(ShoalError):
    code = "not_found"


class PaymentRequired(ShoalError):
    pass


class InsufficientCredit(PaymentRequired):
    code = "insufficient_balance"


class MonthlyCapExceeded(PaymentRequired):
    code = "monthly_cap_exceeded"


@dataclass(frozen=True, slots=True)
class LimitState:
    """Where a caller stands against one limit."""

    limit: int
    remaining: int
    reset_after: float
    """Seconds until the window frees a request (or a slot may free)."""


class RateLimited(ShoalError):
    def __init__(self, message: str, state: LimitState) -> None:
        super().__init__(message)
        self.state = state
        self.retry_after = max(state.reset_after, 0.001)


class RequestRateExceeded(RateLimited):
    code = "rate_limit_exceeded"

    def __init__(self, state: LimitState) -> None:
        super().__init__(
            f"rate limit reached: {state.limit} requests per minute for this key; "
            f"retry after {state.reset_after:.1f} s",
            state,
        )


class ConcurrencyLimitExceeded(RateLimited):
    code = "concurrency_limit_exceeded"

    def __init__(self, state: LimitState) -> None:
        super().__init__(
            f"concurrency limit reached: {state.limit} requests at once for this key; "
            "retry when one of them has finished",
            state,
        )


class Conflict(ShoalError):
    code = "idempotency_key_in_use"


class IdempotencyKeyReused(ShoalError):
    code = "idempotency_key_reused"


class VoiceNotFound(InvalidRequest):
    """A request names a voice that does not exist (Fish answers 400 for this, not 404)."""

    code = "voice_not_found"
    param = "voice"

    def __init__(self, voice_id: str) -> None:
        super().__init__(f"voice {voice_id!r} not found; use a voice model id or one of the built-in voices")


class ModelNotFound(NotFound):
    code = "model_not_found"


class Unavailable(ShoalError):
    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EngineBusy(Unavailable):
    def __init__(self, engine: str, *, retry_after: float = 1.0) -> None:
        super().__init__(
            f"engine {engine!r} is at capacity; retry after {retry_after:g} s", retry_after=retry_after
        )


class UpstreamUnavailable(Unavailable):
    code = "upstream_unavailable"


class EngineFailed(ShoalError):
    pass
