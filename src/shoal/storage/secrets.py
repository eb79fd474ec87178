"""Secrets every replica must agree on (e.g. the key that signs file URLs), kept in the database.

The first process to ask creates one at random; the insert ignores a conflict and the value
is read back, so replicas starting together all end up with the same one.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from shoal.storage.db.database import Database

_INSERT = (
    "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING"
)
_SELECT = "SELECT value FROM server_secrets WHERE name = $1"


async def server_secret(db: Database, name: str, *, nbytes: int = 32) -> bytes:
    """The secret called ``name``, created (``nbytes`` random bytes) if there is none yet."""
    row = await db.driver.fetchrow(_SELECT, name)
    if row is None:
        async with db.driver.transaction() as tx:
            await tx.execute(_INSERT, name, secrets.token_hex(nbytes), datetime.now(UTC))
        row = await db.driver.fetchrow(_SELECT, name)
        if row is None:  # pragma: no cover - the insert above or a concurrent one committed it
            raise RuntimeError(f"server secret {name!r} could not be stored")
    return bytes.fromhex(str(row[0]))
