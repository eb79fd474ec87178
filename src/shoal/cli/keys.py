"""``shoal keys``: create, list, change and revoke API keys. Works with or without a running server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shoal.auth.keys import TIERS, ApiKey, KeySpec, Tier, list_keys, revoke_key, update_key
from shoal.auth.provisioning import provision_key
from shoal.billing.accounts import find_account
from shoal.billing.money import credits_str, to_nanos
from shoal.cli.options import ConfigFile, DataDir, run_with_db, settings_from
from shoal.storage.db.database import Database

app = typer.Typer(help="Manage API keys.", no_args_is_help=True)

_RELATIVE = re.compile(r"^(\d+)([dhm])$")


def parse_expiry(value: str | None) -> datetime | None:
    """``30d``, ``12h``, ``90m``, an ISO date or an ISO date-time (UTC unless it says otherwise)."""
    if value is None:
        return None
    if match := _RELATIVE.match(value.strip()):
        amount, unit = int(match[1]), match[2]
        return datetime.now(UTC) + timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: amount})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter("use 30d, 12h, 90m, 2027-01-31 or 2027-01-31T12:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_models(value: str | None) -> tuple[str, ...]:
    return tuple(model.strip() for model in (value or "").split(",") if model.strip())


def _tier(value: str) -> Tier:
    if value not in TIERS:
        raise typer.BadParameter(f"choose one of {', '.join(TIERS)}")
    return value  # type: ignore[return-value]


Credits = Annotated[
    Decimal | None, typer.Option("--credits", help="Credits to add to the key's account", min=0)
]
Plan = Annotated[str | None, typer.Option("--plan", help="Plan name (see `shoal plans`)")]
Discount = Annotated[
    float | None, typer.Option("--discount", help="Percent off list price, 0-100", min=0, max=100)
]
MonthlyCap = Annotated[
    Decimal | None, typer.Option("--monthly-cap", help="Most credits the key may spend per month", min=0)
]
Models = Annotated[
    str | None, typer.Option("--models", help="Comma-separated models the key may use (default: all)")
]
Expires = Annotated[str | None, typer.Option("--expires", help="30d, 12h, or an ISO date/time (UTC)")]
PerMinute = Annotated[
    int | None, typer.Option("--rpm", help="Requests per minute (overrides the plan)", min=1)
]
Concurrency = Annotated[
    int | None, typer.Option("--concurrency", help="Requests at once (overrides the plan)", min=1)
]


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="A label for the key, e.g. who uses it")],
    account: Annotated[
        str | None, typer.Option("--account", help="Account id or name (see `shoal accounts`)")
    ] = None,
    credits: Credits = None,
    tier: Annotated[str, typer.Option("--tier", help="standard, wholesale or admin")] = "standard",
    plan: Plan = None,
    discount: Discount = None,
    monthly_cap: MonthlyCap = None,
    models: Models = None,
    expires: Expires = None,
    rpm: PerMinute = None,
    concurrency: Concurrency = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Create a key. The secret is printed once, as the last line.

    With --credits and no --account, the key gets a new prepaid account holding those credits.
    """
    settings = settings_from(config, data_dir)
    spec = KeySpec(
        name=name, tier=_tier(tier), plan=plan, requests_per_minute=rpm, concurrent_requests=concurrency,
        models=parse_models(models), expires_at=parse_expiry(expires),
        discount_bp=round((discount or 0) * 100),
        monthly_cap_nanos=to_nanos(monthly_cap) if monthly_cap is not None else None,
    )  # fmt: skip
    key, secret = run_with_db(
        settings,
        lambda db: provision_key(db, settings.billing, spec, account=account, credits=credits),
    )
    typer.echo(
        f"Created key {key.id} ({key.name}) on account {key.account_id}, tier {key.tier}, plan {key.plan}. "
        "Keep the secret below; it is not shown again."
    )
    typer.echo(secret)


def key_table(keys: list[ApiKey]) -> Table:
    table = Table("id", "name", "prefix", "account", "tier", "plan", "discount", "cap", "last used", "status")
    for key in keys:
        table.add_row(
            key.id,
            key.name,
            key.prefix + "…",
            key.account_id,
            key.tier,
            key.plan,
            f"{key.discount_bp / 100:g}%",
            credits_str(key.monthly_cap_nanos) if key.monthly_cap_nanos is not None else "-",
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
            key.status(),
        )
    return table


@app.command("list")
def list_(
    account: Annotated[str | None, typer.Option("--account", help="Only this account's keys")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """List keys by prefix; secrets are never shown."""
    settings = settings_from(config, data_dir)

    async def work(db: Database) -> list[ApiKey]:
        account_id = None
        if account is not None:
            found = await find_account(db, account)
            if found is None:
                raise ValueError(f"account {account!r} not found")
            account_id = found.id
        return await list_keys(db, account_id=account_id)

    Console(width=200).print(key_table(run_with_db(settings, work)))


@app.command("update")
def update(
    key_id: Annotated[str, typer.Argument(help="The key's id (or a unique prefix of it)")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    tier: Annotated[str | None, typer.Option("--tier", help="standard, wholesale or admin")] = None,
    plan: Plan = None,
    discount: Discount = None,
    monthly_cap: MonthlyCap = None,
    models: Models = None,
    expires: Expires = None,
    rpm: PerMinute = None,
    concurrency: Concurrency = None,
    disable: Annotated[
        bool | None, typer.Option("--disable/--enable", help="Refuse or accept its requests")
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Change a key's settings (only the options given)."""
    settings = settings_from(config, data_dir)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if tier is not None:
        changes["tier"] = _tier(tier)
    if plan is not None:
        if plan not in settings.billing.plans:
            raise typer.BadParameter(
                f"plan {plan!r} is not configured; plans: {', '.join(settings.billing.plans)}"
            )
        changes["plan"] = plan
    if discount is not None:
        changes["discount_bp"] = round(discount * 100)
    if monthly_cap is not None:
        changes["monthly_cap_nanos"] = to_nanos(monthly_cap)
    if models is not None:
        changes["models"] = parse_models(models)
    if expires is not None:
        changes["expires_at"] = parse_expiry(expires)
    if rpm is not None:
        changes["requests_per_minute"] = rpm
    if concurrency is not None:
        changes["concurrent_requests"] = concurrency
    if disable is not None:
        changes["disabled"] = disable
    key = run_with_db(settings, lambda db: update_key(db, key_id, changes))
    if key is None:
        typer.echo(f"error: no single key matches id {key_id!r}; see `shoal keys list`", err=True)
        raise typer.Exit(1)
    Console(width=200).print(key_table([key]))


@app.command("revoke")
def revoke(
    key_id: Annotated[
        str, typer.Argument(help="The key's id (or a unique prefix of it), from `shoal keys list`")
    ],
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Revoke a key; requests with it are refused from then on."""
    settings = settings_from(config, data_dir)
    if not run_with_db(settings, lambda db: revoke_key(db, key_id)):
        typer.echo(f"error: no single active key matches id {key_id!r}; see `shoal keys list`", err=True)
        raise typer.Exit(1)
    typer.echo(f"Revoked key {key_id}.")
