"""Webhook signing secrets, one per account, and Standard Webhooks signatures made with them.

A secret is ``whsec_`` and the base64 of 32 random bytes, the form the Standard Webhooks
libraries take as is. It is created the first time it is needed, by whichever request or
replica comes first (insert-or-ignore, then read back). Rotating keeps the previous secret
signing beside the new one until a grace period ends, so a receiver can switch over
without rejecting a single callback.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from shoal.storage.db.database import Database
from shoal.storage.db.tables import webhook_secrets
from shoal.timestamps import as_utc

PREFIX = "whsec_"
_BYTES = 32
_INSERT = (
    "INSERT INTO webhook_secrets (account_id, secret, created_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (account_id) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class WebhookSecret:
    secret: str
    previous_secret: str | None
    """Still signing until ``previous_expires_at`` (None when there is none, or its grace is over)."""
    previous_expires_at: datetime | None
    created_at: datetime


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(_BYTES)).decode()


def _current(row: Any, now: datetime) -> WebhookSecret:
    secret, previous, expires, created = row
    expires = as_utc(expires)
    if previous is None or expires is None or expires <= now:
        previous, expires = None, None
    created_at = as_utc(created)
    assert created_at is not None
    return WebhookSecret(str(secret), previous, expires, created_at)


_COLUMNS = (
    webhook_secrets.c.secret,
    webhook_secrets.c.previous_secret,
    webhook_secrets.c.previous_expires_at,
    webhook_secrets.c.created_at,
)


async def _read(db: Database, account_id: str) -> Any:
    async with db.read() as connection:
        query = select(*_COLUMNS).where(webhook_secrets.c.account_id == account_id)
        return (await connection.execute(query)).first()


async def account_secret(db: Database, account_id: str) -> WebhookSecret:
    """The account's secret, created now if it has none yet (race-free across replicas)."""
    row = await _read(db, account_id)
    if row is None:
        async with db.driver.transaction() as tx:
            await tx.execute(_INSERT, account_id, new_secret(), datetime.now(UTC))
        row = await _read(db, account_id)
        if row is None:  # pragma: no cover - the insert above or a concurrent one committed it
            raise RuntimeError(f"webhook secret for account {account_id!r} could not be stored")
    return _current(row, datetime.now(UTC))


async def rotate(db: Database, account_id: str, grace_seconds: float) -> WebhookSecret:
    """Replace the account's secret; the old one keeps signing for ``grace_seconds`` (0: stops now)."""
    await account_secret(db, account_id)
    now = datetime.now(UTC)
    keep = grace_seconds > 0
    async with db.write() as connection:
        # ``previous_secret = secret`` reads the row as it is under the write lock, so two
        # rotations at once chain (a → b → c) instead of both demoting the same secret.
        row = (
            await connection.execute(
                update(webhook_secrets)
                .where(webhook_secrets.c.account_id == account_id)
                .values(
                    previous_secret=webhook_secrets.c.secret if keep else None,
                    previous_expires_at=now + timedelta(seconds=grace_seconds) if keep else None,
                    secret=new_secret(),
                    created_at=now,
                )
                .returning(*_COLUMNS)
            )
        ).first()
    assert row is not None
    return _current(row, now)


async def active_secrets(db: Database, account_id: str) -> list[str]:
    """The secrets a callback is signed with now: the current one, then the previous one in its grace."""
    current = await account_secret(db, account_id)
    return [current.secret] + ([current.previous_secret] if current.previous_secret else [])


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def signature_header(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, one per secret."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()
        for secret in secrets_
    )
