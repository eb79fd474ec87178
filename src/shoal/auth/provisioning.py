"""Creating keys the way operators ask for them: one call for the account, its credit and the key."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from shoal.auth.keys import ApiKey, KeySpec, create_key
from shoal.billing.accounts import (
    DEFAULT_ACCOUNT,
    create_account_once,
    ensure_account,
    find_account,
    idempotent_id,
    top_up,
)
from shoal.billing.money import to_nanos
from shoal.errors import Conflict, InvalidRequest, NotFound
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
        if account == DEFAULT_ACCOUNT:
            await ensure_account(db, DEFAULT_ACCOUNT)  # exists from the first key on; may not yet
        found = await find_account(db, account)
        if found is None:
            raise NotFound(f"account {account!r} does not exist; create it first")
        account_id = found.id
    elif credits is not None:
        own, _ = await create_account_once(db, name=spec.name, prepaid=True, idempotency_key=idempotency_key)
        account_id = own.id
    else:
        account_id = spec.account_id
    if credits:
        await top_up(
            db, account_id, to_nanos(credits), idempotency_key=idempotency_key, note=f"key {spec.name}"
        )
    spec = dataclasses.replace(spec, account_id=account_id)
    key_id = idempotent_id("key", idempotency_key) if idempotency_key is not None else None
    try:
        return await create_key(db, spec, default_plan=billing.default_plan, key_id=key_id)
    except IntegrityError:
        if key_id is None:
            raise
        raise Conflict(
            f"this Idempotency-Key already created key {key_id}; its secret was shown only once. "
            "If it was lost, revoke that key and create a new one with a new Idempotency-Key"
        ) from None
