"""Time as Shoal stores and writes it: UTC everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utc_now() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every time Shoal stores is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def iso_z(moment: datetime, timespec: str = "auto") -> str:
    """ISO 8601 in UTC with a ``Z``, as Fish and the tasks API write times (naive means UTC)."""
    return as_utc(moment).astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def read_stored(value: datetime | str) -> datetime:
    """A timestamp as a raw driver reads it back: aware from PostgreSQL, naive UTC text from SQLite."""
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)
