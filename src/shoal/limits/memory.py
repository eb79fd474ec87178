"""Limits kept in this process: exact for one replica, no network round trip."""

from __future__ import annotations

import time
import uuid
from collections import deque

from shoal.limits.base import Admission, LeaseDecision, WindowDecision, admit_in_steps


class MemoryLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, deque[float]] = {}
        self._leases: dict[str, dict[str, float]] = {}

    async def hit(self, key: str, limit: int, window: float) -> WindowDecision:
        now = time.monotonic()
        log = self._windows.setdefault(key, deque())
        while log and log[0] <= now - window:
            log.popleft()
        if len(log) < limit:
            log.append(now)
            return WindowDecision(True, limit, limit - len(log), log[0] + window - now)
        return WindowDecision(False, limit, 0, log[0] + window - now)

    async def acquire(self, key: str, limit: int, ttl: float) -> LeaseDecision:
        now = time.monotonic()
        leases = self._leases.setdefault(key, {})
        for lease_id in [lease for lease, expiry in leases.items() if expiry <= now]:
            del leases[lease_id]
        if len(leases) >= limit:
            return LeaseDecision(None, limit, 0)
        lease_id = uuid.uuid4().hex
        leases[lease_id] = now + ttl
        return LeaseDecision(lease_id, limit, limit - len(leases))

    async def admit(
        self, key: str, *, concurrent: int | None, per_minute: int | None, ttl: float, window: float
    ) -> Admission:
        return await admit_in_steps(
            self, key, concurrent=concurrent, per_minute=per_minute, ttl=ttl, window=window
        )

    async def renew(self, key: str, lease_ids: list[str], ttl: float) -> None:
        leases = self._leases.get(key, {})
        expiry = time.monotonic() + ttl
        for lease_id in lease_ids:
            if lease_id in leases:
                leases[lease_id] = expiry

    async def release(self, key: str, lease_id: str) -> None:
        leases = self._leases.get(key)
        if leases is not None:
            leases.pop(lease_id, None)
            if not leases:
                del self._leases[key]

    async def close(self) -> None:
        self._windows.clear()
        self._leases.clear()
