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


@dataclass(frozen=True, slots=True)
class Admission:
    """A concurrency slot and a rate-window count, decided together."""

    lease: LeaseDecision | None
    """None when there is no concurrency limit."""
    window: WindowDecision | None
    """None when there is no rate limit, or when the slot was refused (the request was not counted)."""

    @property
    def admitted(self) -> bool:
        lease_ok = self.lease is None or self.lease.lease_id is not None
        return lease_ok and (self.window is None or self.window.allowed)


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> WindowDecision:
        """Count one request against ``key`` if fewer than ``limit`` fell in the last ``window`` seconds."""
        ...

    async def acquire(self, key: str, limit: int, ttl: float) -> LeaseDecision:
        """Take one of ``limit`` slots for ``ttl`` seconds (renewable)."""
        ...

    async def admit(
        self, key: str, *, concurrent: int | None, per_minute: int | None, ttl: float, window: float
    ) -> Admission:
        """Take a slot, then count the request: a refused slot is not counted; a refused count frees
        its slot. One round trip where the backend is remote."""
        ...

    async def renew(self, key: str, lease_ids: list[str], ttl: float) -> None: ...

    async def release(self, key: str, lease_id: str) -> None: ...

    async def close(self) -> None: ...


async def admit_in_steps(
    limiter: Limiter, key: str, *, concurrent: int | None, per_minute: int | None, ttl: float, window: float
) -> Admission:
    """``Limiter.admit`` from ``acquire``, ``hit`` and ``release``, for backends without a round trip."""
    lease = await limiter.acquire(key, concurrent, ttl) if concurrent is not None else None
    if lease is not None and lease.lease_id is None:
        return Admission(lease, None)
    counted = await limiter.hit(key, per_minute, window) if per_minute is not None else None
    if counted is not None and not counted.allowed and lease is not None and lease.lease_id is not None:
        await limiter.release(key, lease.lease_id)
    return Admission(lease, counted)
