"""The Limiter contract (limits/base.py), run against MemoryLimiter and RedisLimiter alike.

Windows and TTLs are short (well under a second) so the suite stays fast; the sleeps
leave generous margins either side, and nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio

import pytest

from shoal.limits.base import Limiter
from shoal.limits.keeper import LeaseKeeper
from shoal.limits.redis import RedisLimiter
from tests.contract.conftest import unique

pytestmark = pytest.mark.asyncio(loop_scope="session")


# --- requests per window -------------------------------------------------------------------------


async def test_window_admits_exactly_limit_then_refuses(limiter: Limiter) -> None:
    key, window = unique(), 5.0
    decisions = [await limiter.hit(key, 4, window) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True] * 4
    assert [d.remaining for d in decisions] == [3, 2, 1, 0]
    assert all(d.limit == 4 for d in decisions)
    for _ in range(3):
        refused = await limiter.hit(key, 4, window)
        assert not refused.allowed
        assert refused.remaining == 0
        assert refused.limit == 4
        assert 0 < refused.reset_after <= window


async def test_keys_have_separate_windows(limiter: Limiter) -> None:
    first, second = unique(), unique()
    assert (await limiter.hit(first, 1, 5.0)).allowed
    assert not (await limiter.hit(first, 1, 5.0)).allowed
    assert (await limiter.hit(second, 1, 5.0)).allowed


async def test_window_admits_again_once_it_has_passed(limiter: Limiter) -> None:
    key, window = unique(), 0.4
    assert all([(await limiter.hit(key, 3, window)).allowed for _ in range(3)])
    for _ in range(10):  # refusals are not admissions: they must not keep the window full
        refused = await limiter.hit(key, 3, window)
        assert not refused.allowed
    await asyncio.sleep(refused.reset_after + 0.15)
    again = [await limiter.hit(key, 3, window) for _ in range(4)]
    assert [d.allowed for d in again] == [True, True, True, False]
    assert again[0].remaining == 2


async def test_window_slides_rather_than_resetting(limiter: Limiter) -> None:
    """Admissions leave the window one by one: no fresh burst of ``limit`` at a boundary."""
    key, window = unique(), 1.2
    assert all([(await limiter.hit(key, 5, window)).allowed for _ in range(3)])
    await asyncio.sleep(0.6)
    assert all([(await limiter.hit(key, 5, window)).allowed for _ in range(2)])
    assert not (await limiter.hit(key, 5, window)).allowed
    await asyncio.sleep(0.75)  # the first three have left the window, the last two have not
    admitted = [(await limiter.hit(key, 5, window)).allowed for _ in range(5)]
    assert admitted == [True, True, True, False, False]


async def test_concurrent_hits_admit_exactly_limit(limiter: Limiter) -> None:
    key = unique()
    decisions = await asyncio.gather(*[limiter.hit(key, 25, 10.0) for _ in range(60)])
    assert sum(d.allowed for d in decisions) == 25
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(25))


async def test_replicas_share_one_window(redis_pair: tuple[RedisLimiter, RedisLimiter]) -> None:
    first, second = redis_pair
    key = unique()
    hits = [(first if n % 2 else second).hit(key, 60, 10.0) for n in range(100)]
    decisions = await asyncio.gather(*hits)
    assert sum(d.allowed for d in decisions) == 60
    assert all(d.remaining == 0 for d in decisions if not d.allowed)
    assert not (await first.hit(key, 60, 10.0)).allowed
    assert not (await second.hit(key, 60, 10.0)).allowed


# --- concurrency leases --------------------------------------------------------------------------


async def test_leases_up_to_limit_then_none(limiter: Limiter) -> None:
    key = unique()
    granted = [await limiter.acquire(key, 3, 30.0) for _ in range(3)]
    assert all(g.lease_id for g in granted)
    assert len({g.lease_id for g in granted}) == 3
    assert [g.remaining for g in granted] == [2, 1, 0]
    refused = await limiter.acquire(key, 3, 30.0)
    assert refused.lease_id is None
    assert refused.remaining == 0
    assert refused.limit == 3


async def test_release_frees_a_slot(limiter: Limiter) -> None:
    key = unique()
    first = await limiter.acquire(key, 2, 30.0)
    second = await limiter.acquire(key, 2, 30.0)
    assert first.lease_id and second.lease_id
    assert (await limiter.acquire(key, 2, 30.0)).lease_id is None
    await limiter.release(key, first.lease_id)
    third = await limiter.acquire(key, 2, 30.0)
    assert third.lease_id is not None
    assert third.remaining == 0
    assert (await limiter.acquire(key, 2, 30.0)).lease_id is None


async def test_releasing_twice_or_an_unknown_lease_frees_nothing_more(limiter: Limiter) -> None:
    key = unique()
    first = await limiter.acquire(key, 2, 30.0)
    assert first.lease_id is not None
    await limiter.acquire(key, 2, 30.0)
    await limiter.release(key, first.lease_id)
    await limiter.release(key, first.lease_id)
    await limiter.release(key, "not-a-lease")
    assert (await limiter.acquire(key, 2, 30.0)).lease_id is not None
    assert (await limiter.acquire(key, 2, 30.0)).lease_id is None


async def test_lease_not_renewed_expires_after_ttl(limiter: Limiter) -> None:
    key, ttl = unique(), 0.4
    assert (await limiter.acquire(key, 1, ttl)).lease_id is not None
    assert (await limiter.acquire(key, 1, ttl)).lease_id is None
    await asyncio.sleep(ttl + 0.2)
    assert (await limiter.acquire(key, 1, ttl)).lease_id is not None


async def test_renew_keeps_a_lease_past_its_ttl(limiter: Limiter) -> None:
    key, ttl = unique(), 0.4
    lease = await limiter.acquire(key, 1, ttl)
    assert lease.lease_id is not None
    for _ in range(4):  # 0.64 s in all: well past the TTL
        await asyncio.sleep(ttl / 2.5)
        await limiter.renew(key, [lease.lease_id], ttl)
    assert (await limiter.acquire(key, 1, ttl)).lease_id is None
    await limiter.release(key, lease.lease_id)
    assert (await limiter.acquire(key, 1, ttl)).lease_id is not None


async def test_renewing_a_released_lease_does_not_bring_it_back(limiter: Limiter) -> None:
    key = unique()
    lease = await limiter.acquire(key, 1, 30.0)
    assert lease.lease_id is not None
    await limiter.release(key, lease.lease_id)
    await limiter.renew(key, [lease.lease_id], 30.0)
    assert (await limiter.acquire(key, 1, 30.0)).lease_id is not None


async def test_lease_keeper_holds_a_lease_across_several_ttls(limiter: Limiter) -> None:
    key, ttl = unique(), 0.3
    keeper = LeaseKeeper(limiter, ttl)
    try:
        lease, decision = await keeper.acquire(key, 1)
        assert lease is not None
        assert decision.lease_id == lease.lease_id
        await asyncio.sleep(ttl * 3.5)
        assert (await limiter.acquire(key, 1, ttl)).lease_id is None
        refused, refusal = await keeper.acquire(key, 1)
        assert refused is None
        assert refusal.remaining == 0
        await keeper.release(lease)
        taken = await limiter.acquire(key, 1, ttl)
        assert taken.lease_id is not None
    finally:
        await keeper.close()


async def test_lease_keeper_stops_renewing_what_it_released(limiter: Limiter) -> None:
    key, ttl = unique(), 0.3
    keeper = LeaseKeeper(limiter, ttl)
    try:
        kept, _ = await keeper.acquire(key, 2)
        dropped, _ = await keeper.acquire(key, 2)
        assert kept is not None and dropped is not None
        await keeper.release(dropped)
        await asyncio.sleep(ttl * 2.5)
        # the kept lease is still alive, and the slot freed by release is still free
        assert (await limiter.acquire(key, 2, ttl)).lease_id is not None
        assert (await limiter.acquire(key, 2, ttl)).lease_id is None
    finally:
        await keeper.close()


async def test_concurrent_acquires_never_exceed_the_limit(limiter: Limiter) -> None:
    key = unique()
    decisions = await asyncio.gather(*[limiter.acquire(key, 7, 30.0) for _ in range(40)])
    assert sum(d.lease_id is not None for d in decisions) == 7


async def test_replicas_share_leases(redis_pair: tuple[RedisLimiter, RedisLimiter]) -> None:
    first, second = redis_pair
    key = unique()
    acquires = [(first if n % 2 else second).acquire(key, 7, 30.0) for n in range(60)]
    decisions = await asyncio.gather(*acquires)
    granted = [d.lease_id for d in decisions if d.lease_id is not None]
    assert len(granted) == 7
    # a lease taken through one replica is released through the other
    await second.release(key, granted[0])
    assert (await first.acquire(key, 7, 30.0)).lease_id is not None
    assert (await second.acquire(key, 7, 30.0)).lease_id is None


# --- admission: a slot and a count in one step -------------------------------------------------------


async def test_admit_takes_a_slot_and_counts_the_request(limiter: Limiter) -> None:
    key = unique()
    admission = await limiter.admit(key, concurrent=2, per_minute=3, ttl=5.0, window=5.0)
    assert admission.admitted
    assert admission.lease is not None and admission.lease.lease_id is not None
    assert admission.lease.remaining == 1
    assert admission.window is not None and admission.window.remaining == 2
    # The slot it took is a real lease: one more fits, then none.
    assert (await limiter.acquire(key, 2, 5.0)).lease_id is not None
    refused = await limiter.admit(key, concurrent=2, per_minute=3, ttl=5.0, window=5.0)
    assert not refused.admitted
    assert refused.lease is not None and refused.lease.lease_id is None
    assert refused.window is None  # a request refused a slot is not counted
    assert (await limiter.hit(key, 3, 5.0)).remaining == 1  # so the window still holds only one


async def test_admit_refused_by_the_window_frees_its_slot(limiter: Limiter) -> None:
    key = unique()
    assert (await limiter.admit(key, concurrent=5, per_minute=1, ttl=5.0, window=5.0)).admitted
    refused = await limiter.admit(key, concurrent=5, per_minute=1, ttl=5.0, window=5.0)
    assert not refused.admitted
    assert refused.window is not None and not refused.window.allowed
    assert 0 < refused.window.reset_after <= 5.0
    # Only the first admission's slot is held: four of five remain.
    grants = [await limiter.acquire(key, 5, 5.0) for _ in range(5)]
    assert [grant.lease_id is not None for grant in grants] == [True, True, True, True, False]


async def test_admit_with_only_one_kind_of_limit(limiter: Limiter) -> None:
    key = unique()
    rate_only = await limiter.admit(key, concurrent=None, per_minute=2, ttl=5.0, window=5.0)
    assert rate_only.admitted and rate_only.lease is None and rate_only.window is not None
    slots_only = await limiter.admit(unique(), concurrent=1, per_minute=None, ttl=5.0, window=5.0)
    assert slots_only.admitted and slots_only.window is None and slots_only.lease is not None


async def test_concurrent_admissions_across_replicas_respect_both_limits(
    redis_pair: tuple[RedisLimiter, RedisLimiter],
) -> None:
    key = unique()
    results = await asyncio.gather(
        *(
            redis_pair[index % 2].admit(key, concurrent=1000, per_minute=25, ttl=5.0, window=5.0)
            for index in range(80)
        )
    )
    assert sum(result.admitted for result in results) == 25
    # Refused ones gave their slots back: exactly 25 are held.
    assert (await redis_pair[0].acquire(key, 26, 5.0)).lease_id is not None
    assert (await redis_pair[1].acquire(key, 26, 5.0)).lease_id is None
