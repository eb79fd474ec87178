"""Stored results (synthesized audio behind an ``audio_url``) that expire after a retention time.

Two stores with one contract: files under ``<data_dir>/blobs`` (the default with SQLite) and
a database table (the default with PostgreSQL, so every replica serves what any replica
stored). Ids are 160 random bits: with a signed URL around them they are the capability.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import delete

from shoal.settings import Settings
from shoal.storage.db.database import Database
from shoal.storage.db.tables import blobs
from shoal.timestamps import read_stored, utc_now

log = logging.getLogger("shoal.blobs")

_ID = re.compile(r"^[0-9a-f]{40}$")


def new_blob_id() -> str:
    return secrets.token_hex(20)


def valid_blob_id(blob_id: str) -> bool:
    """Whether ``blob_id`` could have been made by ``new_blob_id`` (also keeps paths inside the store)."""
    return _ID.fullmatch(blob_id) is not None


@dataclass(frozen=True, slots=True)
class BlobInfo:
    id: str
    content_type: str
    size: int
    owner: str | None
    """The account the blob was made for."""
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Blob:
    info: BlobInfo
    data: bytes


class BlobStore(Protocol):
    kind: Literal["files", "database"]

    async def put(self, data: bytes, content_type: str, *, owner: str | None, ttl: float) -> BlobInfo:
        """Store ``data`` for ``ttl`` seconds under a new random id."""
        ...

    async def get(self, blob_id: str) -> Blob | None:
        """The blob, or None when it does not exist or has expired (an expired one is deleted)."""
        ...

    async def delete(self, blob_id: str) -> bool:
        """Remove a blob; False when there was none."""
        ...

    async def purge_expired(self) -> int:
        """Delete every expired blob; returns how many."""
        ...


def _info(blob_id: str, size: int, content_type: str, owner: str | None, ttl: float) -> BlobInfo:
    if ttl <= 0:
        raise ValueError("a blob's ttl must be positive")
    return BlobInfo(blob_id, content_type, size, owner, utc_now() + timedelta(seconds=ttl))


class FileBlobStore:
    """One file per blob, ``<root>/<id[:2]>/<id>``: a JSON header line, then the bytes.

    Written to a temporary name and renamed, so a reader sees a whole blob or none.
    """

    kind: Literal["files", "database"] = "files"
    _TMP_SUFFIX = ".tmp"
    _STALE_TMP_SECONDS = 3600.0

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, blob_id: str) -> Path:
        return self.root / blob_id[:2] / blob_id

    async def put(self, data: bytes, content_type: str, *, owner: str | None, ttl: float) -> BlobInfo:
        info = _info(new_blob_id(), len(data), content_type, owner, ttl)
        header = {"content_type": content_type, "owner": owner, "expires_at": info.expires_at.timestamp()}
        await asyncio.to_thread(self._write, self._path(info.id), json.dumps(header).encode() + b"\n", data)
        return info

    def _write(self, path: Path, header: bytes, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}{self._TMP_SUFFIX}")
        with temporary.open("wb") as sink:
            sink.write(header)
            sink.write(data)
        os.replace(temporary, path)

    async def get(self, blob_id: str) -> Blob | None:
        if not valid_blob_id(blob_id):
            return None
        return await asyncio.to_thread(self._read, blob_id)

    def _read(self, blob_id: str) -> Blob | None:
        path = self._path(blob_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        line, _, data = raw.partition(b"\n")
        header = _header(line)
        if header is None or header["expires"] <= utc_now():
            path.unlink(missing_ok=True)
            return None
        info = BlobInfo(blob_id, header["content_type"], len(data), header["owner"], header["expires"])
        return Blob(info, data)

    async def delete(self, blob_id: str) -> bool:
        if not valid_blob_id(blob_id):
            return False
        return await asyncio.to_thread(self._unlink, self._path(blob_id))

    @staticmethod
    def _unlink(path: Path) -> bool:
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    async def purge_expired(self) -> int:
        return await asyncio.to_thread(self._purge)

    def _purge(self) -> int:
        now = utc_now()
        purged = 0
        for path in self.root.glob("*/*"):
            if path.name.endswith(self._TMP_SUFFIX):
                self._purge_stale_temporary(path, now)
                continue
            try:
                with path.open("rb") as source:
                    header = _header(source.readline())
            except FileNotFoundError:
                continue  # deleted meanwhile
            if (header is None or header["expires"] <= now) and self._unlink(path):
                purged += 1
        return purged

    def _purge_stale_temporary(self, path: Path, now: datetime) -> None:
        """A write whose process died before the rename leaves its temporary file."""
        try:
            if now.timestamp() - path.stat().st_mtime > self._STALE_TMP_SECONDS:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            pass


def _header(line: bytes) -> dict[str, Any] | None:
    """A file blob's header, or None when the file is not one (it is then purged)."""
    try:
        header = json.loads(line)
        return {
            "content_type": str(header["content_type"]),
            "owner": None if header["owner"] is None else str(header["owner"]),
            "expires": datetime.fromtimestamp(float(header["expires_at"]), UTC),
        }
    except (ValueError, KeyError, TypeError):
        return None


_PUT = (
    "INSERT INTO blobs (id, owner_id, content_type, size_bytes, data, created_at, expires_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
_GET = "SELECT content_type, owner_id, expires_at, data FROM blobs WHERE id = $1"
_DELETE = "DELETE FROM blobs WHERE id = $1 RETURNING id"


class DatabaseBlobStore:
    """Blobs in the ``blobs`` table (bytea on PostgreSQL, BLOB on SQLite)."""

    kind: Literal["files", "database"] = "database"

    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, data: bytes, content_type: str, *, owner: str | None, ttl: float) -> BlobInfo:
        info = _info(new_blob_id(), len(data), content_type, owner, ttl)
        async with self._db.driver.transaction() as tx:
            await tx.execute(_PUT, info.id, owner, content_type, len(data), data, utc_now(), info.expires_at)
        return info

    async def get(self, blob_id: str) -> Blob | None:
        if not valid_blob_id(blob_id):
            return None
        row = await self._db.driver.fetchrow(_GET, blob_id)
        if row is None:
            return None
        content_type, owner, expires_at, data = row
        expires = read_stored(expires_at)
        if expires <= utc_now():
            await self.delete(blob_id)
            return None
        return Blob(BlobInfo(blob_id, str(content_type), len(data), owner, expires), bytes(data))

    async def delete(self, blob_id: str) -> bool:
        if not valid_blob_id(blob_id):
            return False
        async with self._db.driver.transaction() as tx:
            return await tx.fetchrow(_DELETE, blob_id) is not None

    async def purge_expired(self) -> int:
        async with self._db.write() as connection:
            result = await connection.execute(delete(blobs).where(blobs.c.expires_at <= utc_now()))
        return int(result.rowcount)


def open_blob_store(settings: Settings, db: Database) -> BlobStore:
    """The configured store; ``auto`` picks the database when it is shared (PostgreSQL)."""
    backend = settings.blobs.backend
    if backend == "auto":
        backend = "files" if db.is_sqlite else "database"
    if backend == "database":
        return DatabaseBlobStore(db)
    return FileBlobStore(settings.data_dir / "blobs")


async def purge_forever(store: BlobStore, every_seconds: float) -> None:
    """Delete expired blobs now and then (every replica runs this; deleting twice is harmless)."""
    while True:
        try:
            purged = await store.purge_expired()
            if purged:
                log.info("purged %d expired blobs", purged)
        except Exception:  # the database or disk may be briefly away; the next round retries
            log.warning("could not purge expired blobs", exc_info=True)
        await asyncio.sleep(every_seconds)
