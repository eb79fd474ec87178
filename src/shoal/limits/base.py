"""Rate limits and concurrency leases: a tiny protocol with in-process and Redis backends.

Requests per minute are a sliding-window log: at most ``limit`` admissions in any
``window`` seconds, exactly, with no burst at window edges. Concurrency is a set of
leases with expiry times; whoever holds a lease renews it, so a process that dies
frees its slots within one lease TTL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class WindowDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    """Seconds until the oldest admission in the window leaves it."""


@dataclass(frozen=True, slots=True)
class LeaseDecision:
    lease_id: str | None
    """Set when a slot was granted."""
    limit: int
    remaining: int


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> WindowDecision:
        """Count one request against ``key`` if fewer than ``limit`` fell in the last ``window`` seconds."""
        ...

    async def acquire(self, key: str, limit: int, ttl: float) -> LeaseDecision:
        """Take one of ``limit`` slots for ``ttl`` seconds (renewable)."""
        ...

    async def renew(self, key: str, lease_ids: list[str], ttl: float) -> None: ...

    async def release(self, key: str, lease_id: str) -> None: ...

    async def close(self) -> None: ...
