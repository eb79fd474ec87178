"""API keys: random secrets shown once, stored only as SHA-256 hashes.

A key is ``sk-shoal-`` followed by 43 URL-safe characters (32 random bytes). With
that much entropy a fast hash is safe: nobody can brute-force the preimage, and
verification stays a single indexed lookup.

A key belongs to an account (which owns the credits) and carries what the platform
needs to decide on a request: tier, plan and per-key limit overrides, allowed
models, expiry, a disabled flag, a discount and a monthly spending cap.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import func, insert, select, update

from shoal.billing.accounts import DEFAULT_ACCOUNT, ensure_account
from shoal.storage.db.database import Database
from shoal.storage.db.tables import api_keys
from shoal.timestamps import as_utc, utc_now

KEY_PREFIX = "sk-shoal-"
_SHOWN_PREFIX_CHARS = len(KEY_PREFIX) + 6
MIN_ID_PREFIX = 4

Tier = Literal["standard", "wholesale", "admin"]
TIERS: tuple[str, ...] = get_args(Tier)
KeyStatus = Literal["active", "revoked", "disabled", "expired"]


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    account_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    tier: Tier = "standard"
    plan: str = "pro"
    requests_per_minute: int | None = None
    """Overrides the plan's limit when set."""
    concurrent_requests: int | None = None
    """Overrides the plan's limit when set."""
    models: tuple[str, ...] = ()
    """Models this key may use; empty means all."""
    expires_at: datetime | None = None
    disabled: bool = False
    discount_bp: int = 0
    """Discount off list price in basis points (2500 = 25 %)."""
    monthly_cap_nanos: int | None = None

    @property
    def key_id(self) -> str:
        return self.id

    def status(self, now: datetime | None = None) -> KeyStatus:
        if self.revoked_at is not None:
            return "revoked"
        if self.disabled:
            return "disabled"
        expires_at = as_utc(self.expires_at)
        if expires_at is not None and expires_at <= (now or utc_now()):
            return "expired"
        return "active"


Principal = ApiKey
"""Who is calling: the key that authenticated the request (its account is ``account_id``)."""


@dataclass(frozen=True, slots=True)
class KeySpec:
    """What to create a key with. Unset limits come from the plan."""

    name: str
    account_id: str = DEFAULT_ACCOUNT
    tier: Tier = "standard"
    plan: str | None = None
    requests_per_minute: int | None = None
    concurrent_requests: int | None = None
    models: tuple[str, ...] = ()
    expires_at: datetime | None = None
    discount_bp: int = 0
    monthly_cap_nanos: int | None = None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def clean_models(models: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({model.strip() for model in models if model.strip()}))


def _models_column(models: tuple[str, ...]) -> str:
    return "\n".join(clean_models(models))


def _row_to_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row["id"],
        account_id=row["account_id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=as_utc(row["created_at"]) or utc_now(),
        last_used_at=as_utc(row["last_used_at"]),
        revoked_at=as_utc(row["revoked_at"]),
        tier=row["tier"],
        plan=row["plan"],
        requests_per_minute=row["requests_per_minute"],
        concurrent_requests=row["concurrent_requests"],
        models=tuple(model for model in row["models"].split("\n") if model),
        expires_at=as_utc(row["expires_at"]),
        disabled=bool(row["disabled"]),
        discount_bp=row["discount_bp"],
        monthly_cap_nanos=row["monthly_cap_nanos"],
    )


def validate_spec(tier: str, discount_bp: int, monthly_cap_nanos: int | None) -> None:
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
    if not 0 <= discount_bp <= 10_000:
        raise ValueError("discount must be between 0 and 100 percent")
    if monthly_cap_nanos is not None and monthly_cap_nanos < 0:
        raise ValueError("monthly cap must not be negative")


async def create_key(
    db: Database, spec: KeySpec, *, default_plan: str = "pro", key_id: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns it and its secret, which is never stored or shown again."""
    validate_spec(spec.tier, spec.discount_bp, spec.monthly_cap_nanos)
    await ensure_account(db, spec.account_id)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=key_id or uuid.uuid4().hex,
        account_id=spec.account_id,
        name=spec.name,
        prefix=secret[:_SHOWN_PREFIX_CHARS],
        created_at=utc_now(),
        tier=spec.tier,
        plan=spec.plan or default_plan,
        requests_per_minute=spec.requests_per_minute,
        concurrent_requests=spec.concurrent_requests,
        models=clean_models(spec.models),
        expires_at=as_utc(spec.expires_at),  # a time without a zone is UTC
        discount_bp=spec.discount_bp,
        monthly_cap_nanos=spec.monthly_cap_nanos,
    )
    async with db.write() as connection:
        await connection.execute(
            insert(api_keys).values(
                id=key.id,
                account_id=key.account_id,
                name=key.name,
                prefix=key.prefix,
                secret_hash=hash_secret(secret),
                created_at=key.created_at,
                tier=key.tier,
                plan=key.plan,
                requests_per_minute=key.requests_per_minute,
                concurrent_requests=key.concurrent_requests,
                models=_models_column(key.models),
                expires_at=key.expires_at,
                disabled=False,
                discount_bp=key.discount_bp,
                monthly_cap_nanos=key.monthly_cap_nanos,
            )
        )
    return key, secret


async def list_keys(
    db: Database, *, account_id: str | None = None, include_revoked: bool = True
) -> list[ApiKey]:
    query = select(api_keys).order_by(api_keys.c.created_at)
    if account_id is not None:
        query = query.where(api_keys.c.account_id == account_id)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    async with db.read() as connection:
        rows = (await connection.execute(query)).mappings().all()
    return [_row_to_key(row) for row in rows]


async def count_keys(db: Database) -> int:
    async with db.read() as connection:
        return int((await connection.execute(select(func.count()).select_from(api_keys))).scalar_one())


async def find_key(db: Database, key_id: str) -> ApiKey | None:
    """A key by id, or by a unique id prefix of at least 4 characters."""
    key_id = key_id.strip()
    if len(key_id) < MIN_ID_PREFIX:
        return None
    async with db.read() as connection:
        rows = (
            (
                await connection.execute(
                    select(api_keys).where(api_keys.c.id.startswith(key_id, autoescape=True))
                )
            )
            .mappings()
            .all()
        )
    exact = [row for row in rows if row["id"] == key_id]
    if exact:
        return _row_to_key(exact[0])
    return _row_to_key(rows[0]) if len(rows) == 1 else None


_UPDATABLE = frozenset(
    {"name", "tier", "plan", "requests_per_minute", "concurrent_requests", "models", "expires_at",
     "disabled", "discount_bp", "monthly_cap_nanos"}
)  # fmt: skip


async def update_key(db: Database, key_id: str, changes: Mapping[str, Any]) -> ApiKey | None:
    """Change a key's settings; None when no key matches. The secret never changes."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    key = await find_key(db, key_id)
    if key is None:
        return None
    values = dict(changes)
    validate_spec(
        values.get("tier", key.tier),
        values.get("discount_bp", key.discount_bp),
        values.get("monthly_cap_nanos", key.monthly_cap_nanos),
    )
    if "models" in values:
        values["models"] = _models_column(tuple(values["models"] or ()))
    if values.get("expires_at") is not None:
        values["expires_at"] = as_utc(values["expires_at"])
    if values:
        async with db.write() as connection:
            await connection.execute(update(api_keys).where(api_keys.c.id == key.id).values(**values))
    return await find_key(db, key.id)


async def revoke_key(db: Database, key_id: str) -> bool:
    """Revoke by id (or a unique id prefix). False when no active key matched."""
    key = await find_key(db, key_id)
    if key is None or key.revoked_at is not None:
        return False
    async with db.write() as connection:
        await connection.execute(update(api_keys).where(api_keys.c.id == key.id).values(revoked_at=utc_now()))
    return True


async def verify_secret(db: Database, secret: str) -> ApiKey | None:
    """The key a secret belongs to (whatever its status), or None if it is unknown."""
    if not secret.startswith(KEY_PREFIX):
        return None
    async with db.read() as connection:
        row = (
            (await connection.execute(select(api_keys).where(api_keys.c.secret_hash == hash_secret(secret))))
            .mappings()
            .first()
        )
    return None if row is None else _row_to_key(row)


async def touch_key(db: Database, key_id: str) -> None:
    async with db.write() as connection:
        await connection.execute(
            update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=utc_now())
        )
