"""Fish Audio's wallet: ``GET /wallet/{user_id}/api-credit`` and ``GET /wallet/{user_id}/package``.

``user_id`` is an account id; ``self`` is the caller's account. Only admin keys may
read another account's wallet; for anyone else it does not exist (404).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse

from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.billing.accounts import Account, get_account
from shoal.billing.money import NANOS_PER_CREDIT, credits_str
from shoal.errors import NotFound
from shoal.services import Services
from shoal.timestamps import iso_z

router = APIRouter(tags=["Fish Audio"])


async def _account(user_id: str, principal: PrincipalDep, services: Services) -> Account:
    account_id = principal.account_id if user_id == "self" else user_id
    account = None
    if account_id == principal.account_id or principal.tier == "admin":
        account = await get_account(services.db, account_id)
    if account is None:
        raise NotFound(f"user {user_id!r} not found; use 'self' for your own wallet")
    return account


def _iso(account: Account, which: str) -> str:
    return iso_z(account.created_at if which == "created" else account.updated_at)


@router.get("/wallet/{user_id}/api-credit", summary="API credit balance")
async def api_credit(
    user_id: str, principal: PrincipalDep, services: ServicesDep, check_free_credit: bool = False,
    team_id: str | None = None,
) -> JSONResponse:  # fmt: skip
    account = await _account(user_id, principal, services)
    body: dict[str, Any] = {
        "_id": account.id,
        "user_id": account.id,
        "credit": credits_str(account.balance_nanos),
        "cumulative_top_up": credits_str(account.topped_up_nanos),
        "created_at": _iso(account, "created"),
        "updated_at": _iso(account, "updated"),
        "has_phone_sha256": False,
        "has_free_credit": False if check_free_credit else None,
    }
    return JSONResponse(body)


@router.get("/wallet/{user_id}/package", summary="Prepaid package")
async def package(user_id: str, principal: PrincipalDep, services: ServicesDep) -> JSONResponse:
    """The account's prepaid credit as a package: total topped up and balance left, in whole credits."""
    account = await _account(user_id, principal, services)
    body = {
        "_id": account.id,
        "user_id": account.id,
        "type": principal.plan
        if account.id == principal.account_id
        else ("prepaid" if account.prepaid else "unmetered"),
        "total": account.topped_up_nanos // NANOS_PER_CREDIT,
        "balance": account.balance_nanos // NANOS_PER_CREDIT,
        "created_at": _iso(account, "created"),
        "updated_at": _iso(account, "updated"),
        # The legacy SDK requires a string; an empty one means "still active".
        "finished_at": _iso(account, "updated") if account.prepaid and account.balance_nanos == 0 else "",
    }
    return JSONResponse(body)
