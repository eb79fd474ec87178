from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from shoal.auth.keys import (
    KEY_PREFIX,
    ApiKey,
    count_keys,
    create_key,
    list_keys,
    revoke_key,
    touch_key,
    verify_secret,
)
from shoal.storage.db.database import open_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    yield engine
    engine.dispose()


def by_id(db: Engine, key_id: str) -> ApiKey:
    (key,) = [key for key in list_keys(db=db) if key.id == key_id]
    return key


def test_create_key_returns_a_fresh_secret(db: Engine) -> None:
    key, secret = create_key(db=db, name="laptop")
    assert secret.startswith("sk-shoal-")
    assert len(secret) >= 40
    assert key.name == "laptop"
    assert key.account_id == "default"
    assert key.last_used_at is None
    assert key.revoked_at is None
    assert secret.startswith(key.prefix)
    assert len(key.prefix) < len(secret) - 20


def test_two_keys_are_different(db: Engine) -> None:
    first, first_secret = create_key(db=db, name="same")
    second, second_secret = create_key(db=db, name="same")
    assert first.id != second.id
    assert first_secret != second_secret
    assert first_secret[len(KEY_PREFIX) :] != second_secret[len(KEY_PREFIX) :]


def test_secret_is_not_stored(db: Engine, tmp_path: Path) -> None:
    marker = "name-marker-7f3a"
    _, secret = create_key(db=db, name=marker)
    db.dispose()  # close connections so SQLite checkpoints its write-ahead log
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("x.db"))
    assert marker.encode() in stored  # what was written is readable here
    assert secret.encode() not in stored
    assert secret[len(KEY_PREFIX) + 8 :].encode() not in stored  # not even the part past the prefix


def test_verify_secret(db: Engine) -> None:
    key, secret = create_key(db=db, name="client")
    principal = verify_secret(db=db, secret=secret)
    assert principal is not None
    assert principal.key_id == key.id
    assert principal.account_id == "default"


def test_verify_secret_of_another_account(db: Engine) -> None:
    key, secret = create_key(db=db, name="team", account_id="team-a")
    principal = verify_secret(db=db, secret=secret)
    assert principal is not None
    assert (principal.key_id, principal.account_id) == (key.id, "team-a")


def test_each_secret_maps_to_its_own_key(db: Engine) -> None:
    keys = [create_key(db=db, name=f"k{index}") for index in range(3)]
    for key, secret in keys:
        principal = verify_secret(db=db, secret=secret)
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
def test_verify_secret_rejects_wrong_secrets(db: Engine, wrong: Callable[[str], str]) -> None:
    _, secret = create_key(db=db, name="client")
    candidate = wrong(secret)
    assert candidate != secret
    assert verify_secret(db=db, secret=candidate) is None


def test_revoked_key_no_longer_verifies(db: Engine) -> None:
    key, secret = create_key(db=db, name="old")
    other, other_secret = create_key(db=db, name="other")
    assert revoke_key(db=db, key_id=key.id)
    assert verify_secret(db=db, secret=secret) is None
    assert verify_secret(db=db, secret=other_secret) is not None  # only that one
    assert by_id(db, key.id).revoked_at is not None
    assert by_id(db, other.id).revoked_at is None


def test_revoking_twice_fails(db: Engine) -> None:
    key, _ = create_key(db=db, name="old")
    assert revoke_key(db=db, key_id=key.id)
    assert not revoke_key(db=db, key_id=key.id)


def test_list_keys_shows_prefix_only(db: Engine) -> None:
    created = [create_key(db=db, name=name) for name in ("alpha", "beta")]
    listed = list_keys(db=db)
    assert [key.id for key in listed] == [key.id for key, _ in created]
    assert [key.name for key in listed] == ["alpha", "beta"]
    for key, (made, secret) in zip(listed, created, strict=True):
        assert key.prefix == made.prefix
        assert key.prefix.startswith(KEY_PREFIX)
        assert secret.startswith(key.prefix)
        assert len(key.prefix) <= len(KEY_PREFIX) + 8
        assert secret not in repr(key)


def test_list_keys_without_revoked(db: Engine) -> None:
    old, _ = create_key(db=db, name="old")
    new, _ = create_key(db=db, name="new")
    revoke_key(db=db, key_id=old.id)
    assert [key.id for key in list_keys(db=db)] == [old.id, new.id]
    assert [key.id for key in list_keys(db=db, include_revoked=False)] == [new.id]


def test_list_keys_of_empty_database(db: Engine) -> None:
    assert list_keys(db=db) == []
    assert count_keys(db=db) == 0


def test_revoke_by_unique_id_prefix(db: Engine) -> None:
    keys = [create_key(db=db, name=f"k{index}") for index in range(4)]
    ids = [key.id for key, _ in keys]
    target = ids[0]
    length = next(n for n in range(1, len(target) + 1) if sum(i.startswith(target[:n]) for i in ids) == 1)
    assert revoke_key(db=db, key_id=target[: max(length, 4)])
    assert [key.id for key in list_keys(db=db, include_revoked=False)] == ids[1:]


def test_ambiguous_prefix_revokes_nothing(db: Engine) -> None:
    keys = [create_key(db=db, name=f"k{index}") for index in range(40)]
    ids = [key.id for key, _ in keys]
    # With 40 random hex ids, some first character is shared by two of them.
    shared = next(character for character in "0123456789abcdef" if sum(i[0] == character for i in ids) >= 2)
    assert not revoke_key(db=db, key_id=shared)
    assert len(list_keys(db=db, include_revoked=False)) == 40


@pytest.mark.parametrize("unknown", ["zz", "not-an-id", "%", "_", "0" * 33])
def test_unknown_prefix_revokes_nothing(db: Engine, unknown: str) -> None:
    create_key(db=db, name="only")
    assert not revoke_key(db=db, key_id=unknown)
    assert len(list_keys(db=db, include_revoked=False)) == 1


def test_empty_id_revokes_nothing(db: Engine) -> None:
    create_key(db=db, name="only")
    assert not revoke_key(db=db, key_id="")
    assert len(list_keys(db=db, include_revoked=False)) == 1


def test_count_keys(db: Engine) -> None:
    assert count_keys(db=db) == 0
    first, _ = create_key(db=db, name="a")
    create_key(db=db, name="b", account_id="other")
    assert count_keys(db=db) == 2
    revoke_key(db=db, key_id=first.id)
    assert count_keys(db=db) == 2  # revoked keys still count


def test_touch_key_sets_last_used(db: Engine) -> None:
    key, _ = create_key(db=db, name="client")
    other, _ = create_key(db=db, name="idle")
    assert by_id(db, key.id).last_used_at is None
    touch_key(db=db, key_id=key.id)
    touched = by_id(db, key.id)
    assert touched.last_used_at is not None
    assert touched.last_used_at >= touched.created_at
    assert by_id(db, other.id).last_used_at is None


def test_keys_survive_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = open_database(url)
    key, secret = create_key(db=first, name="persisted")
    first.dispose()
    second = open_database(url)
    try:
        principal = verify_secret(db=second, secret=secret)
        assert principal is not None
        assert principal.key_id == key.id
    finally:
        second.dispose()


def test_listed_times_are_timezone_aware(db: Engine) -> None:
    key, _ = create_key(db=db, name="client")
    listed = by_id(db, key.id)
    assert listed.created_at.tzinfo is not None
    assert listed.created_at == key.created_at
