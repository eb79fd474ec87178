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
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, update

from shoal.billing.money import credits_str
from shoal.billing.pricing import Quote
from shoal.errors import InsufficientCredit, MonthlyCapExceeded, NotFound
from shoal.storage.db.database import Database
from shoal.storage.db.driver import Transaction
from shoal.storage.db.tables import holds, ledger, usage_records
from shoal.timestamps import utc_now

Outcome = Literal["completed", "cancelled", "failed", "expired"]


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


# Written once for both databases (SQLite ≥ 3.35 has RETURNING and upserts); see storage/db/driver.py.
_SPEND = (
    "INSERT INTO key_spend (key_id, month, spent_nanos) VALUES ($1, $2, $3) "
    "ON CONFLICT (key_id, month) DO UPDATE SET spent_nanos = key_spend.spent_nanos + excluded.spent_nanos "
    "WHERE key_spend.spent_nanos + excluded.spent_nanos <= $4 RETURNING spent_nanos"
)
_HOLD_BALANCE = (
    "UPDATE accounts SET balance_nanos = CASE WHEN prepaid THEN balance_nanos - $2 ELSE balance_nanos END "
    "WHERE id = $1 AND (NOT prepaid OR balance_nanos >= $2) RETURNING balance_nanos, prepaid"
)
_BALANCE = "SELECT balance_nanos FROM accounts WHERE id = $1"
_LEDGER = (
    "INSERT INTO ledger (account_id, kind, amount_nanos, balance_after_nanos, reference, key_id, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
_HOLD = (
    "INSERT INTO holds (id, account_id, key_id, month, amount_nanos, charged_balance, created_at, "
    "expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
_TAKE_HOLD = "DELETE FROM holds WHERE id = $1 RETURNING amount_nanos"
_ADD_BALANCE = (
    "UPDATE accounts SET balance_nanos = balance_nanos + $2, updated_at = $3 WHERE id = $1 "
    "RETURNING balance_nanos"
)
_ADJUST_SPEND = "UPDATE key_spend SET spent_nanos = spent_nanos + $3 WHERE key_id = $1 AND month = $2"
_USAGE = (
    "INSERT INTO usage_records (created_at, request_id, account_id, key_id, model, kind, unit, units, "
    "unit_price, discount_bp, cost_nanos, balance_after_nanos, outcome) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
)
_NO_CAP = 2**62


class Wallet:
    def __init__(self, db: Database, *, hold_ttl_seconds: float) -> None:
        self._db = db
        self._hold_ttl = timedelta(seconds=hold_ttl_seconds)

    async def reserve(
        self, *, account_id: str, key_id: str, amount_nanos: int, monthly_cap_nanos: int | None,
        ttl_seconds: float | None = None,
    ) -> Hold:  # fmt: skip
        """Hold ``amount_nanos`` for a request (for ``ttl_seconds``, by default the wallet's hold TTL).
        Raises InsufficientCredit or MonthlyCapExceeded."""
        if monthly_cap_nanos is not None and amount_nanos > monthly_cap_nanos:
            raise MonthlyCapExceeded(self._cap_message(monthly_cap_nanos))
        now = utc_now()
        month = f"{now:%Y-%m}"
        hold_id = uuid.uuid4().hex
        cap = _NO_CAP if monthly_cap_nanos is None else monthly_cap_nanos
        async with self._db.driver.transaction() as tx:
            if await tx.fetchrow(_SPEND, key_id, month, amount_nanos, cap) is None:
                raise MonthlyCapExceeded(self._cap_message(cap))
            row = await tx.fetchrow(_HOLD_BALANCE, account_id, amount_nanos)
            if row is None:
                await self._refuse(tx, account_id, amount_nanos)
            assert row is not None
            balance, prepaid = int(row[0]), bool(row[1])
            if prepaid and amount_nanos:
                await tx.execute(_LEDGER, account_id, "hold", -amount_nanos, balance, hold_id, key_id, now)
            await tx.execute(
                _HOLD, hold_id, account_id, key_id, month, amount_nanos, prepaid, now,
                now + (self._hold_ttl if ttl_seconds is None else timedelta(seconds=ttl_seconds)),
            )  # fmt: skip
        return Hold(hold_id, account_id, key_id, month, amount_nanos, prepaid, balance if prepaid else None)

    @staticmethod
    def _cap_message(cap: int) -> str:
        return (
            f"this key has reached its monthly spending cap of {credits_str(cap)} credits; "
            "it resets on the 1st (UTC), or an administrator can raise it"
        )

    @staticmethod
    async def _refuse(tx: Transaction, account_id: str, amount: int) -> None:
        row = await tx.fetchrow(_BALANCE, account_id)
        if row is None:
            raise NotFound(f"account {account_id!r} does not exist")
        raise InsufficientCredit(
            f"insufficient credits: this request costs {credits_str(amount)} credits and the balance is "
            f"{credits_str(int(row[0]))}; top up the account to continue"
        )

    async def billed(self, request_id: str) -> bool:
        """Whether a request's hold was settled (settling writes its usage record; sweeping does not)."""
        async with self._db.read() as connection:
            found = await connection.execute(
                select(usage_records.c.id).where(usage_records.c.request_id == request_id).limit(1)
            )
            return found.first() is not None

    async def find_hold(self, hold_id: str) -> Hold | None:
        """A hold still open (not settled or swept), e.g. to settle it in another process."""
        async with self._db.read() as connection:
            row = (await connection.execute(select(holds).where(holds.c.id == hold_id))).first()
        if row is None:
            return None
        return Hold(
            row.id, row.account_id, row.key_id, row.month, row.amount_nanos, row.charged_balance, None
        )

    async def settle(self, hold: Hold, cost_nanos: int, line: UsageLine | None) -> Settlement | None:
        """Charge ``cost_nanos`` against ``hold``: release what is left, or take more if it cost more.

        A cost above the hold is taken only as far as the balance goes. Writes the usage
        record (``line``) in the same transaction. A hold already settled (or swept)
        is not charged again: the answer is then None.
        """
        now = utc_now()
        async with self._db.driver.transaction() as tx:
            held = await tx.fetchrow(_TAKE_HOLD, hold.id)
            if held is None:  # already settled, or swept after its process died
                return None
            amount = int(held[0])
            charged = cost_nanos
            balance: int | None = None
            if hold.prepaid:
                charged, balance = await self._adjust(tx, hold, amount, cost_nanos, now)
            if charged != amount:
                await tx.execute(_ADJUST_SPEND, hold.key_id, hold.month, charged - amount)
            if line is not None:
                quote = line.quote
                await tx.execute(
                    _USAGE, now, line.request_id, hold.account_id, hold.key_id, quote.model, quote.kind,
                    quote.unit, float(quote.units), quote.unit_price, quote.discount_bp, charged, balance,
                    line.outcome,
                )  # fmt: skip
        return Settlement(charged, balance)

    async def _adjust(
        self, tx: Transaction, hold: Hold, amount: int, cost: int, now: datetime
    ) -> tuple[int, int]:
        """Move the difference between hold and cost; returns (charged, balance after)."""
        if cost <= amount:
            refund = amount - cost
            row = await tx.fetchrow(_ADD_BALANCE, hold.account_id, refund, now)
            assert row is not None
            if refund:
                await tx.execute(
                    _LEDGER, hold.account_id, "release", refund, int(row[0]), hold.id, hold.key_id, now
                )
            return cost, int(row[0])
        found = await tx.fetchrow(_BALANCE + self._db.driver.for_update, hold.account_id)
        assert found is not None
        took = min(cost - amount, int(found[0]))
        if took:
            row = await tx.fetchrow(_ADD_BALANCE, hold.account_id, -took, now)
            assert row is not None
            await tx.execute(
                _LEDGER, hold.account_id, "charge", -took, int(row[0]), hold.id, hold.key_id, now
            )
        return amount + took, int(found[0]) - took

    async def sweep_expired(self, limit: int = 100) -> int:
        """Release holds whose process died before settling them. Returns how many were released."""
        async with self._db.read() as connection:
            rows = (
                (
                    await connection.execute(
                        select(holds)
                        .where(holds.c.expires_at < utc_now())
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

    async def renew(self, hold_ids: list[str]) -> None:
        """Push back the expiry of holds whose work is still going (a stream read slowly for hours)."""
        if not hold_ids:
            return
        async with self._db.write() as connection:
            await connection.execute(
                update(holds).where(holds.c.id.in_(hold_ids)).values(expires_at=utc_now() + self._hold_ttl)
            )

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
