"""The wallet: hold credits before work, settle the actual cost after, release the rest.

Every change to a balance is one conditional ``UPDATE … WHERE balance >= amount`` in
the same transaction as its ledger entry, so the balance never goes below zero (a
CHECK constraint backs that up), concurrent requests on any number of replicas
cannot overdraw it, and the ledger always sums to the balance. A hold whose process
died is released by whichever replica sweeps it first (``DELETE … RETURNING`` hands
each hold to exactly one settler).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shoal.billing.money import credits_str
from shoal.billing.pricing import Quote
from shoal.errors import InsufficientCredit, MonthlyCapExceeded, NotFound
from shoal.storage.db.database import Database
from shoal.storage.db.tables import accounts, holds, key_spend, ledger, usage_records

Outcome = Literal["completed", "cancelled", "failed", "expired"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Hold:
    id: str
    account_id: str
    key_id: str
    month: str
    amount_nanos: int
    prepaid: bool
    balance_after_nanos: int | None
    """The account's balance once this hold was taken (None for unmetered accounts)."""


@dataclass(frozen=True, slots=True)
class Settlement:
    cost_nanos: int
    balance_after_nanos: int | None


@dataclass(frozen=True, slots=True)
class UsageLine:
    """What a usage record says besides its cost."""

    request_id: str
    quote: Quote
    outcome: Outcome


class Wallet:
    def __init__(self, db: Database, *, hold_ttl_seconds: float) -> None:
        self._db = db
        self._hold_ttl = timedelta(seconds=hold_ttl_seconds)

    def _upsert(self) -> Any:
        return pg_insert if self._db.engine.dialect.name == "postgresql" else sqlite_insert

    async def reserve(
        self, *, account_id: str, key_id: str, amount_nanos: int, monthly_cap_nanos: int | None
    ) -> Hold:
        """Hold ``amount_nanos`` for a request. Raises InsufficientCredit or MonthlyCapExceeded."""
        now = _now()
        month = f"{now:%Y-%m}"
        hold_id = uuid.uuid4().hex
        async with self._db.write() as connection:
            await self._count_spend(connection, key_id, month, amount_nanos, monthly_cap_nanos)
            row = (
                await connection.execute(
                    update(accounts)
                    .where(
                        accounts.c.id == account_id,
                        (accounts.c.prepaid.is_(False)) | (accounts.c.balance_nanos >= amount_nanos),
                    )
                    .values(
                        balance_nanos=case(
                            (accounts.c.prepaid.is_(True), accounts.c.balance_nanos - amount_nanos),
                            else_=accounts.c.balance_nanos,
                        ),
                    )
                    .returning(accounts.c.balance_nanos, accounts.c.prepaid)
                )
            ).first()
            if row is None:
                await self._refuse(connection, account_id, amount_nanos)
            assert row is not None
            prepaid = bool(row.prepaid)
            balance = int(row.balance_nanos)
            if prepaid and amount_nanos:
                await self._entry(
                    connection, account_id, "hold", -amount_nanos, balance, hold_id, key_id, now
                )
            await connection.execute(
                insert(holds).values(
                    id=hold_id, account_id=account_id, key_id=key_id, month=month, amount_nanos=amount_nanos,
                    charged_balance=prepaid, created_at=now, expires_at=now + self._hold_ttl,
                )
            )  # fmt: skip
        return Hold(hold_id, account_id, key_id, month, amount_nanos, prepaid, balance if prepaid else None)

    async def _count_spend(
        self, connection: AsyncConnection, key_id: str, month: str, amount: int, cap: int | None
    ) -> None:
        """Add to the key's spend this month, unless that passes its cap."""
        if cap is not None and amount > cap:
            raise MonthlyCapExceeded(self._cap_message(cap))
        statement = self._upsert()(key_spend).values(key_id=key_id, month=month, spent_nanos=amount)
        statement = statement.on_conflict_do_update(
            index_elements=[key_spend.c.key_id, key_spend.c.month],
            set_={"spent_nanos": key_spend.c.spent_nanos + amount},
            where=(key_spend.c.spent_nanos + amount <= cap) if cap is not None else None,
        )
        result = await connection.execute(statement)
        if result.rowcount == 0:
            raise MonthlyCapExceeded(self._cap_message(cap or 0))

    @staticmethod
    def _cap_message(cap: int) -> str:
        return (
            f"this key has reached its monthly spending cap of {credits_str(cap)} credits; "
            "it resets on the 1st (UTC), or an administrator can raise it"
        )

    @staticmethod
    async def _refuse(connection: AsyncConnection, account_id: str, amount: int) -> None:
        balance = (
            await connection.execute(select(accounts.c.balance_nanos).where(accounts.c.id == account_id))
        ).scalar()
        if balance is None:
            raise NotFound(f"account {account_id!r} does not exist")
        raise InsufficientCredit(
            f"insufficient credits: this request costs {credits_str(amount)} credits and the balance is "
            f"{credits_str(int(balance))}; top up the account to continue"
        )

    @staticmethod
    async def _entry(
        connection: AsyncConnection, account_id: str, kind: str, amount: int, balance: int,
        reference: str, key_id: str | None, now: datetime,
    ) -> None:  # fmt: skip
        await connection.execute(
            insert(ledger).values(
                account_id=account_id, kind=kind, amount_nanos=amount, balance_after_nanos=balance,
                reference=reference, key_id=key_id, created_at=now,
            )
        )  # fmt: skip

    async def settle(self, hold: Hold, cost_nanos: int, line: UsageLine | None) -> Settlement | None:
        """Charge ``cost_nanos`` against ``hold``: release what is left, or take more if it cost more.

        A cost above the hold is taken only as far as the balance goes. Writes the usage
        record (``line``) in the same transaction. A hold already settled (or swept)
        is not charged again: the answer is then None.
        """
        now = _now()
        async with self._db.write() as connection:
            held = (
                await connection.execute(
                    delete(holds).where(holds.c.id == hold.id).returning(holds.c.amount_nanos)
                )
            ).first()
            if held is None:  # already settled, or swept after its process died
                return None
            amount = int(held.amount_nanos)
            charged = cost_nanos
            balance: int | None = None
            if hold.prepaid:
                charged, balance = await self._adjust(connection, hold, amount, cost_nanos, now)
            if charged != amount:
                await connection.execute(
                    update(key_spend)
                    .where(key_spend.c.key_id == hold.key_id, key_spend.c.month == hold.month)
                    .values(spent_nanos=key_spend.c.spent_nanos + (charged - amount))
                )
            if line is not None:
                await self._record(connection, hold, line, charged, balance, now)
        return Settlement(charged, balance)

    @staticmethod
    async def _record(
        connection: AsyncConnection, hold: Hold, line: UsageLine, charged: int, balance: int | None,
        now: datetime,
    ) -> None:  # fmt: skip
        quote = line.quote
        await connection.execute(
            insert(usage_records).values(
                created_at=now, request_id=line.request_id, account_id=hold.account_id, key_id=hold.key_id,
                model=quote.model, kind=quote.kind, unit=quote.unit, units=quote.units,
                unit_price=quote.unit_price, discount_bp=quote.discount_bp, cost_nanos=charged,
                balance_after_nanos=balance, outcome=line.outcome,
            )
        )  # fmt: skip

    async def _adjust(
        self, connection: AsyncConnection, hold: Hold, amount: int, cost: int, now: datetime
    ) -> tuple[int, int]:
        """Move the difference between hold and cost; returns (charged, balance after)."""
        if cost <= amount:
            refund = amount - cost
            row = (
                await connection.execute(
                    update(accounts)
                    .where(accounts.c.id == hold.account_id)
                    .values(balance_nanos=accounts.c.balance_nanos + refund, updated_at=now)
                    .returning(accounts.c.balance_nanos)
                )
            ).one()
            if refund:
                await self._entry(
                    connection, hold.account_id, "release", refund, int(row.balance_nanos), hold.id,
                    hold.key_id, now,
                )  # fmt: skip
            return cost, int(row.balance_nanos)
        balance = (
            await connection.execute(
                select(accounts.c.balance_nanos).where(accounts.c.id == hold.account_id).with_for_update()
            )
        ).scalar_one()
        took = min(cost - amount, int(balance))
        if took:
            await connection.execute(
                update(accounts)
                .where(accounts.c.id == hold.account_id)
                .values(balance_nanos=int(balance) - took, updated_at=now)
            )
            await self._entry(
                connection, hold.account_id, "charge", -took, int(balance) - took, hold.id, hold.key_id, now
            )
        return amount + took, int(balance) - took

    async def sweep_expired(self, limit: int = 100) -> int:
        """Release holds whose process died before settling them. Returns how many were released."""
        async with self._db.read() as connection:
            rows = (
                (
                    await connection.execute(
                        select(holds)
                        .where(holds.c.expires_at < _now())
                        .order_by(holds.c.expires_at)
                        .limit(limit)
                    )
                )
                .mappings()
                .all()
            )
        released = 0
        for row in rows:
            hold = Hold(
                row["id"], row["account_id"], row["key_id"], row["month"], row["amount_nanos"],
                bool(row["charged_balance"]), None,
            )  # fmt: skip
            if await self.settle(hold, 0, None) is not None:
                released += 1
        return released

    async def ledger_total(self, account_id: str) -> int:
        async with self._db.read() as connection:
            total = (
                await connection.execute(
                    select(func.coalesce(func.sum(ledger.c.amount_nanos), 0)).where(
                        ledger.c.account_id == account_id
                    )
                )
            ).scalar_one()
        return int(total)
