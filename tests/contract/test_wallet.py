"""The wallet contract (billing/wallet.py, accounts.py, metering.py, reports.py) on SQLite and PostgreSQL.

One migrated database per backend for the module; every test works on accounts and keys
of its own (uuid ids), so tests never see each other's money.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from shoal.auth.keys import KeySpec, create_key
from shoal.billing.accounts import create_account, get_account, top_up
from shoal.billing.metering import Metering
from shoal.billing.pricing import PriceList, Quote
from shoal.billing.reports import usage_by_day
from shoal.billing.usage import UsageEvent
from shoal.billing.wallet import Hold, UsageLine, Wallet
from shoal.errors import (
    IdempotencyKeyReused,
    InsufficientCredit,
    InvalidRequest,
    MonthlyCapExceeded,
    NotFound,
)
from shoal.settings import BillingSettings
from shoal.storage.db.database import Database, async_url
from shoal.storage.db.tables import holds, key_spend, ledger, usage_records

pytestmark = pytest.mark.asyncio(loop_scope="session")

M = 1_000_000  # nanocredits; the amounts below are millicredits for readability
HOUR = 3600.0


def new_id() -> str:
    return uuid.uuid4().hex


def wallet(db: Database, hold_ttl_seconds: float = HOUR) -> Wallet:
    return Wallet(db, hold_ttl_seconds=hold_ttl_seconds)


def line(model: str = "contract-model", units: float = 10.0) -> UsageLine:
    quote = Quote("tts", model, "utf8_bytes", units, 0.000015, 0, 0)
    return UsageLine(f"req-{new_id()}", quote, "completed")


async def prepaid(db: Database, nanos: int) -> str:
    account = await create_account(db, name="contract", account_id=new_id())
    if nanos:
        await top_up(db, account.id, nanos)
    return account.id


async def balance(db: Database, account_id: str) -> int:
    account = await get_account(db, account_id)
    assert account is not None
    return account.balance_nanos


async def assert_books_balance(db: Database, account_id: str) -> int:
    """The ledger sums to the balance; returns the balance."""
    current = await balance(db, account_id)
    assert await wallet(db).ledger_total(account_id) == current
    assert current >= 0
    return current


async def ledger_rows(db: Database, account_id: str) -> list[tuple[str, int, int, str]]:
    async with db.read() as connection:
        rows = await connection.execute(
            select(ledger.c.kind, ledger.c.amount_nanos, ledger.c.balance_after_nanos, ledger.c.reference)
            .where(ledger.c.account_id == account_id)
            .order_by(ledger.c.id)
        )
        return [(row.kind, row.amount_nanos, row.balance_after_nanos, row.reference) for row in rows]


async def count(db: Database, table: Table, **where: str) -> int:
    async with db.read() as connection:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        return int((await connection.execute(query)).scalar_one())


async def spent(db: Database, key_id: str) -> int:
    async with db.read() as connection:
        value = (
            await connection.execute(select(key_spend.c.spent_nanos).where(key_spend.c.key_id == key_id))
        ).scalar()
    return int(value or 0)


# --- reserve and settle --------------------------------------------------------------------------


async def test_reserve_lowers_the_balance_and_writes_a_hold(db: Database) -> None:
    account = await prepaid(db, 100 * M)
    key = new_id()
    hold = await wallet(db).reserve(
        account_id=account, key_id=key, amount_nanos=30 * M, monthly_cap_nanos=None
    )
    assert hold.prepaid
    assert hold.amount_nanos == 30 * M
    assert hold.balance_after_nanos == 70 * M
    assert await assert_books_balance(db, account) == 70 * M
    assert (await ledger_rows(db, account))[-1] == ("hold", -30 * M, 70 * M, hold.id)
    assert await count(db, holds, account_id=account) == 1
    assert await spent(db, key) == 30 * M


async def test_settle_below_the_hold_refunds_the_rest(db: Database) -> None:
    account = await prepaid(db, 100 * M)
    purse = wallet(db)
    hold = await purse.reserve(
        account_id=account, key_id=new_id(), amount_nanos=30 * M, monthly_cap_nanos=None
    )
    settled = await purse.settle(hold, 12 * M, None)
    assert settled is not None
    assert settled.cost_nanos == 12 * M
    assert settled.balance_after_nanos == 88 * M
    assert await assert_books_balance(db, account) == 88 * M
    assert (await ledger_rows(db, account))[-1] == ("release", 18 * M, 88 * M, hold.id)
    assert await count(db, holds, account_id=account) == 0
    assert await spent(db, hold.key_id) == 12 * M


async def test_settle_at_exactly_the_hold_writes_no_release(db: Database) -> None:
    account = await prepaid(db, 100 * M)
    purse = wallet(db)
    hold = await purse.reserve(
        account_id=account, key_id=new_id(), amount_nanos=30 * M, monthly_cap_nanos=None
    )
    settled = await purse.settle(hold, 30 * M, None)
    assert settled is not None and settled.cost_nanos == 30 * M
    assert [row[0] for row in await ledger_rows(db, account)] == ["topup", "hold"]
    assert await assert_books_balance(db, account) == 70 * M


async def test_settle_above_the_hold_takes_the_extra_while_the_balance_lasts(db: Database) -> None:
    account = await prepaid(db, 100 * M)
    purse = wallet(db)
    hold = await purse.reserve(
        account_id=account, key_id=new_id(), amount_nanos=30 * M, monthly_cap_nanos=None
    )
    settled = await purse.settle(hold, 45 * M, None)
    assert settled is not None
    assert settled.cost_nanos == 45 * M
    assert settled.balance_after_nanos == 55 * M
    assert (await ledger_rows(db, account))[-1] == ("charge", -15 * M, 55 * M, hold.id)
    assert await assert_books_balance(db, account) == 55 * M
    assert await spent(db, hold.key_id) == 45 * M


async def test_settle_above_the_hold_never_goes_below_zero(db: Database) -> None:
    account = await prepaid(db, 40 * M)
    purse = wallet(db)
    hold = await purse.reserve(
        account_id=account, key_id=new_id(), amount_nanos=30 * M, monthly_cap_nanos=None
    )
    settled = await purse.settle(hold, 500 * M, line())
    assert settled is not None
    assert settled.cost_nanos == 40 * M  # the hold and what was left: no more
    assert settled.balance_after_nanos == 0
    assert (await ledger_rows(db, account))[-1] == ("charge", -10 * M, 0, hold.id)
    assert await assert_books_balance(db, account) == 0
    async with db.read() as connection:
        record = (
            await connection.execute(select(usage_records).where(usage_records.c.account_id == account))
        ).one()
    assert record.cost_nanos == 40 * M
    assert record.balance_after_nanos == 0


async def test_settling_twice_charges_once(db: Database) -> None:
    account = await prepaid(db, 100 * M)
    purse = wallet(db)
    hold = await purse.reserve(
        account_id=account, key_id=new_id(), amount_nanos=30 * M, monthly_cap_nanos=None
    )
    assert await purse.settle(hold, 50 * M, line()) is not None
    assert await purse.settle(hold, 50 * M, line()) is None
    assert await purse.settle(hold, 0, None) is None
    assert await assert_books_balance(db, account) == 50 * M
    assert await count(db, usage_records, account_id=account) == 1
    assert await spent(db, hold.key_id) == 50 * M


async def test_concurrent_settles_of_one_hold_charge_once(db: Database, replicas: list[Database]) -> None:
    account = await prepaid(db, 100 * M)
    hold = await wallet(db).reserve(
        account_id=account, key_id=new_id(), amount_nanos=30 * M, monthly_cap_nanos=None
    )
    results = await asyncio.gather(
        *[wallet(replica).settle(hold, 20 * M, line()) for replica in replicas * 3]
    )
    assert sum(result is not None for result in results) == 1
    assert await assert_books_balance(db, account) == 80 * M
    assert await count(db, usage_records, account_id=account) == 1


async def test_reserve_beyond_the_balance_changes_nothing(db: Database) -> None:
    account = await prepaid(db, 10 * M)
    key = new_id()
    purse = wallet(db)
    await purse.reserve(account_id=account, key_id=key, amount_nanos=4 * M, monthly_cap_nanos=None)
    before = await ledger_rows(db, account)
    with pytest.raises(InsufficientCredit):
        await purse.reserve(account_id=account, key_id=key, amount_nanos=6 * M + 1, monthly_cap_nanos=None)
    assert await ledger_rows(db, account) == before
    assert await assert_books_balance(db, account) == 6 * M
    assert await count(db, holds, account_id=account) == 1
    assert await spent(db, key) == 4 * M
    exact = await purse.reserve(account_id=account, key_id=key, amount_nanos=6 * M, monthly_cap_nanos=None)
    assert exact.balance_after_nanos == 0
    assert await assert_books_balance(db, account) == 0


async def test_reserve_on_a_missing_account_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        await wallet(db).reserve(account_id=new_id(), key_id=new_id(), amount_nanos=M, monthly_cap_nanos=None)


async def test_a_free_request_holds_nothing_but_still_settles(db: Database) -> None:
    account = await prepaid(db, 5 * M)
    purse = wallet(db)
    hold = await purse.reserve(account_id=account, key_id=new_id(), amount_nanos=0, monthly_cap_nanos=None)
    assert [row[0] for row in await ledger_rows(db, account)] == ["topup"]
    settled = await purse.settle(hold, 2 * M, line())
    assert settled is not None and settled.cost_nanos == 2 * M
    assert await assert_books_balance(db, account) == 3 * M


async def test_books_balance_through_a_mixed_sequence(db: Database) -> None:
    account = await prepaid(db, 50 * M)
    purse = wallet(db)
    key = new_id()
    open_holds: list[Hold] = []
    for step in range(12):
        if step % 3 == 2 and open_holds:
            await purse.settle(open_holds.pop(0), (step % 5) * 4 * M, line())
        elif step == 7:
            await top_up(db, account, 9 * M)
        else:
            with contextlib.suppress(InsufficientCredit):
                open_holds.append(
                    await purse.reserve(
                        account_id=account, key_id=key, amount_nanos=7 * M, monthly_cap_nanos=None
                    )
                )
        await assert_books_balance(db, account)
    for hold in open_holds:
        await purse.settle(hold, M, None)
        await assert_books_balance(db, account)
    rows = await ledger_rows(db, account)
    assert rows[-1][2] == await balance(db, account)  # each row's balance_after follows the running total
    running = 0
    for _kind, amount, after, _reference in rows:
        running += amount
        assert after == running


# --- concurrency ---------------------------------------------------------------------------------


async def test_concurrent_reserves_never_overdraw(db: Database, replicas: list[Database]) -> None:
    account = await prepaid(db, 50 * 3 * M)
    key = new_id()
    purses = [wallet(replica) for replica in replicas]

    async def attempt(number: int) -> bool:
        try:
            await purses[number % len(purses)].reserve(
                account_id=account, key_id=key, amount_nanos=3 * M, monthly_cap_nanos=None
            )
        except InsufficientCredit:
            return False
        return True

    results = await asyncio.gather(*[attempt(number) for number in range(200)])
    assert sum(results) == 50
    assert await assert_books_balance(db, account) == 0
    assert await count(db, holds, account_id=account) == 50
    assert [row[0] for row in await ledger_rows(db, account)].count("hold") == 50
    assert await spent(db, key) == 50 * 3 * M


# --- monthly caps --------------------------------------------------------------------------------


async def test_monthly_cap_refuses_beyond_it_and_refunds_make_room(db: Database) -> None:
    account = await prepaid(db, 1000 * M)
    key, cap = new_id(), 10 * M
    purse = wallet(db)
    first = await purse.reserve(account_id=account, key_id=key, amount_nanos=4 * M, monthly_cap_nanos=cap)
    await purse.reserve(account_id=account, key_id=key, amount_nanos=4 * M, monthly_cap_nanos=cap)
    with pytest.raises(MonthlyCapExceeded):
        await purse.reserve(account_id=account, key_id=key, amount_nanos=3 * M, monthly_cap_nanos=cap)
    assert await assert_books_balance(db, account) == 992 * M  # the refused reserve took nothing
    assert await spent(db, key) == 8 * M
    await purse.settle(first, M, line())  # 3 M refunded to the cap as well
    assert await spent(db, key) == 5 * M
    await purse.reserve(account_id=account, key_id=key, amount_nanos=5 * M, monthly_cap_nanos=cap)
    with pytest.raises(MonthlyCapExceeded):
        await purse.reserve(account_id=account, key_id=key, amount_nanos=1, monthly_cap_nanos=cap)
    assert await assert_books_balance(db, account) == 990 * M


async def test_a_single_request_above_the_cap_is_refused(db: Database) -> None:
    account = await prepaid(db, 100 * M)
    key = new_id()
    with pytest.raises(MonthlyCapExceeded):
        await wallet(db).reserve(
            account_id=account, key_id=key, amount_nanos=11 * M, monthly_cap_nanos=10 * M
        )
    assert await spent(db, key) == 0
    assert await assert_books_balance(db, account) == 100 * M


async def test_monthly_cap_holds_under_concurrency(db: Database, replicas: list[Database]) -> None:
    account = await prepaid(db, 1000 * M)
    key = new_id()

    async def attempt(number: int) -> bool:
        try:
            await wallet(replicas[number % len(replicas)]).reserve(
                account_id=account, key_id=key, amount_nanos=2 * M, monthly_cap_nanos=20 * M
            )
        except MonthlyCapExceeded:
            return False
        return True

    results = await asyncio.gather(*[attempt(number) for number in range(30)])
    assert sum(results) == 10
    assert await spent(db, key) == 20 * M
    assert await assert_books_balance(db, account) == 980 * M


# --- unmetered accounts --------------------------------------------------------------------------


async def test_unmetered_accounts_never_run_out_and_still_record_usage(db: Database) -> None:
    account = (await create_account(db, name="operator", prepaid=False, account_id=new_id())).id
    purse = wallet(db)
    key = new_id()
    hold = await purse.reserve(account_id=account, key_id=key, amount_nanos=10**15, monthly_cap_nanos=None)
    assert not hold.prepaid
    assert hold.balance_after_nanos is None
    assert await balance(db, account) == 0
    settled = await purse.settle(hold, 7 * M, line("unmetered-model"))
    assert settled is not None
    assert settled.cost_nanos == 7 * M
    assert settled.balance_after_nanos is None
    assert await assert_books_balance(db, account) == 0
    assert await ledger_rows(db, account) == []
    async with db.read() as connection:
        record = (
            await connection.execute(select(usage_records).where(usage_records.c.account_id == account))
        ).one()
    assert (record.model, record.cost_nanos, record.balance_after_nanos, record.outcome) == (
        "unmetered-model", 7 * M, None, "completed",
    )  # fmt: skip
    assert await spent(db, key) == 7 * M
    with pytest.raises(MonthlyCapExceeded):  # caps apply to unmetered accounts' keys too
        await purse.reserve(account_id=account, key_id=key, amount_nanos=4 * M, monthly_cap_nanos=10 * M)


# --- expired holds -------------------------------------------------------------------------------


async def expired_holds(db: Database, account: str, amounts: list[int]) -> list[Hold]:
    short = wallet(db, hold_ttl_seconds=0.001)
    made = [
        await short.reserve(account_id=account, key_id=new_id(), amount_nanos=amount, monthly_cap_nanos=None)
        for amount in amounts
    ]
    await asyncio.sleep(0.05)
    return made


async def test_sweep_releases_expired_holds(db: Database) -> None:
    account = await prepaid(db, 100 * M)
    live = await wallet(db).reserve(
        account_id=account, key_id=new_id(), amount_nanos=10 * M, monthly_cap_nanos=None
    )
    stale = await expired_holds(db, account, [20 * M, 30 * M])
    assert await assert_books_balance(db, account) == 40 * M
    assert await wallet(db).sweep_expired() == 2
    assert await assert_books_balance(db, account) == 90 * M
    releases = [row for row in await ledger_rows(db, account) if row[0] == "release"]
    assert sorted(row[1] for row in releases) == [20 * M, 30 * M]
    assert {row[3] for row in releases} == {hold.id for hold in stale}
    assert await wallet(db).sweep_expired() == 0
    assert await count(db, holds, account_id=account) == 1
    assert await count(db, usage_records, account_id=account) == 0
    for hold in stale:  # the process comes back and settles late: nothing more is charged
        assert await wallet(db).settle(hold, 5 * M, line()) is None
    assert await wallet(db).settle(live, 10 * M, None) is not None
    assert await assert_books_balance(db, account) == 90 * M
    assert await spent(db, stale[0].key_id) == 0


async def test_renewed_holds_outlive_their_ttl_and_open_charges_are_renewed(db: Database) -> None:
    """A stream read slowly for longer than the hold TTL stays billed: its process renews the hold."""
    account = await prepaid(db, 100 * M)
    short = wallet(db, hold_ttl_seconds=0.3)
    metering = Metering(short, BillingSettings())
    key, _ = await create_key(db, KeySpec(name="slow-reader", account_id=account))
    charge = await metering.open(key, "tts", "s2-pro", units=1000, request_id="slow")
    assert set(metering.in_progress) == {charge.hold.id}
    for _ in range(4):  # 0.6 s in all, twice the TTL, renewed every 0.15 s
        await asyncio.sleep(0.15)
        await short.renew(list(metering.in_progress))
    await short.sweep_expired()
    assert await count(db, holds, account_id=account) == 1  # still held, not swept
    charge.record(UsageEvent("tts", "s2-pro", 1000, "utf8_bytes", "completed"))
    settled = await charge.settle()
    assert settled.cost_nanos == 15 * M and metering.in_progress == {}
    assert await assert_books_balance(db, account) == 85 * M


async def test_concurrent_settle_and_sweep_release_each_hold_once(
    db: Database, replicas: list[Database]
) -> None:
    account = await prepaid(db, 100 * M)
    stale = await expired_holds(db, account, [5 * M] * 8)
    settles = [wallet(replicas[n % 2]).settle(hold, 2 * M, None) for n, hold in enumerate(stale)]
    sweeps = [wallet(replicas[2]).sweep_expired(), wallet(replicas[3]).sweep_expired()]
    results = await asyncio.gather(*settles, *sweeps)
    settled = [result for result in results[: len(stale)] if result is not None]
    swept = sum(results[len(stale) :])  # type: ignore[arg-type]
    assert len(settled) + swept == len(stale)
    rows = await ledger_rows(db, account)
    for hold in stale:
        assert [row[0] for row in rows if row[3] == hold.id] == ["hold", "release"]
    assert await assert_books_balance(db, account) == 100 * M - 2 * M * len(settled)
    assert await count(db, holds, account_id=account) == 0


# --- top-ups -------------------------------------------------------------------------------------


async def test_top_up_with_an_idempotency_key_adds_once(db: Database) -> None:
    account = await prepaid(db, 0)
    first = await top_up(db, account, 25 * M, idempotency_key="order-1")
    assert not first.replayed
    again = await top_up(db, account, 25 * M, idempotency_key="order-1")
    assert again.replayed
    assert (again.id, again.amount_nanos, again.balance_after_nanos) == (first.id, 25 * M, 25 * M)
    assert await assert_books_balance(db, account) == 25 * M
    with pytest.raises(IdempotencyKeyReused):
        await top_up(db, account, 26 * M, idempotency_key="order-1")
    other = await top_up(db, account, 25 * M, idempotency_key="order-2")
    assert not other.replayed and other.id != first.id
    assert await assert_books_balance(db, account) == 50 * M
    assert (await get_account(db, account)).topped_up_nanos == 50 * M  # type: ignore[union-attr]


async def test_idempotency_keys_belong_to_one_account(db: Database) -> None:
    first, second = await prepaid(db, 0), await prepaid(db, 0)
    assert not (await top_up(db, first, 5 * M, idempotency_key="shared")).replayed
    assert not (await top_up(db, second, 5 * M, idempotency_key="shared")).replayed
    assert await assert_books_balance(db, first) == 5 * M
    assert await assert_books_balance(db, second) == 5 * M


async def test_concurrent_identical_top_ups_add_once(db: Database, replicas: list[Database]) -> None:
    account = await prepaid(db, 0)
    results = await asyncio.gather(
        *[
            top_up(replicas[n % len(replicas)], account, 40 * M, idempotency_key="retry-storm")
            for n in range(16)
        ]
    )
    assert len({result.id for result in results}) == 1
    assert sum(not result.replayed for result in results) == 1
    assert await assert_books_balance(db, account) == 40 * M
    assert [row[0] for row in await ledger_rows(db, account)] == ["topup"]


async def test_a_top_up_of_an_unmetered_account_is_refused_and_changes_nothing(db: Database) -> None:
    account = (await create_account(db, name="operator-own", prepaid=False, account_id=new_id())).id
    with pytest.raises(InvalidRequest, match="unmetered"):
        await top_up(db, account, 3 * M)
    found = await get_account(db, account)
    assert found is not None and not found.prepaid and found.balance_nanos == 0
    assert await ledger_rows(db, account) == []


# --- metering end to end, and usage reports ------------------------------------------------------


async def test_metering_open_record_settle_and_report(db: Database) -> None:
    account = await prepaid(db, 1000 * M)
    key, _ = await create_key(db, KeySpec(name="contract-meter", account_id=account, discount_bp=2000))
    metering = Metering(wallet(db), BillingSettings())
    charge = await metering.open(key, "tts", "contract-voice", units=1000, request_id="req-meter")
    # 1000 bytes at 15 credits per million, 20 % off: 0.012 credits held
    assert charge.quote.cost_nanos == 12 * M
    assert charge.reserved.balance_nanos == 988 * M
    charge.record(
        UsageEvent(kind="tts", model="contract-voice", quantity=400, unit="utf8_bytes", outcome="cancelled")
    )
    settled = await charge.settle()
    assert (
        settled.cost_nanos
        == PriceList(BillingSettings()).quote("tts", "contract-voice", 400, 2000).cost_nanos
    )
    assert settled.cost_nanos == 4_800_000
    assert settled.balance_nanos == 1000 * M - 4_800_000
    assert (await charge.settle()) == settled  # settling again answers the same and charges nothing
    assert await assert_books_balance(db, account) == 1000 * M - 4_800_000
    today = datetime.now(UTC).date()
    rows = await usage_by_day(db, start=today - timedelta(days=1), end=today, key_id=key.id)
    assert [(row.model, row.kind, row.unit, row.requests, row.units, row.cost_nanos) for row in rows] == [
        ("contract-voice", "tts", "utf8_bytes", 1, 400.0, 4_800_000)
    ]
    async with db.read() as connection:
        record = (
            await connection.execute(select(usage_records).where(usage_records.c.key_id == key.id))
        ).one()
    assert (record.request_id, record.outcome, record.discount_bp) == ("req-meter", "cancelled", 2000)


async def test_metering_a_failed_request_charges_nothing(db: Database) -> None:
    account = await prepaid(db, 1000 * M)
    key, _ = await create_key(db, KeySpec(name="contract-fail", account_id=account))
    charge = await Metering(wallet(db), BillingSettings()).open(
        key, "stt", "contract-asr", units=3600, request_id="r"
    )
    assert charge.reserved.balance_nanos == 1000 * M - 360 * M  # an hour at 0.36 credits
    settled = await charge.settle()  # nothing recorded: the work never ran
    assert settled.cost_nanos == 0
    assert await assert_books_balance(db, account) == 1000 * M


async def far_from_utc(db: Database, database_url: str) -> Database:
    """On PostgreSQL, a second engine whose sessions run at UTC+14: days must still be UTC days."""
    if db.is_sqlite:
        return db
    settings = {"server_settings": {"timezone": "Pacific/Kiritimati"}}
    return Database(create_async_engine(async_url(database_url), connect_args=settings), db.driver)


async def test_usage_by_day_groups_by_utc_day_and_model(db: Database, database_url: str) -> None:
    account, key, other_key = new_id(), new_id(), new_id()
    day = date(2031, 3, 14)

    def at(days: int, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) + timedelta(days=days)

    records = [
        (at(0, 0, 0), key, "alpha", 100, 1 * M),  # first instant of the day
        (at(0, 12), key, "alpha", 50, 2 * M),
        (at(0, 23, 59), key, "beta", 10, 4 * M),  # last minute of the day
        (at(1, 0, 1), key, "alpha", 7, 8 * M),  # first minute of the next
        (at(1, 9), other_key, "alpha", 1000, 16 * M),
        (at(2, 0, 0), key, "alpha", 1, 32 * M),  # outside the range
        (at(-1, 23, 59), key, "alpha", 1, 64 * M),  # outside the range
    ]
    async with db.write() as connection:
        for created, key_id, model, units, cost in records:
            await connection.execute(
                insert(usage_records).values(
                    created_at=created, request_id=new_id(), account_id=account, key_id=key_id, model=model,
                    kind="tts", unit="utf8_bytes", units=units, unit_price=0.000015, discount_bp=0,
                    cost_nanos=cost, balance_after_nanos=None, outcome="completed",
                )
            )  # fmt: skip
    end = day + timedelta(days=1)
    far = await far_from_utc(db, database_url)
    try:
        for reader in (db, far):
            by_key = await usage_by_day(reader, start=day, end=end, key_id=key)
            assert [(row.day, row.model, row.requests, row.units, row.cost_nanos) for row in by_key] == [
                (day, "alpha", 2, 150.0, 3 * M),
                (day, "beta", 1, 10.0, 4 * M),
                (end, "alpha", 1, 7.0, 8 * M),
            ]
            by_account = await usage_by_day(reader, start=day, end=end, account_id=account)
            assert [(row.day, row.model, row.requests, row.cost_nanos) for row in by_account] == [
                (day, "alpha", 2, 3 * M),
                (day, "beta", 1, 4 * M),
                (end, "alpha", 2, 24 * M),
            ]
            assert await usage_by_day(reader, start=day, end=end, key_id=new_id()) == []
    finally:
        if far is not db:
            await far.engine.dispose()  # the driver is the module's own
