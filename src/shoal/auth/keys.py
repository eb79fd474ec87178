"""API keys: random secrets shown once, stored only as SHA-256 hashes.

A key is ``sk-shoal-`` followed by 43 URL-safe characters (32 random bytes). With
that much entropy a fast hash is safe: nobody can brute-force the preimage, and
verification stays a single indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, insert, select, update

from shoal.storage.db.tables import accounts, api_keys

KEY_PREFIX = "sk-shoal-"
_SHOWN_PREFIX_CHARS = len(KEY_PREFIX) + 6
DEFAULT_ACCOUNT = "default"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    account_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key that authenticated the request and its account."""

    key_id: str
    account_id: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time Shoal stores is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _ensure_account(db: Engine, account_id: str) -> None:
    with db.begin() as connection:
        exists = connection.execute(select(accounts.c.id).where(accounts.c.id == account_id)).first()
        if exists is None:
            connection.execute(insert(accounts).values(id=account_id, name=account_id, created_at=_now()))


def create_key(*, db: Engine, name: str, account_id: str = DEFAULT_ACCOUNT) -> tuple[ApiKey, str]:
    """Create a key; returns it and its secret, which is never stored or shown again."""
    _ensure_account(db, account_id)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid.uuid4().hex,
        account_id=account_id,
        name=name,
        prefix=secret[:_SHOWN_PREFIX_CHARS],
        created_at=_now(),
        last_used_at=None,
        revoked_at=None,
    )
    with db.begin() as connection:
        connection.execute(
            insert(api_keys).values(
                id=key.id,
                account_id=key.account_id,
                name=key.name,
                prefix=key.prefix,
                secret_hash=hash_secret(secret),
                created_at=key.created_at,
            )
        )
    return key, secret


def list_keys(*, db: Engine, include_revoked: bool = True) -> list[ApiKey]:
    query = select(api_keys).order_by(api_keys.c.created_at)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    with db.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        ApiKey(
            id=row["id"],
            account_id=row["account_id"],
            name=row["name"],
            prefix=row["prefix"],
            created_at=_aware(row["created_at"]) or _now(),
            last_used_at=_aware(row["last_used_at"]),
            revoked_at=_aware(row["revoked_at"]),
        )
        for row in rows
    ]


def count_keys(*, db: Engine) -> int:
    with db.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(api_keys)).scalar_one())


MIN_ID_PREFIX = 4


def revoke_key(*, db: Engine, key_id: str) -> bool:
    """Revoke by id (or a unique id prefix of at least 4 characters). False when no active key matched."""
    key_id = key_id.strip()
    if len(key_id) < MIN_ID_PREFIX:
        return False
    with db.begin() as connection:
        matches = connection.execute(
            select(api_keys.c.id).where(
                api_keys.c.id.startswith(key_id, autoescape=True), api_keys.c.revoked_at.is_(None)
            )
        ).all()
        if len(matches) != 1:
            return False
        connection.execute(update(api_keys).where(api_keys.c.id == matches[0].id).values(revoked_at=_now()))
    return True


def verify_secret(*, db: Engine, secret: str) -> Principal | None:
    """The principal a secret belongs to, or None if it is unknown or revoked."""
    if not secret.startswith(KEY_PREFIX):
        return None
    with db.connect() as connection:
        row = connection.execute(
            select(api_keys.c.id, api_keys.c.account_id).where(
                api_keys.c.secret_hash == hash_secret(secret), api_keys.c.revoked_at.is_(None)
            )
        ).first()
    return None if row is None else Principal(key_id=row.id, account_id=row.account_id)


def touch_key(*, db: Engine, key_id: str) -> None:
    with db.begin() as connection:
        connection.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=_now()))
