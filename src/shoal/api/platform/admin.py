"""The admin API (admin-tier keys): accounts, credits, keys, plans and anyone's usage.

Money in and out is a decimal string of credits (exact); ``Idempotency-Key`` on a
top-up makes a retry return the first top-up instead of adding credit twice.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.responses import JSONResponse

from shoal.api.deps import AdminDep, ServicesDep
from shoal.api.platform.usage import usage_body
from shoal.auth.keys import ApiKey, KeySpec, Tier, find_key, list_keys, revoke_key, update_key
from shoal.auth.provisioning import provision_key
from shoal.billing.accounts import Account, create_account_once, find_account, list_accounts, top_up
from shoal.billing.money import credits_str, to_nanos
from shoal.billing.reports import date_range, usage_by_day
from shoal.errors import InvalidRequest, NotFound
from shoal.storage.db.tables import ledger

router = APIRouter(prefix="/v1/admin", tags=["Admin"])

Credits = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=9)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewAccount(_Body):
    name: str = Field(min_length=1, max_length=200)
    prepaid: bool = True
    credits: Credits | None = None


class NewCredits(_Body):
    credits: Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=9)]
    note: str = Field("", max_length=500)


class KeyChanges(_Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    tier: Tier | None = None
    plan: str | None = None
    requests_per_minute: int | None = Field(None, ge=1)
    concurrent_requests: int | None = Field(None, ge=1)
    models: list[str] | None = None
    expires_at: datetime | None = None
    disabled: bool | None = None
    discount_percent: float | None = Field(None, ge=0, le=100)
    monthly_cap: Credits | None = None


class NewKey(KeyChanges):
    name: str = Field(min_length=1, max_length=200)
    account_id: str | None = None
    """An account id or name; unset with credits makes a new account, unset without joins the default."""
    credits: Credits | None = None


def account_json(account: Account) -> dict[str, Any]:
    return {
        "object": "account",
        "id": account.id,
        "name": account.name,
        "prepaid": account.prepaid,
        "balance": credits_str(account.balance_nanos),
        "topped_up": credits_str(account.topped_up_nanos),
        "created_at": account.created_at.isoformat(),
        "updated_at": account.updated_at.isoformat(),
    }


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "object": "api_key",
        "id": key.id,
        "account_id": key.account_id,
        "name": key.name,
        "prefix": key.prefix,
        "status": key.status(),
        "tier": key.tier,
        "plan": key.plan,
        "requests_per_minute": key.requests_per_minute,
        "concurrent_requests": key.concurrent_requests,
        "models": list(key.models),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "discount_percent": key.discount_bp / 100,
        "monthly_cap": credits_str(key.monthly_cap_nanos) if key.monthly_cap_nanos is not None else None,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def _changes(body: KeyChanges) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, include=set(KeyChanges.model_fields))
    if "discount_percent" in changes:
        changes["discount_bp"] = round((changes.pop("discount_percent") or 0) * 100)
    if "monthly_cap" in changes:
        cap = changes.pop("monthly_cap")
        changes["monthly_cap_nanos"] = to_nanos(cap) if cap is not None else None
    if "models" in changes:
        changes["models"] = tuple(changes["models"] or ())
    for name in ("name", "tier", "plan", "disabled"):
        if name in changes and changes[name] is None:
            raise InvalidRequest(f"{name} cannot be null")
    return changes


async def _account_or_404(services: ServicesDep, ref: str) -> Account:
    account = await find_account(services.db, ref)
    if account is None:
        raise NotFound(f"account {ref!r} not found")
    return account


async def _key_or_404(services: ServicesDep, key_id: str) -> ApiKey:
    key = await find_key(services.db, key_id)
    if key is None:
        raise NotFound(f"key {key_id!r} not found")
    return key


@router.get("/accounts")
async def accounts_list(_: AdminDep, services: ServicesDep) -> JSONResponse:
    accounts = await list_accounts(services.db)
    return JSONResponse({"object": "list", "data": [account_json(account) for account in accounts]})


@router.post("/accounts", status_code=201)
async def accounts_create(
    body: NewAccount, _: AdminDep, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    account, created = await create_account_once(
        services.db, name=body.name, prepaid=body.prepaid, idempotency_key=idempotency_key
    )
    if body.credits:
        await top_up(services.db, account.id, to_nanos(body.credits), idempotency_key=idempotency_key)
    body_json = account_json(await _account_or_404(services, account.id))
    return JSONResponse(body_json, status_code=201 if created else 200)


@router.get("/accounts/{account_id}")
async def accounts_get(account_id: str, _: AdminDep, services: ServicesDep) -> JSONResponse:
    account = await _account_or_404(services, account_id)
    body = account_json(account)
    body["ledger_total"] = credits_str(await services.metering.wallet.ledger_total(account.id))
    return JSONResponse(body)


@router.post("/accounts/{account_id}/credits")
async def accounts_top_up(
    account_id: str,
    body: NewCredits,
    _: AdminDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    account = await _account_or_404(services, account_id)
    topup = await top_up(
        services.db, account.id, to_nanos(body.credits), idempotency_key=idempotency_key, note=body.note
    )
    return JSONResponse(
        {
            "object": "top_up",
            "id": topup.id,
            "account_id": topup.account_id,
            "credits": credits_str(topup.amount_nanos),
            "balance": credits_str(topup.balance_after_nanos),
            "created_at": topup.created_at.isoformat(),
            "replayed": topup.replayed,
        },
        status_code=200 if topup.replayed else 201,
    )


@router.get("/accounts/{account_id}/ledger")
async def accounts_ledger(
    account_id: str, _: AdminDep, services: ServicesDep, limit: Annotated[int, Field(ge=1, le=1000)] = 100
) -> JSONResponse:
    account = await _account_or_404(services, account_id)
    async with services.db.read() as connection:
        rows = (
            (
                await connection.execute(
                    select(ledger)
                    .where(ledger.c.account_id == account.id)
                    .order_by(ledger.c.id.desc())
                    .limit(limit)
                )
            )
            .mappings()
            .all()
        )
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {
                    "id": row["id"],
                    "kind": row["kind"],
                    "amount": credits_str(row["amount_nanos"]),
                    "balance_after": credits_str(row["balance_after_nanos"]),
                    "reference": row["reference"],
                    "key_id": row["key_id"],
                    "created_at": str(row["created_at"]),
                }
                for row in rows
            ],
        }
    )


@router.get("/keys")
async def keys_list(_: AdminDep, services: ServicesDep, account_id: str | None = None) -> JSONResponse:
    if account_id is not None:
        account_id = (await _account_or_404(services, account_id)).id
    keys = await list_keys(services.db, account_id=account_id)
    return JSONResponse({"object": "list", "data": [key_json(key) for key in keys]})


@router.post("/keys", status_code=201)
async def keys_create(
    body: NewKey, _: AdminDep, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    changes = _changes(body)
    changes.pop("disabled", None)
    spec = KeySpec(**changes)
    key, secret = await provision_key(
        services.db, services.settings.billing, spec, account=body.account_id, credits=body.credits,
        idempotency_key=idempotency_key,
    )  # fmt: skip
    return JSONResponse({**key_json(key), "secret": secret}, status_code=201)


@router.get("/keys/{key_id}")
async def keys_get(key_id: str, _: AdminDep, services: ServicesDep) -> JSONResponse:
    return JSONResponse(key_json(await _key_or_404(services, key_id)))


@router.patch("/keys/{key_id}")
async def keys_update(key_id: str, body: KeyChanges, _: AdminDep, services: ServicesDep) -> JSONResponse:
    changes = _changes(body)
    if "plan" in changes and changes["plan"] not in services.settings.billing.plans:
        raise InvalidRequest(f"plan {changes['plan']!r} is not configured")
    try:
        key = await update_key(services.db, key_id, changes)
    except ValueError as error:
        raise InvalidRequest(str(error)) from None
    if key is None:
        raise NotFound(f"key {key_id!r} not found")
    services.key_cache.forget(key.id)
    return JSONResponse(key_json(key))


@router.delete("/keys/{key_id}")
async def keys_revoke(key_id: str, _: AdminDep, services: ServicesDep) -> JSONResponse:
    key = await _key_or_404(services, key_id)
    await revoke_key(services.db, key.id)
    services.key_cache.forget(key.id)
    return JSONResponse(key_json(await _key_or_404(services, key.id)))


@router.get("/plans")
async def plans(_: AdminDep, services: ServicesDep) -> JSONResponse:
    billing = services.settings.billing
    data: list[dict[str, Any]] = [
        {"object": "plan", "id": name, **plan.model_dump(), "default": name == billing.default_plan}
        for name, plan in billing.plans.items()
    ]
    return JSONResponse({"object": "list", "data": data})


@router.get("/usage")
async def usage(
    _: AdminDep, services: ServicesDep, account_id: str | None = None, key_id: str | None = None,
    start_date: date | None = None, end_date: date | None = None,
) -> JSONResponse:  # fmt: skip
    start, end = date_range(start_date, end_date)
    if account_id is not None:
        account_id = (await _account_or_404(services, account_id)).id
    rows = await usage_by_day(services.db, start=start, end=end, key_id=key_id, account_id=account_id)
    return JSONResponse(usage_body(rows, start, end))


@router.get("/upstreams")
async def upstream_health(admin: AdminDep, services: ServicesDep) -> JSONResponse:
    """Every upstream deployment with its circuit breaker, as this replica sees it."""
    return JSONResponse({"object": "list", "data": services.router.health()})
