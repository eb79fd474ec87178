"""``/v1/webhooks/secret``: the caller's account's callback signing secret, and its rotation.

Any key of an account may read and rotate the account's secret (callbacks carry the
results of that account's tasks). After a rotation both secrets sign callbacks until
``previous_secret_expires_at``, so a receiver can switch over without missing one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse

from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.tasks.secrets import WebhookSecret, account_secret, rotate

router = APIRouter(prefix="/v1/webhooks", tags=["Webhooks"])


def secret_json(secret: WebhookSecret) -> dict[str, Any]:
    expires = secret.previous_expires_at
    return {
        "object": "webhook_secret",
        "secret": secret.secret,
        "created_at": secret.created_at.isoformat(),
        "previous_secret_expires_at": expires.isoformat() if expires is not None else None,
    }


@router.get("/secret", summary="Your account's webhook signing secret")
async def get_secret(principal: PrincipalDep, services: ServicesDep) -> JSONResponse:
    return JSONResponse(secret_json(await account_secret(services.db, principal.account_id)))


@router.post("/secret/rotate", summary="Replace the signing secret (the old one signs on for a grace period)")
async def rotate_secret(principal: PrincipalDep, services: ServicesDep) -> JSONResponse:
    grace = services.settings.tasks.secret_rotation_grace_seconds
    return JSONResponse(secret_json(await rotate(services.db, principal.account_id, grace)))
