"""The database driver itself, for the few statements every billed request runs.

SQLAlchemy's async layer costs about 0.3–0.6 ms per statement and 1.2 ms per
transaction here (greenlet hops, pool checkout and reset); the wallet runs two
transactions per request, so they go to the driver directly: an asyncpg pool on
PostgreSQL, one dedicated aiosqlite connection on SQLite (SQLite has one writer at a
time anyway). SQL is written once with ``$1``-style parameters, which SQLite reads as
``?1``. Everything else uses SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.engine import make_url

Row = Sequence[Any]


class Transaction(Protocol):
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def execute(self, sql: str, *args: Any) -> None: ...


class Driver(Protocol):
    for_update: str
    """``" FOR UPDATE"`` where a read must lock its row; empty where the transaction locks everything."""

    def transaction(self) -> Any:
        """An async context manager giving a ``Transaction`` that commits on exit."""
        ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """One row from a read outside any transaction."""
        ...

    async def close(self) -> None: ...


class _PostgresTransaction:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row = await self._connection.fetchrow(sql, *args)
        return None if row is None else tuple(row)

    async def execute(self, sql: str, *args: Any) -> None:
        await self._connection.execute(sql, *args)


class PostgresDriver:
    for_update = " FOR UPDATE"

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str) -> PostgresDriver:
        import asyncpg  # type: ignore[import-untyped]

        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(await asyncpg.create_pool(dsn, min_size=1, max_size=10))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTransaction]:
        async with self._pool.acquire() as connection, connection.transaction():
            yield _PostgresTransaction(connection)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row = await self._pool.fetchrow(sql, *args)
        return None if row is None else tuple(row)

    async def close(self) -> None:
        await self._pool.close()


_DOLLAR = re.compile(r"\$(\d+)")


def _sqlite_value(value: Any) -> Any:
    # The format SQLAlchemy's SQLite DateTime type writes and reads: naive UTC, microseconds.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


class _SqliteTransaction:
    def __init__(self, connection: Any, sql_cache: dict[str, str]) -> None:
        self._connection = connection
        self._sql = sql_cache

    def _prepare(self, sql: str) -> str:
        prepared = self._sql.get(sql)
        if prepared is None:
            prepared = self._sql[sql] = _DOLLAR.sub(r"?\1", sql)
        return prepared

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._connection.execute(self._prepare(sql), [_sqlite_value(a) for a in args]) as cursor:
            row = await cursor.fetchone()
        return None if row is None else tuple(row)

    async def execute(self, sql: str, *args: Any) -> None:
        await self._connection.execute(self._prepare(sql), [_sqlite_value(a) for a in args])


SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite connection waits for another process's lock before giving up."""


def is_locked(error: sqlite3.OperationalError) -> bool:
    return "database is locked" in str(error)


class SqliteDriver:
    for_update = ""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._lock: asyncio.Lock | None = None
        self._sql: dict[str, str] = {}

    @classmethod
    async def open(cls, path: str) -> SqliteDriver:
        import aiosqlite

        connection = await aiosqlite.connect(path, isolation_level=None)
        await connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Switching to WAL meets another process's lock with "database is locked" at once, never
        # waiting out the busy timeout: retry it for as long.
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                await connection.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as error:
                if not is_locked(error) or time.monotonic() >= deadline:
                    await connection.close()
                    raise
                await asyncio.sleep(0.02)
        for pragma in ("foreign_keys=ON", "synchronous=NORMAL"):
            await connection.execute(f"PRAGMA {pragma}")
        return cls(connection)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteTransaction]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            # Take the write lock up front: other processes wait out the busy timeout, never fail.
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(self._connection, self._sql)
            except BaseException:
                await asyncio.shield(self._connection.execute("ROLLBACK"))
                raise
            await asyncio.shield(self._connection.execute("COMMIT"))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # never inside another coroutine's open transaction
            return await _SqliteTransaction(self._connection, self._sql).fetchrow(sql, *args)

    async def close(self) -> None:
        await self._connection.close()


async def open_driver(url: str) -> Driver:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return await SqliteDriver.open(parsed.database or ":memory:")
    return await PostgresDriver.open(url)
