"""Creating keys the way operators ask for them: one call for the account, its credit and the key."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from shoal.auth.keys import ApiKey, KeySpec, create_key
from shoal.billing.accounts import create_account, find_account, top_up
from shoal.billing.money import to_nanos
from shoal.errors import InvalidRequest, NotFound
from shoal.settings import BillingSettings
from shoal.storage.db.database import Database


async def provision_key(
    db: Database,
    billing: BillingSettings,
    spec: KeySpec,
    *,
    account: str | None = None,
    credits: Decimal | None = None,
    idempotency_key: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key on ``account`` (id or name).

    Without an account, a key with ``credits`` gets a new prepaid account of its own
    (named after the key); a key without credits joins the default account.
    """
    if spec.plan is not None and spec.plan not in billing.plans:
        raise InvalidRequest(f"plan {spec.plan!r} is not configured; plans: {', '.join(billing.plans)}")
    if credits is not None and credits < 0:
        raise InvalidRequest("credits must not be negative")
    if account is not None:
        found = await find_account(db, account)
        if found is None:
            raise NotFound(f"account {account!r} does not exist; create it first")
        account_id = found.id
    elif credits is not None:
        account_id = (await create_account(db, name=spec.name, prepaid=True)).id
    else:
        account_id = spec.account_id
    if credits:
        await top_up(
            db, account_id, to_nanos(credits), idempotency_key=idempotency_key, note=f"key {spec.name}"
        )
    return await create_key(
        db, dataclasses.replace(spec, account_id=account_id), default_plan=billing.default_plan
    )
