"""Usage events: what a request consumed, measured by Shoal, recorded when the work ends.

Pipelines record one event per request in their ``finally:``, whatever the response
format, so a transcript returned as plain text or subtitles is metered exactly like
JSON. The recorder here keeps recent events in memory; the billing work replaces it
with a ledger behind the same protocol.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class UsageEvent:
    account_id: str | None
    key_id: str | None
    kind: Literal["tts", "stt"]
    model: str
    quantity: float
    unit: Literal["utf8_bytes", "audio_seconds"]
    completed: bool
    """False when the client went away or the work failed part-way."""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Caller:
    """Who the usage belongs to (None for local use, e.g. ``shoal say``)."""

    account_id: str | None = None
    key_id: str | None = None


class UsageRecorder(Protocol):
    def record(self, event: UsageEvent) -> None: ...


class MemoryUsageRecorder:
    """The most recent events, in memory."""

    def __init__(self, keep: int = 10_000) -> None:
        self.events: deque[UsageEvent] = deque(maxlen=keep)

    def record(self, event: UsageEvent) -> None:
        self.events.append(event)
