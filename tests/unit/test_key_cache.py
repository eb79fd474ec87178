"""The verified-key cache: keys are reused for a while, changed keys are forgotten at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from shoal.auth.cache import KeyCache
from shoal.auth.keys import ApiKey

CREATED = datetime(2026, 11, 22, tzinfo=UTC)


def key(key_id: str = "k1") -> ApiKey:
    return ApiKey(id=key_id, account_id="a", name="n", prefix="sk-shoal-abc", created_at=CREATED)


def test_a_cached_key_is_returned_until_it_expires() -> None:
    cache = KeyCache(0.2)
    cache.put("hash", key())
    assert cache.get("hash") == key()
    time.sleep(0.25)
    assert cache.get("hash") is None


def test_forget_drops_every_entry_of_a_key() -> None:
    cache = KeyCache(60)
    cache.put("hash-1", key("k1"))
    cache.put("hash-2", key("k2"))
    cache.forget("k1")
    assert cache.get("hash-1") is None
    assert cache.get("hash-2") == key("k2")


def test_zero_seconds_disables_the_cache() -> None:
    cache = KeyCache(0)
    cache.put("hash", key())
    assert cache.get("hash") is None


def test_the_cache_is_bounded() -> None:
    cache = KeyCache(60, max_entries=10)
    for index in range(25):
        cache.put(f"hash-{index}", key(f"k{index}"))
    assert sum(cache.get(f"hash-{index}") is not None for index in range(25)) <= 10
    assert cache.get("hash-24") == key("k24")
