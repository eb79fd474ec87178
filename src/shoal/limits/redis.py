"""Limits in Redis, shared by every replica. Each decision is one atomic Lua script.

Times come from the Redis server's clock (``TIME``), so replicas whose clocks
disagree still share one window.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shoal.errors import Unavailable
from shoal.limits.base import Admission, LeaseDecision, WindowDecision

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_HIT = (
    _NOW
    + """
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  count = count + 1
  allowed = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local reset = window
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, limit - count, reset}
"""
)

_ACQUIRE = (
    _NOW
    + """
local ttl = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then return {0, 0} end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, limit - count - 1}
"""
)

_ADMIT = (
    _NOW
    + """
local ttl, concurrent = tonumber(ARGV[1]), tonumber(ARGV[2])
local window, per_minute = tonumber(ARGV[3]), tonumber(ARGV[4])
local granted, slots_left = -1, -1
if concurrent > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  local held = redis.call('ZCARD', KEYS[1])
  if held >= concurrent then return {0, 0, -1, -1, 0} end
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ttl)
  granted, slots_left = 1, concurrent - held - 1
end
local allowed, left, reset = -1, -1, 0
if per_minute > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[2])
  allowed = 0
  if count < per_minute then
    redis.call('ZADD', KEYS[2], now, ARGV[6])
    redis.call('PEXPIRE', KEYS[2], window)
    count = count + 1
    allowed = 1
  elseif granted == 1 then
    redis.call('ZREM', KEYS[1], ARGV[5])
  end
  left = per_minute - count
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  reset = window
  if oldest[2] then reset = tonumber(oldest[2]) + window - now end
end
return {granted, slots_left, allowed, left, reset}
"""
)

_RENEW = (
    _NOW
    + """
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""
)


@asynccontextmanager
async def _unavailable_on_error() -> AsyncIterator[None]:
    """Without Redis no limit can be enforced: refuse (503, retry later) rather than admit everyone."""
    try:
        yield
    except RedisError as error:
        raise Unavailable(f"the rate limiter is unavailable ({error}); retry soon", retry_after=2) from None


class RedisLimiter:
    def __init__(self, url: str, *, namespace: str = "shoal") -> None:
        self._redis: Redis = Redis.from_url(url)
        self._namespace = namespace
        self._hit: Any = self._redis.register_script(_HIT)
        self._acquire: Any = self._redis.register_script(_ACQUIRE)
        self._renew: Any = self._redis.register_script(_RENEW)
        self._admit: Any = self._redis.register_script(_ADMIT)

    def _key(self, kind: str, key: str) -> str:
        return f"{self._namespace}:{kind}:{key}"

    async def ping(self) -> None:
        await self._redis.ping()

    async def hit(self, key: str, limit: int, window: float) -> WindowDecision:
        async with _unavailable_on_error():
            allowed, remaining, reset = await self._hit(
                keys=[self._key("window", key)], args=[round(window * 1000), limit, uuid.uuid4().hex]
            )
        return WindowDecision(bool(allowed), limit, max(0, int(remaining)), int(reset) / 1000)

    async def acquire(self, key: str, limit: int, ttl: float) -> LeaseDecision:
        lease_id = uuid.uuid4().hex
        async with _unavailable_on_error():
            granted, remaining = await self._acquire(
                keys=[self._key("leases", key)], args=[round(ttl * 1000), limit, lease_id]
            )
        return LeaseDecision(lease_id if granted else None, limit, int(remaining))

    async def admit(
        self, key: str, *, concurrent: int | None, per_minute: int | None, ttl: float, window: float
    ) -> Admission:
        lease_id = uuid.uuid4().hex
        async with _unavailable_on_error():
            granted, slots_left, allowed, left, reset = await self._admit(
                keys=[self._key("leases", key), self._key("window", key)],
                args=[round(ttl * 1000), concurrent or 0, round(window * 1000), per_minute or 0, lease_id,
                      uuid.uuid4().hex],
            )  # fmt: skip
        lease = None
        if concurrent is not None:
            lease = LeaseDecision(lease_id if granted == 1 else None, concurrent, max(0, int(slots_left)))
        counted = None
        if per_minute is not None and int(allowed) >= 0:
            counted = WindowDecision(allowed == 1, per_minute, max(0, int(left)), int(reset) / 1000)
        return Admission(lease, counted)

    async def renew(self, key: str, lease_ids: list[str], ttl: float) -> None:
        if lease_ids:
            await self._renew(keys=[self._key("leases", key)], args=[round(ttl * 1000), *lease_ids])

    async def release(self, key: str, lease_id: str) -> None:
        await self._redis.zrem(self._key("leases", key), lease_id)

    async def close(self) -> None:
        await self._redis.aclose()
