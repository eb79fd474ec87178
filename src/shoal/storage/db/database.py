"""Opening the database: one async SQLAlchemy engine per process, migrated to the latest schema.

SQLite (the default) runs in WAL mode with a busy timeout, so the CLI can manage keys
while a server runs on the same data dir; writes that must not interleave take the
write lock up front (``BEGIN IMMEDIATE``). PostgreSQL serves several replicas.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shoal.storage.db.driver import SQLITE_BUSY_TIMEOUT_MS, Driver, is_locked, open_driver

_MIGRATIONS = Path(__file__).with_name("migrations")
_BASELINE = "0001"
"""The schema Shoal created before it used Alembic; such databases are stamped with it."""
_MIGRATION_LOCK = 0x5340A1
"""PostgreSQL advisory lock id: replicas starting together migrate one at a time."""

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """The URL with an async driver: ``postgresql://`` → asyncpg, ``sqlite://`` → aiosqlite."""
    parsed = make_url(url)
    if "+" not in parsed.drivername and parsed.drivername in _DRIVERS:
        parsed = parsed.set(drivername=_DRIVERS[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class Database:
    engine: AsyncEngine
    driver: Driver
    """The driver itself, for the wallet's per-request transactions (see driver.py)."""

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as connection:
            yield connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that holds the write lock from its first statement (SQLite) and commits on exit."""
        async with self.engine.connect() as connection:
            if self.is_sqlite:
                await connection.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            async with connection.begin():
                yield connection

    async def dispose(self) -> None:
        await self.driver.close()
        await self.engine.dispose()


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get("sqlite_begin", "BEGIN"))


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, retried for as long as the busy timeout: on a new database that
    another process is opening too, SQLite refuses the switch with "database is locked" at once
    rather than waiting for the lock."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if not is_locked(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _migrate(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})
    config = alembic_config(connection)
    tables = set(inspect(connection).get_table_names())
    if "api_keys" in tables and "alembic_version" not in tables:
        command.stamp(config, _BASELINE)
    command.upgrade(config, "head")


_migration_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the latest revision (safe to run from several processes or replicas at once).

    Alembic keeps global state, so migrations in one process run one at a time. On SQLite the
    migration takes the write lock up front (other processes wait out the busy timeout instead
    of failing) and runs with foreign keys off, as table rebuilds in batch mode require.
    """
    loop = asyncio.get_running_loop()
    sqlite = engine.dialect.name == "sqlite"
    async with _migration_locks.setdefault(loop, asyncio.Lock()), engine.connect() as connection:
        if sqlite:
            await connection.run_sync(_driver_sql, "PRAGMA foreign_keys=OFF")
            await connection.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        try:
            async with connection.begin():
                await connection.run_sync(_migrate)
        finally:
            if sqlite:
                await connection.run_sync(_driver_sql, "PRAGMA foreign_keys=ON")


def _driver_sql(connection: Connection, sql: str) -> None:
    """Run ``sql`` on the driver's connection outside any transaction (where SQLite ignores pragmas)."""
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


async def open_database(url: str, *, run_migrations: bool = True) -> Database:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # A ping before each checkout guards against a restarted PostgreSQL; a SQLite file needs none.
    engine = create_async_engine(async_url(url), pool_pre_ping=parsed.get_backend_name() != "sqlite")
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    try:
        if run_migrations:
            await migrate(engine)
        driver = await open_driver(url)
    except BaseException:
        await engine.dispose()
        raise
    return Database(engine, driver)
