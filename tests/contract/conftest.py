"""Backends for the contract suites: every test here runs once per backend, same assertions.

Limiters: in-process memory and Redis. Databases: SQLite (a file in tmp) and PostgreSQL (a
fresh database created beside the session's ``postgres_url`` and dropped afterwards).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from shoal.limits.base import Limiter
from shoal.limits.memory import MemoryLimiter
from shoal.limits.redis import RedisLimiter
from shoal.storage.db.database import Database, open_database

DATABASES = ["sqlite", "postgresql"]
LIMITERS = ["memory", "redis"]


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


class EmptyDatabases:
    """Creates empty databases of one backend on demand and drops them all at teardown."""

    def __init__(self, backend: str, postgres_url: str | None, directory: Path) -> None:
        self.backend = backend
        self._directory = directory
        self._postgres_url = postgres_url
        self._created: list[str] = []

    async def _admin(self, sql: str) -> None:
        assert self._postgres_url is not None
        connection = await asyncpg.connect(self._postgres_url, timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def new_url(self) -> str:
        """The URL of a database with no tables at all."""
        if self.backend == "sqlite":
            return f"sqlite:///{self._directory / f'{uuid.uuid4().hex}.db'}"
        assert self._postgres_url is not None
        name = f"shoal_contract_{uuid.uuid4().hex[:16]}"
        await self._admin(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return make_url(self._postgres_url).set(database=name).render_as_string(hide_password=False)

    async def drop_all(self) -> None:
        for name in self._created:
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()


def _backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """The backend and, for PostgreSQL, the session database (resolved here: its fixture is sync)."""
    backend = str(request.param)
    return backend, request.getfixturevalue("postgres_url") if backend == "postgresql" else None


@pytest.fixture(params=DATABASES)
def database_backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    return _backend(request)


@pytest.fixture(params=DATABASES, scope="module")
def module_database_backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    return _backend(request)


@pytest_asyncio.fixture(loop_scope="session")
async def empty_databases(
    database_backend: tuple[str, str | None], tmp_path: Path
) -> AsyncIterator[EmptyDatabases]:
    """A maker of empty databases of one backend, for this test."""
    made = EmptyDatabases(*database_backend, tmp_path)
    yield made
    await made.drop_all()


@pytest_asyncio.fixture(loop_scope="session")
async def postgres_databases(postgres_url: str, tmp_path: Path) -> AsyncIterator[EmptyDatabases]:
    """A maker of empty PostgreSQL databases, for tests of PostgreSQL alone."""
    made = EmptyDatabases("postgresql", postgres_url, tmp_path)
    yield made
    await made.drop_all()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def module_databases(
    module_database_backend: tuple[str, str | None], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[EmptyDatabases]:
    """A maker of empty databases of one backend, shared by a module (its tests use unique ids)."""
    made = EmptyDatabases(*module_database_backend, tmp_path_factory.mktemp("contract-db"))
    yield made
    await made.drop_all()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def database_url(module_databases: EmptyDatabases) -> str:
    """One migrated database per backend for the module."""
    url = await module_databases.new_url()
    database = await open_database(url)
    await database.dispose()
    return url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await open_database(database_url, run_migrations=False)
    yield database
    await database.dispose()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def replicas(database_url: str) -> AsyncIterator[list[Database]]:
    """Four more engines on the same database, as four replicas would have."""
    engines = [await open_database(database_url, run_migrations=False) for _ in range(4)]
    yield engines
    for engine in engines:
        await engine.dispose()


@pytest.fixture(params=LIMITERS)
def limiter_backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    backend = str(request.param)
    return backend, request.getfixturevalue("redis_url") if backend == "redis" else None


@pytest_asyncio.fixture(loop_scope="session")
async def limiter(limiter_backend: tuple[str, str | None]) -> AsyncIterator[Limiter]:
    _, redis_url = limiter_backend
    made: MemoryLimiter | RedisLimiter = (
        MemoryLimiter() if redis_url is None else RedisLimiter(redis_url, namespace=unique("contract"))
    )
    yield made
    await made.close()


@pytest_asyncio.fixture(loop_scope="session")
async def redis_pair(redis_url: str) -> AsyncIterator[tuple[RedisLimiter, RedisLimiter]]:
    """Two limiters on one Redis, as two replicas would have (same namespace)."""
    namespace = unique("contract")
    first, second = RedisLimiter(redis_url, namespace=namespace), RedisLimiter(redis_url, namespace=namespace)
    yield first, second
    await first.close()
    await second.close()
