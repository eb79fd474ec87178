from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from shoal.timestamps import as_utc, iso_z, read_stored


def test_naive_times_are_utc_and_written_with_a_z() -> None:
    naive = datetime(2026, 12, 1, 12, 34, 56, 789000)
    assert as_utc(naive) == naive.replace(tzinfo=UTC)
    assert as_utc(None) is None
    assert iso_z(naive) == "2026-12-01T12:34:56.789000Z"
    assert iso_z(naive, "milliseconds") == "2026-12-01T12:34:56.789Z"


def test_other_zones_are_converted_not_relabelled() -> None:
    plus_two = datetime(2026, 12, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert iso_z(plus_two, "seconds") == "2026-12-01T12:00:00Z"


def test_stored_text_and_datetimes_read_back_alike() -> None:
    stored = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert read_stored("2026-12-01 12:00:00") == stored
    assert read_stored("2026-12-01T12:00:00+00:00") == stored
    assert read_stored(stored.replace(tzinfo=None)) == stored
