"""Concurrency leases held by this process, renewed in the background until released."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from shoal.limits.base import Admission, LeaseDecision, Limiter

log = logging.getLogger("shoal.limits")


@dataclass(frozen=True, slots=True)
class Lease:
    key: str
    lease_id: str


class LeaseKeeper:
    """Acquires leases and keeps them alive (every third of the TTL) while this process holds them."""

    def __init__(self, limiter: Limiter, ttl: float) -> None:
        self._limiter = limiter
        self._ttl = ttl
        self._held: dict[str, set[str]] = {}
        self._renewer: asyncio.Task[None] | None = None

    async def acquire(self, key: str, limit: int) -> tuple[Lease | None, LeaseDecision]:
        decision = await self._limiter.acquire(key, limit, self._ttl)
        if decision.lease_id is None:
            return None, decision
        return self._keep(key, decision.lease_id), decision

    async def admit(
        self, key: str, *, concurrent: int | None, per_minute: int | None, window: float
    ) -> tuple[Lease | None, Admission]:
        """``Limiter.admit``; a slot it grants is kept alive until released."""
        admission = await self._limiter.admit(
            key, concurrent=concurrent, per_minute=per_minute, ttl=self._ttl, window=window
        )
        lease_id = admission.lease.lease_id if admission.lease is not None else None
        if lease_id is None or not admission.admitted:
            return None, admission
        return self._keep(key, lease_id), admission

    def _keep(self, key: str, lease_id: str) -> Lease:
        self._held.setdefault(key, set()).add(lease_id)
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_forever())
        return Lease(key, lease_id)

    async def release(self, lease: Lease) -> None:
        held = self._held.get(lease.key)
        if held is not None:
            held.discard(lease.lease_id)
            if not held:
                del self._held[lease.key]
        await self._limiter.release(lease.key, lease.lease_id)

    async def _renew_forever(self) -> None:
        while self._held:
            await asyncio.sleep(self._ttl / 3)
            for key, lease_ids in list(self._held.items()):
                try:
                    await self._limiter.renew(key, list(lease_ids), self._ttl)
                except Exception:  # a Redis hiccup must not kill renewal; the next round retries
                    log.warning("could not renew concurrency leases for %s", key, exc_info=True)

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        self._held.clear()
