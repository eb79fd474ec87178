"""Accounts own keys and credits. Top-ups are idempotent per account and ``Idempotency-Key``.

An account is either *prepaid* (every billed request reserves credits from its
balance; an empty balance is 402) or *unmetered* (usage is recorded and priced, no
balance is kept): the default account that ``make run`` creates for the operator's
own use is unmetered, accounts made for customers are prepaid.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from shoal.errors import IdempotencyKeyReused, InvalidRequest, NotFound
from shoal.storage.db.database import Database
from shoal.storage.db.tables import accounts, ledger, topups
from shoal.timestamps import as_utc, utc_now

DEFAULT_ACCOUNT = "default"
MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    prepaid: bool
    balance_nanos: int
    topped_up_nanos: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TopUp:
    id: str
    account_id: str
    amount_nanos: int
    balance_after_nanos: int
    created_at: datetime
    replayed: bool = False
    """True when this answers a retry of an earlier top-up with the same idempotency key."""


def _row_to_account(row: Any) -> Account:
    created = as_utc(row["created_at"]) or utc_now()
    return Account(
        id=row["id"],
        name=row["name"],
        prepaid=bool(row["prepaid"]),
        balance_nanos=row["balance_nanos"],
        topped_up_nanos=row["topped_up_nanos"],
        created_at=created,
        updated_at=as_utc(row["updated_at"]) or created,
    )


async def ensure_account(db: Database, account_id: str) -> None:
    """Make sure an account exists (unmetered when created here)."""
    if await get_account(db, account_id) is None:
        with contextlib.suppress(IntegrityError):  # created concurrently
            await create_account(db, name=account_id, account_id=account_id, prepaid=False)


async def create_account(
    db: Database, *, name: str, prepaid: bool = True, account_id: str | None = None
) -> Account:
    now = utc_now()
    account_id = account_id or uuid.uuid4().hex
    async with db.write() as connection:
        await connection.execute(
            insert(accounts).values(
                id=account_id, name=name, prepaid=prepaid, balance_nanos=0, topped_up_nanos=0,
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
    return Account(account_id, name, prepaid, 0, 0, now, now)


_ACCOUNT_COLUMNS = ("id", "name", "prepaid", "balance_nanos", "topped_up_nanos", "created_at", "updated_at")
_GET_ACCOUNT = f"SELECT {', '.join(_ACCOUNT_COLUMNS)} FROM accounts WHERE id = $1"


async def get_account(db: Database, account_id: str) -> Account | None:
    # On the driver: clients poll their balance, and this is the whole of that request's work.
    row = await db.driver.fetchrow(_GET_ACCOUNT, account_id)
    if row is None:
        return None
    values = dict(zip(_ACCOUNT_COLUMNS, row, strict=True))
    for column in ("created_at", "updated_at"):
        if isinstance(values[column], str):  # SQLite hands back text
            values[column] = datetime.fromisoformat(values[column])
    return _row_to_account(values)


async def find_account(db: Database, ref: str) -> Account | None:
    """An account by id, or by name when exactly one account has it."""
    found = await get_account(db, ref)
    if found is not None:
        return found
    async with db.read() as connection:
        rows = (await connection.execute(select(accounts).where(accounts.c.name == ref))).mappings().all()
    return _row_to_account(rows[0]) if len(rows) == 1 else None


async def list_accounts(db: Database) -> list[Account]:
    async with db.read() as connection:
        rows = (await connection.execute(select(accounts).order_by(accounts.c.created_at))).mappings().all()
    return [_row_to_account(row) for row in rows]


async def top_up(
    db: Database, account_id: str, amount_nanos: int, *, idempotency_key: str | None = None, note: str = ""
) -> TopUp:
    """Add credits. With an idempotency key, a retry returns the first top-up instead of adding again."""
    if amount_nanos <= 0:
        raise InvalidRequest("a top-up must add a positive number of credits")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    now = utc_now()
    topup_id = uuid.uuid4().hex
    try:
        async with db.write() as connection:
            if idempotency_key is not None:
                earlier = await _earlier_topup(connection, account_id, idempotency_key)
                if earlier is not None:
                    return _replay(earlier, amount_nanos)
            row = (
                await connection.execute(
                    update(accounts)
                    .where(accounts.c.id == account_id, accounts.c.prepaid.is_(True))
                    .values(
                        balance_nanos=accounts.c.balance_nanos + amount_nanos,
                        topped_up_nanos=accounts.c.topped_up_nanos + amount_nanos,
                        updated_at=now,
                    )
                    .returning(accounts.c.balance_nanos)
                )
            ).first()
            if row is None:
                await _refuse_top_up(connection, account_id)
            balance = int(row.balance_nanos)
            await connection.execute(
                insert(ledger).values(
                    account_id=account_id, kind="topup", amount_nanos=amount_nanos,
                    balance_after_nanos=balance, reference=topup_id, created_at=now,
                )
            )  # fmt: skip
            await connection.execute(
                insert(topups).values(
                    id=topup_id, account_id=account_id, idempotency_key=idempotency_key,
                    amount_nanos=amount_nanos, balance_after_nanos=balance, note=note, created_at=now,
                )
            )  # fmt: skip
    except IntegrityError:
        # Two replicas raced on one idempotency key: the loser answers with the winner's top-up.
        if idempotency_key is None:
            raise
        async with db.read() as connection:
            earlier = await _earlier_topup(connection, account_id, idempotency_key)
        if earlier is None:
            raise
        return _replay(earlier, amount_nanos)
    return TopUp(topup_id, account_id, amount_nanos, balance, now)


async def _refuse_top_up(connection: Any, account_id: str) -> None:
    name = (await connection.execute(select(accounts.c.name).where(accounts.c.id == account_id))).scalar()
    if name is None:
        raise NotFound(f"account {account_id!r} does not exist")
    raise InvalidRequest(
        f"account {name!r} is unmetered: it keeps no balance, so credits cannot be added to it. "
        "Give the customer a prepaid account instead (shoal accounts create NAME --credits N)"
    )


def idempotent_id(kind: str, idempotency_key: str) -> str:
    """The id of the ``kind`` object a request with ``idempotency_key`` creates: a retry finds it."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"shoal:{kind}:{idempotency_key}").hex


async def create_account_once(
    db: Database, *, name: str, prepaid: bool, idempotency_key: str | None
) -> tuple[Account, bool]:
    """Create an account; with an idempotency key, a retry returns the first one. (account, created)."""
    if idempotency_key is None:
        return await create_account(db, name=name, prepaid=prepaid), True
    account_id = idempotent_id("account", idempotency_key)
    try:
        return await create_account(db, name=name, prepaid=prepaid, account_id=account_id), True
    except IntegrityError:
        existing = await get_account(db, account_id)
        if existing is None:
            raise
        if existing.name != name or existing.prepaid != prepaid:
            raise IdempotencyKeyReused(
                "this Idempotency-Key already created a different account; use a new key"
            ) from None
        return existing, False


async def _earlier_topup(connection: Any, account_id: str, idempotency_key: str) -> Any:
    return (
        (
            await connection.execute(
                select(topups).where(
                    topups.c.account_id == account_id, topups.c.idempotency_key == idempotency_key
                )
            )
        )
        .mappings()
        .first()
    )


def _replay(earlier: Any, amount_nanos: int) -> TopUp:
    if earlier["amount_nanos"] != amount_nanos:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a top-up of a different amount; "
            "use a new key for a new top-up"
        )
    return TopUp(
        earlier["id"], earlier["account_id"], earlier["amount_nanos"], earlier["balance_after_nanos"],
        as_utc(earlier["created_at"]) or utc_now(), replayed=True,
    )  # fmt: skip
