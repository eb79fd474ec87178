"""Shoal's domain errors. No HTTP in here: each API surface maps them once.

    ShoalError
    ├── InvalidRequest          the request is well-formed but asks for something impossible
    │   ├── TextTooLong
    │   ├── NothingToSpeak
    │   ├── VoiceNotFound
    │   ├── MalformedBody       the body cannot be decoded at all
    │   ├── MissingField        a required field is absent
    │   ├── InvalidAudio        uploaded audio that cannot be decoded, or is too long or too short
    │   └── UnsupportedEncoding the body comes in an encoding the endpoint does not take
    ├── RequestTooLarge         the body exceeds a configured size limit
    ├── AuthenticationFailed    missing, unknown or revoked API key
    ├── NotFound                a resource that does not exist or is not yours
    │   └── ModelNotFound       a model name that is not configured
    ├── Unavailable             temporarily unable to serve; retry later
    │   └── EngineBusy
    └── EngineFailed            an engine broke while working on a valid request

Validation of wire schemas (pydantic) is not a domain error: each surface renders
``pydantic.ValidationError`` in its own format.
"""

from __future__ import annotations


class ShoalError(Exception):
    """Base of every error Shoal raises on purpose."""

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


class RequestTooLarge(ShoalError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"request body is {size} bytes; the limit is {limit} bytes")


class AuthenticationFailed(ShoalError):
    pass


class NotFound(ShoalError):
    pass


class VoiceNotFound(InvalidRequest):
    """A request names a voice that does not exist (Fish answers 400 for this, not 404)."""

    def __init__(self, voice_id: str) -> None:
        super().__init__(f"voice {voice_id!r} not found; use a voice model id or one of the built-in voices")


class ModelNotFound(NotFound):
    pass


class Unavailable(ShoalError):
    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EngineBusy(Unavailable):
    def __init__(self, engine: str, *, retry_after: float = 1.0) -> None:
        super().__init__(
            f"engine {engine!r} is at capacity; retry after {retry_after:g} s", retry_after=retry_after
        )


class EngineFailed(ShoalError):
    pass
