"""Usage reports: billed requests grouped by UTC day and model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from shoal.errors import InvalidRequest
from shoal.storage.db.database import Database
from shoal.storage.db.tables import usage_records

MAX_DAYS = 366


def date_range(start_date: date | None, end_date: date | None) -> tuple[date, date]:
    """The range asked for: 30 days up to today (UTC) by default, at most a year."""
    end = end_date or datetime.now(UTC).date()
    start = start_date or end - timedelta(days=29)
    if start > end:
        raise InvalidRequest("start_date must not be after end_date")
    if (end - start).days >= MAX_DAYS:
        raise InvalidRequest(f"ask for at most {MAX_DAYS} days at once")
    return start, end


@dataclass(frozen=True, slots=True)
class UsageRow:
    day: date
    model: str
    kind: str
    unit: str
    requests: int
    units: float
    cost_nanos: int


async def usage_by_day(
    db: Database, *, start: date, end: date, key_id: str | None = None, account_id: str | None = None
) -> list[UsageRow]:
    """Usage from ``start`` to ``end`` inclusive (UTC days), for one key or one account."""
    column = usage_records.c.created_at
    day: Any = (
        func.date(func.timezone("UTC", column))
        if db.engine.dialect.name == "postgresql"
        else func.date(column)
    )
    query = (
        select(
            day.label("day"),
            usage_records.c.model,
            usage_records.c.kind,
            usage_records.c.unit,
            func.count().label("requests"),
            func.sum(usage_records.c.units).label("units"),
            func.sum(usage_records.c.cost_nanos).label("cost"),
        )
        .where(
            column >= datetime.combine(start, time(), UTC),
            column < datetime.combine(end + timedelta(days=1), time(), UTC),
        )
        .group_by(day, usage_records.c.model, usage_records.c.kind, usage_records.c.unit)
        .order_by(day, usage_records.c.model)
    )
    if key_id is not None:
        query = query.where(usage_records.c.key_id == key_id)
    if account_id is not None:
        query = query.where(usage_records.c.account_id == account_id)
    async with db.read() as connection:
        rows = (await connection.execute(query)).all()
    return [
        UsageRow(
            day=row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day)),
            model=row.model,
            kind=row.kind,
            unit=row.unit,
            requests=int(row.requests),
            units=float(row.units or 0),
            cost_nanos=int(row.cost or 0),
        )
        for row in rows
    ]
