"""``GET /v1/usage``: a key's own billed usage by UTC day and model (admins: any account or key)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse

from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.billing.money import credits_str
from shoal.billing.reports import UsageRow, date_range, usage_by_day
from shoal.errors import PermissionDenied

router = APIRouter(tags=["Platform"])


def usage_body(rows: list[UsageRow], start: date, end: date) -> dict[str, Any]:
    return {
        "object": "list",
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "data": [
            {
                "date": row.day.isoformat(),
                "model": row.model,
                "kind": row.kind,
                "unit": row.unit,
                "requests": row.requests,
                "units": row.units,
                "cost": credits_str(row.cost_nanos),
            }
            for row in rows
        ],
        "total_cost": credits_str(sum(row.cost_nanos for row in rows)),
    }


@router.get("/v1/usage", summary="Your usage by day and model")
async def usage(
    principal: PrincipalDep, services: ServicesDep, start_date: date | None = None,
    end_date: date | None = None, account_id: str | None = None, key_id: str | None = None,
) -> JSONResponse:  # fmt: skip
    start, end = date_range(start_date, end_date)
    if principal.tier != "admin":
        if account_id is not None or (key_id is not None and key_id != principal.id):
            raise PermissionDenied("only admin keys may read other keys' usage; omit account_id and key_id")
        key_id = principal.id
    elif account_id is None and key_id is None:
        key_id = principal.id
    rows = await usage_by_day(services.db, start=start, end=end, key_id=key_id, account_id=account_id)
    return JSONResponse(usage_body(rows, start, end))
