"""API keys (auth/keys.py) on a fresh SQLite database per test."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import update

from shoal.auth.keys import (
    KEY_PREFIX,
    ApiKey,
    KeySpec,
    count_keys,
    create_key,
    find_key,
    list_keys,
    revoke_key,
    touch_key,
    update_key,
    verify_secret,
)
from shoal.storage.db.database import Database, open_database
from shoal.storage.db.tables import api_keys

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(f"sqlite:///{tmp_path / 'x.db'}")
    yield database
    await database.dispose()


async def by_id(db: Database, key_id: str) -> ApiKey:
    (key,) = [key for key in await list_keys(db) if key.id == key_id]
    return key


async def make(db: Database, name: str = "client", **fields: Any) -> tuple[ApiKey, str]:
    return await create_key(db, KeySpec(name=name, **fields))


async def sharing_a_prefix(db: Database) -> tuple[ApiKey, ApiKey]:
    """Two keys whose ids share their first five characters ("abcd0"): ids are random, so they are set."""
    made = []
    for number in (1, 2):
        key, _ = await make(db, f"k{number}")
        new_id = f"abcd{number:02d}" + key.id[6:]
        async with db.write() as connection:
            await connection.execute(update(api_keys).where(api_keys.c.id == key.id).values(id=new_id))
        made.append(await by_id(db, new_id))
    return made[0], made[1]


def database_files(directory: Path) -> bytes:
    """Everything SQLite wrote: the database and any write-ahead log."""
    return b"".join(path.read_bytes() for path in directory.iterdir() if path.name.startswith("x.db"))


def unique_prefix(target: str, ids: list[str]) -> str:
    """The shortest prefix of ``target`` (at least 4 characters) no other id starts with."""
    length = next(n for n in range(1, len(target) + 1) if sum(i.startswith(target[:n]) for i in ids) == 1)
    return target[: max(length, 4)]


# -- creating and verifying -------------------------------------------------------------


async def test_create_key_returns_a_fresh_secret(db: Database) -> None:
    key, secret = await make(db, "laptop")
    assert secret.startswith("sk-shoal-")
    assert len(secret) >= 40
    assert key.name == "laptop"
    assert key.account_id == "default"
    assert key.last_used_at is None
    assert key.revoked_at is None
    assert key.status() == "active"
    assert (key.tier, key.plan, key.models, key.disabled) == ("standard", "pro", (), False)
    assert (key.discount_bp, key.monthly_cap_nanos, key.expires_at) == (0, None, None)
    assert secret.startswith(key.prefix)
    assert len(key.prefix) < len(secret) - 20


async def test_two_keys_are_different(db: Database) -> None:
    first, first_secret = await make(db, "same")
    second, second_secret = await make(db, "same")
    assert first.id != second.id
    assert first_secret != second_secret
    assert first_secret[len(KEY_PREFIX) :] != second_secret[len(KEY_PREFIX) :]


async def test_secret_is_not_stored(db: Database, tmp_path: Path) -> None:
    marker = "name-marker-7f3a"
    _, secret = await make(db, marker)
    await db.dispose()  # close connections so SQLite checkpoints its write-ahead log
    stored = database_files(tmp_path)
    assert marker.encode() in stored  # what was written is readable here
    assert secret.encode() not in stored
    assert secret[len(KEY_PREFIX) + 8 :].encode() not in stored  # not even the part past the prefix


async def test_secret_is_stored_hashed(db: Database, tmp_path: Path) -> None:
    _, secret = await make(db, "hashed")
    await db.dispose()
    stored = database_files(tmp_path)
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in stored


async def test_verify_secret(db: Database) -> None:
    key, secret = await make(db)
    principal = await verify_secret(db, secret)
    assert principal is not None
    assert principal.key_id == key.id
    assert principal.account_id == "default"
    assert principal.status() == "active"


async def test_verify_secret_of_another_account(db: Database) -> None:
    key, secret = await make(db, "team", account_id="team-a")
    principal = await verify_secret(db, secret)
    assert principal is not None
    assert (principal.key_id, principal.account_id) == (key.id, "team-a")


async def test_each_secret_maps_to_its_own_key(db: Database) -> None:
    keys = [await make(db, f"k{index}") for index in range(3)]
    for key, secret in keys:
        principal = await verify_secret(db, secret)
        assert principal is not None
        assert principal.key_id == key.id


@pytest.mark.parametrize(
    "wrong",
    [
        lambda secret: secret[:-1],
        lambda secret: secret + "x",
        lambda secret: secret[:-1] + ("A" if secret[-1] != "A" else "B"),
        lambda secret: secret.upper(),
        lambda secret: " " + secret,
        lambda secret: secret[len(KEY_PREFIX) :],  # no prefix
        lambda secret: "sk-other-" + secret[len(KEY_PREFIX) :],
        lambda secret: KEY_PREFIX,
        lambda secret: "",
    ],
    ids=["short", "long", "changed", "upper", "space", "unprefixed", "other-prefix", "prefix-only", "empty"],
)
async def test_verify_secret_rejects_wrong_secrets(db: Database, wrong: Callable[[str], str]) -> None:
    _, secret = await make(db)
    candidate = wrong(secret)
    assert candidate != secret
    assert await verify_secret(db, candidate) is None


# -- status -----------------------------------------------------------------------------


async def test_revoked_key_verifies_as_revoked(db: Database) -> None:
    # verify_secret finds the key whatever its status; the caller refuses what is not active.
    key, secret = await make(db, "old")
    other, other_secret = await make(db, "other")
    assert await revoke_key(db, key.id)
    revoked = await verify_secret(db, secret)
    assert revoked is not None and revoked.id == key.id
    assert revoked.revoked_at is not None
    assert revoked.status() == "revoked"
    still = await verify_secret(db, other_secret)
    assert still is not None and still.status() == "active"  # only that one
    assert (await by_id(db, key.id)).revoked_at is not None
    assert (await by_id(db, other.id)).revoked_at is None


async def test_revoking_twice_fails(db: Database) -> None:
    key, _ = await make(db, "old")
    assert await revoke_key(db, key.id)
    assert not await revoke_key(db, key.id)


async def test_disabled_key_status(db: Database) -> None:
    key, secret = await make(db)
    updated = await update_key(db, key.id, {"disabled": True})
    assert updated is not None and updated.disabled
    assert updated.status() == "disabled"
    found = await verify_secret(db, secret)
    assert found is not None and found.status() == "disabled"
    enabled = await update_key(db, key.id, {"disabled": False})
    assert enabled is not None and enabled.status() == "active"


async def test_expired_key_status(db: Database) -> None:
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    key, secret = await make(db, expires_at=moment)
    found = await verify_secret(db, secret)
    assert found is not None
    assert found.expires_at == moment  # stored and read back as an aware UTC time
    assert found.status(now=moment - timedelta(seconds=1)) == "active"
    assert found.status(now=moment) == "expired"
    assert found.status(now=moment + timedelta(days=1)) == "expired"
    assert found.status() == "active"  # 2030 is still ahead
    past, past_secret = await make(db, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    expired = await verify_secret(db, past_secret)
    assert expired is not None and expired.id == past.id and expired.status() == "expired"
    assert key.status() == "active"


async def test_revoked_wins_over_disabled_and_expired(db: Database) -> None:
    key, secret = await make(db, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    disabled = await update_key(db, key.id, {"disabled": True})
    assert disabled is not None and disabled.status() == "disabled"  # disabled is reported before expired
    assert await revoke_key(db, key.id)
    found = await verify_secret(db, secret)
    assert found is not None and found.status() == "revoked"


# -- listing, finding, counting ---------------------------------------------------------


async def test_list_keys_shows_prefix_only(db: Database) -> None:
    created = [await make(db, name) for name in ("alpha", "beta")]
    listed = await list_keys(db)
    assert [key.id for key in listed] == [key.id for key, _ in created]
    assert [key.name for key in listed] == ["alpha", "beta"]
    for key, (made, secret) in zip(listed, created, strict=True):
        assert key.prefix == made.prefix
        assert key.prefix.startswith(KEY_PREFIX)
        assert secret.startswith(key.prefix)
        assert len(key.prefix) <= len(KEY_PREFIX) + 8
        assert secret not in repr(key)


async def test_list_keys_without_revoked(db: Database) -> None:
    old, _ = await make(db, "old")
    new, _ = await make(db, "new")
    await revoke_key(db, old.id)
    assert [key.id for key in await list_keys(db)] == [old.id, new.id]
    assert [key.id for key in await list_keys(db, include_revoked=False)] == [new.id]


async def test_list_keys_of_one_account(db: Database) -> None:
    mine, _ = await make(db, "mine", account_id="team-a")
    theirs, _ = await make(db, "theirs", account_id="team-b")
    assert [key.id for key in await list_keys(db, account_id="team-a")] == [mine.id]
    assert [key.id for key in await list_keys(db, account_id="team-b")] == [theirs.id]
    assert await list_keys(db, account_id="nobody") == []


async def test_list_keys_of_empty_database(db: Database) -> None:
    assert await list_keys(db) == []
    assert await count_keys(db) == 0


async def test_find_key_by_id_and_unique_prefix(db: Database) -> None:
    keys = [await make(db, f"k{index}") for index in range(4)]
    ids = [key.id for key, _ in keys]
    for target in ids:
        found = await find_key(db, target)
        assert found is not None and found.id == target
        by_prefix = await find_key(db, unique_prefix(target, ids))
        assert by_prefix is not None and by_prefix.id == target
        padded = await find_key(db, f"  {target}  ")
        assert padded is not None and padded.id == target


async def test_find_key_needs_four_characters(db: Database) -> None:
    key, _ = await make(db)  # the only key: any prefix of its id is unique
    assert await find_key(db, key.id[:3]) is None
    found = await find_key(db, key.id[:4])
    assert found is not None and found.id == key.id


async def test_find_key_with_an_ambiguous_prefix(db: Database) -> None:
    first, second = await sharing_a_prefix(db)
    assert await find_key(db, "abcd") is None  # both match
    assert await find_key(db, "abcd0") is None
    found = await find_key(db, "abcd01")
    assert found is not None and found.id == first.id
    found = await find_key(db, "abcd02")
    assert found is not None and found.id == second.id


@pytest.mark.parametrize("unknown", ["zz", "not-an-id", "%", "_", "%%%%", "____", "0" * 33, ""])
async def test_find_key_of_unknown_ids(db: Database, unknown: str) -> None:
    await make(db, "only")
    assert await find_key(db, unknown) is None


async def test_count_keys(db: Database) -> None:
    assert await count_keys(db) == 0
    first, _ = await make(db, "a")
    await make(db, "b", account_id="other")
    assert await count_keys(db) == 2
    await revoke_key(db, first.id)
    assert await count_keys(db) == 2  # revoked keys still count


# -- revoking by prefix -----------------------------------------------------------------


async def test_revoke_by_unique_id_prefix(db: Database) -> None:
    keys = [await make(db, f"k{index}") for index in range(4)]
    ids = [key.id for key, _ in keys]
    assert await revoke_key(db, unique_prefix(ids[0], ids))
    assert [key.id for key in await list_keys(db, include_revoked=False)] == ids[1:]


async def test_ambiguous_prefix_revokes_nothing(db: Database) -> None:
    first, _ = await sharing_a_prefix(db)
    assert not await revoke_key(db, "abcd")
    assert len(await list_keys(db, include_revoked=False)) == 2
    assert await revoke_key(db, "abcd02")
    assert [key.id for key in await list_keys(db, include_revoked=False)] == [first.id]


async def test_a_prefix_under_four_characters_revokes_nothing(db: Database) -> None:
    key, _ = await make(db, "only")  # its id's first characters are unique, but too short
    for length in range(4):
        assert not await revoke_key(db, key.id[:length])
    assert len(await list_keys(db, include_revoked=False)) == 1


@pytest.mark.parametrize("unknown", ["zz", "not-an-id", "%", "_", "%%%%", "____", "0" * 33])
async def test_unknown_prefix_revokes_nothing(db: Database, unknown: str) -> None:
    await make(db, "only")
    assert not await revoke_key(db, unknown)
    assert len(await list_keys(db, include_revoked=False)) == 1


async def test_empty_id_revokes_nothing(db: Database) -> None:
    await make(db, "only")
    assert not await revoke_key(db, "")
    assert len(await list_keys(db, include_revoked=False)) == 1


# -- updating ---------------------------------------------------------------------------


async def test_update_key_changes_settings_not_the_secret(db: Database) -> None:
    key, secret = await make(db)
    other, _ = await make(db, "other")
    moment = datetime(2031, 6, 1, tzinfo=UTC)
    updated = await update_key(
        db,
        key.id,
        {
            "name": "renamed", "tier": "wholesale", "plan": "starter", "requests_per_minute": 7,
            "concurrent_requests": 2, "expires_at": moment, "discount_bp": 2500,
            "monthly_cap_nanos": 5_000_000_000,
        },
    )  # fmt: skip
    assert updated is not None
    assert (updated.id, updated.prefix, updated.created_at) == (key.id, key.prefix, key.created_at)
    assert (updated.name, updated.tier, updated.plan) == ("renamed", "wholesale", "starter")
    assert (updated.requests_per_minute, updated.concurrent_requests) == (7, 2)
    assert (updated.expires_at, updated.discount_bp, updated.monthly_cap_nanos) == (
        moment,
        2500,
        5_000_000_000,
    )
    assert await by_id(db, key.id) == updated
    verified = await verify_secret(db, secret)
    assert verified == updated  # the same secret, now with the new settings
    assert await by_id(db, other.id) == other  # only that key


async def test_update_key_by_prefix_and_clearing_overrides(db: Database) -> None:
    key, _ = await make(
        db, requests_per_minute=5, monthly_cap_nanos=10, expires_at=datetime(2030, 1, 1, tzinfo=UTC)
    )
    cleared = await update_key(
        db, key.id[:8], {"requests_per_minute": None, "monthly_cap_nanos": None, "expires_at": None}
    )
    assert cleared is not None and cleared.id == key.id
    assert (cleared.requests_per_minute, cleared.monthly_cap_nanos, cleared.expires_at) == (None, None, None)


async def test_update_unknown_key(db: Database) -> None:
    await make(db)
    assert await update_key(db, "ffffffffffffffffffffffffffffffff", {"name": "x"}) is None
    assert await update_key(db, "", {"name": "x"}) is None


async def test_update_with_no_changes(db: Database) -> None:
    key, _ = await make(db)
    assert await update_key(db, key.id, {}) == key


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"tier": "gold"}, "tier"),
        ({"tier": ""}, "tier"),
        ({"discount_bp": -1}, "discount"),
        ({"discount_bp": 10_001}, "discount"),
        ({"monthly_cap_nanos": -1}, "monthly cap"),
        ({"secret_hash": "0" * 64}, "secret_hash"),
        ({"account_id": "elsewhere"}, "account_id"),
        ({"prefix": "sk-shoal-aaaaaa"}, "prefix"),
    ],
)
async def test_update_key_validation(db: Database, changes: dict[str, object], fragment: str) -> None:
    key, secret = await make(db)
    with pytest.raises(ValueError, match=fragment):
        await update_key(db, key.id, changes)
    assert await by_id(db, key.id) == key  # nothing changed
    assert await verify_secret(db, secret) == key


@pytest.mark.parametrize("discount_bp", [0, 1, 10_000])
async def test_discount_bounds_are_inclusive(db: Database, discount_bp: int) -> None:
    key, _ = await make(db)
    updated = await update_key(db, key.id, {"discount_bp": discount_bp, "monthly_cap_nanos": 0})
    assert updated is not None and (updated.discount_bp, updated.monthly_cap_nanos) == (discount_bp, 0)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"tier": "gold"}, "tier"),
        ({"discount_bp": 10_001}, "discount"),
        ({"discount_bp": -5}, "discount"),
        ({"monthly_cap_nanos": -1}, "monthly cap"),
    ],
)
async def test_create_key_validation(db: Database, spec: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        await make(db, **spec)
    assert await count_keys(db) == 0


@pytest.mark.parametrize("tier", ["standard", "wholesale", "admin"])
async def test_every_tier_is_accepted(db: Database, tier: str) -> None:
    key, secret = await make(db, tier=tier)
    found = await verify_secret(db, secret)
    assert found is not None and found.tier == key.tier == tier


# -- models -----------------------------------------------------------------------------


async def test_models_are_stored_sorted_and_deduplicated(db: Database) -> None:
    key, secret = await make(db, models=("whisper-base", "piper", "whisper-base", "espeak"))
    assert key.models == ("espeak", "piper", "whisper-base")
    found = await verify_secret(db, secret)
    assert found is not None and found.models == ("espeak", "piper", "whisper-base")
    assert (await by_id(db, key.id)).models == ("espeak", "piper", "whisper-base")


async def test_update_models(db: Database) -> None:
    key, _ = await make(db, models=("piper",))
    updated = await update_key(db, key.id, {"models": ["zeta", " alpha ", "zeta", ""]})
    assert updated is not None and updated.models == ("alpha", "zeta")
    assert (await by_id(db, key.id)).models == ("alpha", "zeta")
    cleared = await update_key(db, key.id, {"models": None})
    assert cleared is not None and cleared.models == ()  # empty: every model


# -- use and persistence ----------------------------------------------------------------


async def test_touch_key_sets_last_used(db: Database) -> None:
    key, _ = await make(db)
    other, _ = await make(db, "idle")
    assert (await by_id(db, key.id)).last_used_at is None
    await touch_key(db, key.id)
    touched = await by_id(db, key.id)
    assert touched.last_used_at is not None
    assert touched.last_used_at >= touched.created_at
    assert (await by_id(db, other.id)).last_used_at is None


async def test_keys_survive_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = await open_database(url)
    key, secret = await create_key(first, KeySpec(name="persisted", models=("piper",), discount_bp=100))
    await first.dispose()
    second = await open_database(url)
    try:
        principal = await verify_secret(second, secret)
        assert principal is not None
        assert principal == key
    finally:
        await second.dispose()


async def test_listed_times_are_timezone_aware(db: Database) -> None:
    key, _ = await make(db)
    listed = await by_id(db, key.id)
    assert listed.created_at.tzinfo is not None
    assert listed.created_at == key.created_at


async def test_created_models_match_what_is_stored(db: Database) -> None:
    key, secret = await make(db, models=("piper ", " piper", ""))
    found = await verify_secret(db, secret)
    assert found is not None and found.models == ("piper",)
    assert key.models == found.models


async def test_a_naive_expiry_is_taken_as_utc(db: Database) -> None:
    naive = datetime(2030, 1, 1)  # what a caller parsing "2030-01-01" may pass
    key, secret = await make(db, expires_at=naive)
    found = await verify_secret(db, secret)
    assert found is not None and found.expires_at == naive.replace(tzinfo=UTC)  # read back as UTC
    assert key.expires_at == found.expires_at
    assert key.status() == "active"
