"""Usage events: what a request consumed, measured by Shoal, reported when the work ends.

Pipelines report one event per piece of work in their ``finally:``, whatever the
response format, so a transcript returned as plain text or subtitles is metered
exactly like JSON. A ``Charge`` (billing/metering.py) receives the event and settles
the request's credit hold from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

Outcome = Literal["completed", "cancelled", "failed"]
"""cancelled: the client went away part-way (the part done is billed); failed: Shoal's fault (free)."""


@dataclass(frozen=True, slots=True)
class UsageEvent:
    kind: Literal["tts", "stt", "chat"]
    model: str
    quantity: float
    """Units consumed: UTF-8 bytes of text spoken, seconds of audio decoded, or input tokens."""
    unit: Literal["utf8_bytes", "audio_seconds", "tokens"]
    outcome: Outcome
    output_quantity: float = 0
    """Chat: output tokens, priced apart from the input."""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class UsageRecorder(Protocol):
    def record(self, event: UsageEvent) -> None: ...
