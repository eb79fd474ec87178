"""``shoal accounts``, ``shoal plans`` and ``shoal usage``: the platform from the command line."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shoal.billing.accounts import Account, TopUp, create_account, find_account, list_accounts, top_up
from shoal.billing.money import credits_str, to_nanos
from shoal.billing.reports import UsageRow, date_range, usage_by_day
from shoal.cli.options import ConfigFile, DataDir, run_with_db, settings_from
from shoal.storage.db.database import Database

app = typer.Typer(help="Manage accounts and their credits.", no_args_is_help=True)

AccountRef = Annotated[str, typer.Argument(help="Account id or name")]


def _table(accounts: list[Account]) -> Table:
    table = Table("id", "name", "billing", "balance", "topped up", "created")
    for account in accounts:
        table.add_row(
            account.id, account.name, "prepaid" if account.prepaid else "unmetered",
            credits_str(account.balance_nanos), credits_str(account.topped_up_nanos),
            f"{account.created_at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    return table


async def _find(db: Database, ref: str) -> Account:
    account = await find_account(db, ref)
    if account is None:
        raise ValueError(f"account {ref!r} not found; see `shoal accounts list`")
    return account


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name for the account, e.g. the customer's")],
    credits: Annotated[Decimal | None, typer.Option("--credits", help="Credits to start with", min=0)] = None,
    unmetered: Annotated[bool, typer.Option("--unmetered", help="Record usage but keep no balance")] = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Create an account (prepaid unless --unmetered); prints its id last."""
    settings = settings_from(config, data_dir)

    async def work(db: Database) -> Account:
        account = await create_account(db, name=name, prepaid=not unmetered)
        if credits:
            await top_up(db, account.id, to_nanos(credits), note="opening balance")
        return await _find(db, account.id)

    account = run_with_db(settings, work)
    typer.echo(f"Created account {account.name} with {credits_str(account.balance_nanos)} credits.")
    typer.echo(account.id)


@app.command("list")
def list_(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """List accounts and balances."""
    settings = settings_from(config, data_dir)
    Console(width=200).print(_table(run_with_db(settings, list_accounts)))


@app.command("topup")
def topup(
    account: AccountRef,
    credits: Annotated[Decimal, typer.Argument(help="Credits to add", min=0)],
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Retry-safe: the same key never adds twice")
    ] = None,
    note: Annotated[str, typer.Option("--note")] = "",
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Add credits to an account."""
    settings = settings_from(config, data_dir)

    async def work(db: Database) -> TopUp:
        found = await _find(db, account)
        key = idempotency_key or uuid.uuid4().hex
        return await top_up(db, found.id, to_nanos(credits), idempotency_key=key, note=note)

    result = run_with_db(settings, work)
    verb = "Already added" if result.replayed else "Added"
    balance = credits_str(result.balance_after_nanos)
    typer.echo(f"{verb} {credits_str(result.amount_nanos)} credits; balance {balance}.")


def plans(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """List the configured plans and their limits."""
    billing = settings_from(config, data_dir).billing
    table = Table("plan", "requests/min", "concurrent", "default")
    for name, plan in billing.plans.items():
        table.add_row(
            name,
            str(plan.requests_per_minute or "unlimited"),
            str(plan.concurrent_requests or "unlimited"),
            "yes" if name == billing.default_plan else "",
        )
    Console(width=120).print(table)


def usage(
    account: Annotated[str | None, typer.Option("--account", help="Account id or name")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Key id")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: 30 days ago)")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today, UTC)")
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Billed usage by day and model (all accounts unless --account or --key)."""
    settings = settings_from(config, data_dir)
    try:
        first, last = date_range(
            date.fromisoformat(start) if start else None, date.fromisoformat(end) if end else None
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None

    async def work(db: Database) -> list[UsageRow]:
        account_id = (await _find(db, account)).id if account else None
        return await usage_by_day(db, start=first, end=last, key_id=key, account_id=account_id)

    rows = run_with_db(settings, work)
    table = Table("date", "model", "kind", "requests", "units", "unit", "cost (credits)")
    for row in rows:
        table.add_row(
            row.day.isoformat(), row.model, row.kind, str(row.requests), f"{row.units:g}", row.unit,
            credits_str(row.cost_nanos),
        )  # fmt: skip
    table.add_row(
        "total",
        "",
        "",
        str(sum(r.requests for r in rows)),
        "",
        "",
        credits_str(sum(r.cost_nanos for r in rows)),
    )
    Console(width=160).print(table)
