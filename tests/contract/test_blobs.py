"""The blob store contract (storage/blobs.py), written once, run on every store: files under a
directory, the database table on SQLite, and the database table on PostgreSQL. Also the
shared server secret (storage/secrets.py) on both databases.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from shoal.settings import load_settings
from shoal.storage.blobs import BlobStore, DatabaseBlobStore, FileBlobStore, open_blob_store
from shoal.storage.db.database import Database, open_database
from shoal.storage.db.tables import blobs, server_secrets
from shoal.storage.secrets import server_secret
from tests.contract.conftest import EmptyDatabases, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")

STORES = ["files", "database-sqlite", "database-postgresql"]
HOUR = 3600.0


class Replicas:
    """Makes stores of one backend that share their storage, as replicas would."""

    def __init__(self, backend: str, root: Path, databases: EmptyDatabases | None) -> None:
        self.backend = backend
        self._root = root
        self._databases = databases
        self._url: str | None = None
        self._opened: list[Database] = []

    async def store(self) -> BlobStore:
        if self._databases is None:
            return FileBlobStore(self._root)
        if self._url is None:
            self._url = await self._databases.new_url()
        db = await open_database(self._url)
        self._opened.append(db)
        return DatabaseBlobStore(db)

    async def close(self) -> None:
        for db in self._opened:
            await db.dispose()
        if self._databases is not None:
            await self._databases.drop_all()


@pytest.fixture(params=STORES, scope="module")
def store_backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """The store and, for PostgreSQL, the session database (resolved here: its fixture is sync)."""
    backend = str(request.param)
    return backend, request.getfixturevalue("postgres_url") if backend == "database-postgresql" else None


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def backing(
    store_backend: tuple[str, str | None], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Replicas]:
    backend, postgres_url = store_backend
    root = tmp_path_factory.mktemp(f"blobs-{backend}")
    databases: EmptyDatabases | None = None
    if backend == "database-sqlite":
        databases = EmptyDatabases("sqlite", None, root)
    elif backend == "database-postgresql":
        databases = EmptyDatabases("postgresql", postgres_url, root)
    made = Replicas(backend, root / "files", databases)
    yield made
    await made.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def store(backing: Replicas) -> BlobStore:
    return await backing.store()


async def test_what_is_put_is_got_back_byte_for_byte(store: BlobStore) -> None:
    data = bytes(range(256)) * 40 + b"\n\n\x00end"  # newlines and NULs: binary safe
    before = datetime.now(UTC)
    info = await store.put(data, "audio/mpeg", owner="acct-1", ttl=HOUR)
    assert info.size == len(data) and info.content_type == "audio/mpeg" and info.owner == "acct-1"
    assert before + timedelta(seconds=HOUR - 5) < info.expires_at < before + timedelta(seconds=HOUR + 5)
    got = await store.get(info.id)
    assert got is not None
    assert got.data == data
    assert got.info.content_type == "audio/mpeg"
    assert got.info.owner == "acct-1"
    assert got.info.size == len(data)
    assert abs((got.info.expires_at - info.expires_at).total_seconds()) < 0.01


async def test_empty_and_ownerless_blobs(store: BlobStore) -> None:
    info = await store.put(b"", "application/octet-stream", owner=None, ttl=HOUR)
    got = await store.get(info.id)
    assert got is not None and got.data == b"" and got.info.owner is None


async def test_a_large_blob(store: BlobStore) -> None:
    data = os.urandom(6 * 1024 * 1024)
    info = await store.put(data, "audio/wav", owner=None, ttl=HOUR)
    got = await store.get(info.id)
    assert got is not None and got.data == data


async def test_ids_are_random_160_bit_hex_and_never_repeat(store: BlobStore) -> None:
    infos = await asyncio.gather(*(store.put(b"x", "text/plain", owner=None, ttl=HOUR) for _ in range(50)))
    ids = {info.id for info in infos}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[0-9a-f]{40}", blob_id) for blob_id in ids)
    for info in infos:  # concurrent puts all landed
        got = await store.get(info.id)
        assert got is not None and got.data == b"x"


@pytest.mark.parametrize(
    "blob_id", ["0" * 40, "../../etc/passwd", "A" * 40, "", "0" * 39, "0" * 41, "zz" + "0" * 38]
)
async def test_unknown_or_malformed_ids_are_absent(store: BlobStore, blob_id: str) -> None:
    assert await store.get(blob_id) is None
    assert await store.delete(blob_id) is False


async def test_delete(store: BlobStore) -> None:
    kept = await store.put(b"kept", "text/plain", owner=None, ttl=HOUR)
    gone = await store.put(b"gone", "text/plain", owner=None, ttl=HOUR)
    assert await store.delete(gone.id) is True
    assert await store.get(gone.id) is None
    assert await store.delete(gone.id) is False
    got = await store.get(kept.id)
    assert got is not None and got.data == b"kept"


async def test_an_expired_blob_is_absent_and_deleted_when_asked_for(store: BlobStore) -> None:
    info = await store.put(b"soon gone", "text/plain", owner=None, ttl=0.3)
    assert await store.get(info.id) is not None
    await asyncio.sleep(0.4)
    assert await store.get(info.id) is None
    assert await store.delete(info.id) is False  # get removed it already


async def test_purge_removes_exactly_the_expired(store: BlobStore) -> None:
    await store.purge_expired()  # whatever earlier tests left expiring; all else lives an hour
    short = [await store.put(f"short {n}".encode(), "text/plain", owner=None, ttl=0.3) for n in range(3)]
    long = await store.put(b"long", "text/plain", owner=None, ttl=HOUR)
    await asyncio.sleep(0.4)
    assert await store.purge_expired() == 3
    assert await store.purge_expired() == 0
    for info in short:
        assert await store.get(info.id) is None
    got = await store.get(long.id)
    assert got is not None and got.data == b"long"


async def test_another_replica_serves_and_deletes_what_one_stored(backing: Replicas) -> None:
    first, second = await backing.store(), await backing.store()
    info = await first.put(b"shared", "audio/ogg", owner="acct-2", ttl=HOUR)
    got = await second.get(info.id)
    assert got is not None and got.data == b"shared" and got.info.content_type == "audio/ogg"
    assert await second.delete(info.id) is True
    assert await first.get(info.id) is None


async def test_a_ttl_must_be_positive(store: BlobStore) -> None:
    for ttl in (0.0, -1.0):
        with pytest.raises(ValueError, match="ttl"):
            await store.put(b"x", "text/plain", owner=None, ttl=ttl)


async def test_files_purge_skips_fresh_temporaries_and_removes_junk(tmp_path: Path) -> None:
    """A write in progress (a fresh temporary) is left alone; a file that is not a blob goes."""
    store = FileBlobStore(tmp_path)
    info = await store.put(b"ok", "text/plain", owner=None, ttl=HOUR)
    shard = tmp_path / info.id[:2]
    (shard / f".{'1' * 40}.tmp").write_bytes(b"half written")
    (shard / ("2" * 40)).write_bytes(b"not a header\nbytes")
    assert await store.purge_expired() == 1
    assert (shard / f".{'1' * 40}.tmp").exists()
    assert await store.get(info.id) is not None


# -- which store, and the shared secret ---------------------------------------------------------


async def test_auto_picks_files_on_sqlite_and_the_database_on_postgresql(
    db: Database, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path)
    chosen = open_blob_store(settings, db)
    assert chosen.kind == ("files" if db.is_sqlite else "database")
    for backend in ("files", "database"):
        forced = load_settings(data_dir=tmp_path, blobs={"backend": backend})
        assert open_blob_store(forced, db).kind == backend


async def test_replicas_starting_together_agree_on_one_server_secret(
    db: Database, replicas: list[Database]
) -> None:
    name = unique("secret")
    values = await asyncio.gather(*(server_secret(each, name) for each in [db, *replicas, db]))
    assert len(set(values)) == 1
    assert len(values[0]) == 32
    assert await server_secret(db, name) == values[0]
    async with db.read() as connection:
        rows = await connection.execute(
            select(func.count()).select_from(server_secrets).where(server_secrets.c.name == name)
        )
        assert rows.scalar_one() == 1
    assert await server_secret(db, unique("other")) != values[0]


async def test_the_database_store_uses_the_blobs_table(db: Database) -> None:
    store = DatabaseBlobStore(db)
    info = await store.put(b"row", "audio/flac", owner="acct-3", ttl=HOUR)
    async with db.read() as connection:
        row = (await connection.execute(select(blobs).where(blobs.c.id == info.id))).mappings().one()
    assert row["data"] == b"row" and row["owner_id"] == "acct-3" and row["size_bytes"] == 3
