"""Alembic migrations (storage/db/migrations) on SQLite and PostgreSQL, each test on empty databases."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shoal.auth.keys import KEY_PREFIX, hash_secret, list_keys, verify_secret
from shoal.billing.accounts import get_account, top_up
from shoal.storage.db.database import Database, alembic_config, async_url, open_database
from shoal.storage.db.tables import accounts, metadata
from tests.contract.conftest import EmptyDatabases

pytestmark = pytest.mark.asyncio(loop_scope="session")

TABLES = set(metadata.tables)


def head() -> str:
    with sa.create_engine("sqlite://").connect() as connection:
        found = ScriptDirectory.from_config(alembic_config(connection)).get_current_head()
    assert found is not None
    return found


def _state(connection: Connection) -> tuple[set[str], list[str]]:
    tables = set(inspect(connection).get_table_names())
    versions = (
        [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
        if "alembic_version" in tables
        else []
    )
    return tables, versions


async def state(engine: AsyncEngine) -> tuple[set[str], list[str]]:
    """The tables, and the Alembic revision(s) recorded."""
    async with engine.connect() as connection:
        return await connection.run_sync(_state)


async def alembic(engine: AsyncEngine, action: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        getattr(command, action)(alembic_config(connection), revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return [diff for diff in compare_metadata(context, metadata) if not _dialect_noise(connection, diff)]


def _dialect_noise(connection: Connection, diff: Any) -> bool:
    """Differences that are not differences.

    Alembic's SQLite comparator unquotes a reflected default with ``^'(.+)'$``, which
    needs at least one character, so an empty-string default (``DEFAULT ''``, exactly
    what tables.py declares for api_keys.models and topups.note, and what the DDL in
    sqlite_master says) is compared as the text ``('')`` against ``""`` and reported as
    changed. Only that exact case is ignored: any other default change still fails.
    """
    if connection.dialect.name != "sqlite" or not isinstance(diff, list) or len(diff) != 1:
        return False
    operation = diff[0]
    if operation[0] != "modify_default":
        return False
    reflected, declared = operation[5], operation[6]
    return (
        str(getattr(reflected, "arg", reflected)) in {"''", "('')"} and getattr(declared, "arg", None) == ""
    )


async def schema_differences(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        return await connection.run_sync(_schema_differences)


# The schema exactly as revision 0001 (and Shoal before Alembic) created it.
legacy = sa.MetaData()
sa.Table(
    "accounts",
    legacy,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    "api_keys",
    legacy,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(32), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Index("ix_api_keys_account", "account_id"),
)
LEGACY_SECRET = KEY_PREFIX + "legacy-secret-from-before-alembic"
CREATED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


async def legacy_database(url: str) -> None:
    """Accounts and api_keys as 0001 made them, one row in each, and no alembic_version table."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(legacy.create_all)
            await connection.execute(
                legacy.tables["accounts"].insert().values(id="legacy", name="Legacy Co", created_at=CREATED)
            )
            await connection.execute(
                legacy.tables["api_keys"].insert().values(
                    id="k" * 32, account_id="legacy", name="old key", prefix=LEGACY_SECRET[:12],
                    secret_hash=hash_secret(LEGACY_SECRET), created_at=CREATED,
                )
            )  # fmt: skip
    finally:
        await engine.dispose()


async def assert_legacy_rows_kept(db: Database) -> None:
    account = await get_account(db, "legacy")
    assert account is not None
    assert (account.name, account.prepaid, account.balance_nanos, account.created_at) == (
        "Legacy Co", False, 0, CREATED,
    )  # fmt: skip
    (key,) = await list_keys(db)
    assert (key.id, key.name, key.account_id, key.tier, key.plan, key.models, key.disabled) == (
        "k" * 32, "old key", "legacy", "standard", "pro", (), False,
    )  # fmt: skip
    assert key.status() == "active"
    found = await verify_secret(db, LEGACY_SECRET)
    assert found is not None and found.id == key.id


# --- tests ---------------------------------------------------------------------------------------


async def test_open_database_on_an_empty_database_reaches_head(empty_databases: EmptyDatabases) -> None:
    url = await empty_databases.new_url()
    db = await open_database(url)
    try:
        tables, versions = await state(db.engine)
        assert tables == TABLES | {"alembic_version"}
        assert versions == [head()]
        again = await open_database(url)  # opening it again changes nothing
        await again.dispose()
        assert await state(db.engine) == (tables, versions)
    finally:
        await db.dispose()


async def test_migrations_produce_exactly_the_declared_schema(empty_databases: EmptyDatabases) -> None:
    db = await open_database(await empty_databases.new_url())
    try:
        assert await schema_differences(db.engine) == []

        # Autogenerate does not compare CHECK constraints: the balance floor is checked by hand.
        def checks(connection: Connection) -> list[str]:
            return [check["name"] for check in inspect(connection).get_check_constraints("accounts")]

        async with db.engine.connect() as connection:
            assert "ck_accounts_balance_not_negative" in await connection.run_sync(checks)
        account = "floor"
        async with db.write() as connection:
            await connection.execute(
                accounts.insert().values(id=account, name="f", prepaid=True, created_at=CREATED)
            )
        await top_up(db, account, 5)
        with pytest.raises(IntegrityError):
            async with db.write() as connection:
                await connection.execute(accounts.update().values(balance_nanos=-1))
    finally:
        await db.dispose()


async def test_a_pre_alembic_database_is_stamped_and_upgraded_with_its_rows(
    empty_databases: EmptyDatabases,
) -> None:
    url = await empty_databases.new_url()
    await legacy_database(url)
    db = await open_database(url)
    try:
        tables, versions = await state(db.engine)
        assert tables == TABLES | {"alembic_version"}
        assert versions == [head()]
        await assert_legacy_rows_kept(db)
        assert await schema_differences(db.engine) == []
    finally:
        await db.dispose()


async def test_a_pre_alembic_database_without_rows_is_upgraded(empty_databases: EmptyDatabases) -> None:
    url = await empty_databases.new_url()
    engine = create_async_engine(async_url(url))
    async with engine.begin() as connection:
        await connection.run_sync(legacy.create_all)
    await engine.dispose()
    db = await open_database(url)
    try:
        assert await state(db.engine) == (TABLES | {"alembic_version"}, [head()])
        assert await schema_differences(db.engine) == []
    finally:
        await db.dispose()


async def test_downgrade_to_base_then_upgrade_to_head(empty_databases: EmptyDatabases) -> None:
    db = await open_database(await empty_databases.new_url())
    try:
        await alembic(db.engine, "downgrade", "base")
        assert await state(db.engine) == ({"alembic_version"}, [])
        await alembic(db.engine, "upgrade", "head")
        assert await state(db.engine) == (TABLES | {"alembic_version"}, [head()])
        assert await schema_differences(db.engine) == []
    finally:
        await db.dispose()


async def test_downgrade_one_revision_keeps_keys_and_open_database_upgrades_again(
    empty_databases: EmptyDatabases,
) -> None:
    """0002 down and up with rows in place.

    Shoal has no downgrade command, so the operator's Alembic runs on a plain engine (SQLite's
    foreign keys off, as Alembic's batch mode expects); the upgrade back is the app's own.
    """
    url = await empty_databases.new_url()
    await legacy_database(url)
    await alembic_on(url, "stamp", "0001")
    await alembic_on(url, "upgrade", "head")
    await alembic_on(url, "downgrade", "0001")
    engine = create_async_engine(async_url(url))
    try:
        assert await state(engine) == ({"accounts", "api_keys", "alembic_version"}, ["0001"])
    finally:
        await engine.dispose()
    db = await open_database(url)
    try:
        await assert_legacy_rows_kept(db)
    finally:
        await db.dispose()


async def alembic_on(url: str, action: str, revision: str) -> None:
    engine = create_async_engine(async_url(url))
    try:
        await alembic(engine, action, revision)
    finally:
        await engine.dispose()


async def test_concurrent_first_opens_of_postgresql_all_succeed(postgres_databases: EmptyDatabases) -> None:
    """Replicas starting together: the advisory lock makes them migrate one after another."""
    url = await postgres_databases.new_url()
    opened = await asyncio.gather(*[open_database(url) for _ in range(4)], return_exceptions=True)
    try:
        assert [error for error in opened if isinstance(error, BaseException)] == []
        for db in opened:
            assert isinstance(db, Database)
            assert await state(db.engine) == (TABLES | {"alembic_version"}, [head()])
    finally:
        for db in opened:
            if isinstance(db, Database):
                await db.dispose()


RACE_OPENING = """
import asyncio, sys
from shoal.storage.db.database import open_database
async def main():
    for url in sys.argv[1:]:
        sys.stdin.readline()  # the barrier: every process starts each round together
        try:
            db = await open_database(url)
            await db.dispose()
            print("ok", flush=True)
        except Exception as error:
            print("failed:", str(error).splitlines()[0], flush=True)
asyncio.run(main())
"""


async def test_concurrent_first_opens_of_sqlite_from_several_processes_succeed(tmp_path: Path) -> None:
    """A server and the CLI opening a new data dir at once (separate processes: Alembic is not re-entrant).

    Three processes race to open each of five fresh databases, so a lucky round cannot hide it.
    """
    urls = [f"sqlite:///{tmp_path / f'shoal-{round_}.db'}" for round_ in range(5)]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            RACE_OPENING,
            *urls,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    answers: list[str] = []
    try:
        for _ in urls:
            for process in processes:
                assert process.stdin is not None
                process.stdin.write(b"go\n")
                await process.stdin.drain()
            for process in processes:
                assert process.stdout is not None
                answer = await asyncio.wait_for(process.stdout.readline(), timeout=60)
                answers.append(answer.decode().strip() or "no answer")
    finally:
        for process in processes:
            await asyncio.wait_for(process.communicate(), timeout=60)
    assert [answer for answer in answers if answer != "ok"] == []
    for url in urls:
        db = await open_database(url, run_migrations=False)
        try:
            assert await state(db.engine) == (TABLES | {"alembic_version"}, [head()])
        finally:
            await db.dispose()
