"""The task queue, in the database: submission (idempotent), claims with leases, completion.

A claim is a lease: the worker renews it while the task runs; a task whose worker died is
claimed again once its lease lapses. On PostgreSQL, claims skip rows another replica has
locked (``FOR UPDATE SKIP LOCKED``), so replicas never take the same task; SQLite takes its
write lock first (``BEGIN IMMEDIATE``), which serialises claims across processes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import msgpack
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from shoal.errors import Conflict, IdempotencyKeyReused, InvalidRequest
from shoal.storage.db.database import Database
from shoal.storage.db.tables import task_deliveries, tasks
from shoal.timestamps import as_utc, utc_now

Status = Literal["queued", "running", "succeeded", "failed"]
STATUSES: tuple[Status, ...] = ("queued", "running", "succeeded", "failed")
MAX_RUN_ATTEMPTS = 5
"""A task whose worker died this many times is failed rather than run again (a poison task)."""


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    account_id: str
    key_id: str
    kind: Literal["tts", "stt"]
    surface: str
    model: str
    request: dict[str, Any]
    status: Status
    callback_url: str | None
    hold_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_attempts: int
    result: dict[str, Any] | None
    error: str | None
    delivery_status: str | None
    delivery_attempts: int
    idempotency_key: str | None

    @classmethod
    def from_row(cls, row: Any) -> Task:
        return cls(
            id=row.id, account_id=row.account_id, key_id=row.key_id, kind=row.kind, surface=row.surface,
            model=row.model, request=msgpack.unpackb(row.request, raw=False), status=row.status,
            callback_url=row.callback_url, hold_id=row.hold_id,
            created_at=as_utc(row.created_at) or utc_now(),
            started_at=as_utc(row.started_at), finished_at=as_utc(row.finished_at),
            run_attempts=row.run_attempts, result=json.loads(row.result) if row.result else None,
            error=row.error, delivery_status=row.delivery_status, delivery_attempts=row.delivery_attempts,
            idempotency_key=row.idempotency_key,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Submission:
    account_id: str
    key_id: str
    kind: Literal["tts", "stt"]
    surface: str
    model: str
    request: dict[str, Any]
    """The work, as plain data (msgpack: bytes allowed)."""
    callback_url: str | None = None
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """What makes two submissions the same request (for Idempotency-Key)."""
        packed = msgpack.packb(
            [self.kind, self.surface, self.model, self.request, self.callback_url], use_bin_type=True
        )
        return hashlib.sha256(packed).hexdigest()


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 255 or not key.isprintable():
        raise InvalidRequest(
            "Idempotency-Key must be 1 to 255 printable characters (a UUID is a good choice)"
        )
    return key


class TaskQueue:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def existing(self, submission: Submission) -> Task | None:
        """The task an earlier submission with the same Idempotency-Key made (422 if it differs)."""
        if submission.idempotency_key is None:
            return None
        async with self._db.read() as connection:
            row = (
                await connection.execute(
                    select(tasks).where(
                        tasks.c.account_id == submission.account_id,
                        tasks.c.idempotency_key == submission.idempotency_key,
                    )
                )
            ).first()
        if row is None:
            return None
        if row.fingerprint != submission.fingerprint():
            raise IdempotencyKeyReused(
                f"Idempotency-Key {submission.idempotency_key!r} was used for a different request; "
                "use a new key for a new request"
            )
        return Task.from_row(row)

    async def submit(self, submission: Submission, *, hold_id: str | None) -> Task:
        """Queue a task. Raises Conflict when a concurrent submission took the same Idempotency-Key."""
        now = utc_now()
        values = {
            "id": uuid.uuid4().hex, "account_id": submission.account_id, "key_id": submission.key_id,
            "kind": submission.kind, "surface": submission.surface, "model": submission.model,
            "request": msgpack.packb(submission.request, use_bin_type=True), "status": "queued",
            "idempotency_key": submission.idempotency_key,
            "fingerprint": submission.fingerprint() if submission.idempotency_key else None,
            "callback_url": submission.callback_url, "hold_id": hold_id, "created_at": now,
            "run_attempts": 0, "delivery_attempts": 0,
        }  # fmt: skip
        try:
            async with self._db.write() as connection:
                await connection.execute(tasks.insert().values(**values))
        except IntegrityError:
            raise Conflict(
                f"a request with Idempotency-Key {submission.idempotency_key!r} is being submitted; "
                "retry in a moment to get its task"
            ) from None
        task = await self.get(submission.account_id, values["id"])
        assert task is not None
        return task

    async def claim(self, owner: str, lease_seconds: float) -> Task | None:
        """Take the oldest queued task (or one whose worker's lease lapsed), or None."""
        now = utc_now()
        claimable = or_(
            tasks.c.status == "queued", and_(tasks.c.status == "running", tasks.c.lease_expires_at < now)
        )
        async with self._db.write() as connection:
            candidate = (
                await connection.execute(
                    select(tasks.c.id)
                    .where(claimable)
                    .order_by(tasks.c.created_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if candidate is None:
                return None
            await connection.execute(
                update(tasks)
                .where(tasks.c.id == candidate.id)
                .values(
                    status="running",
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    started_at=func.coalesce(tasks.c.started_at, now),
                    run_attempts=tasks.c.run_attempts + 1,
                )
            )
            row = (await connection.execute(select(tasks).where(tasks.c.id == candidate.id))).one()
        return Task.from_row(row)

    async def renew(self, task_id: str, owner: str, lease_seconds: float) -> bool:
        """Extend a claim; False when it was lost (another worker took the task over)."""
        async with self._db.write() as connection:
            result = await connection.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.lease_owner == owner, tasks.c.status == "running")
                .values(lease_expires_at=utc_now() + timedelta(seconds=lease_seconds))
            )
        return bool(result.rowcount)

    async def release(self, task_id: str, owner: str) -> None:
        """Give a claimed task back to the queue untouched (the engine was busy)."""
        async with self._db.write() as connection:
            await connection.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.lease_owner == owner, tasks.c.status == "running")
                .values(
                    status="queued",
                    lease_owner=None,
                    lease_expires_at=None,
                    run_attempts=tasks.c.run_attempts - 1,
                )
            )

    async def finish(
        self, task: Task, owner: str, status: Literal["succeeded", "failed"], *,
        result: dict[str, Any] | None = None, error: str | None = None,
    ) -> bool:  # fmt: skip
        """Record the outcome, once: False when the task was already finished (by a worker that
        took it over) — the first outcome stands."""
        now = utc_now()
        async with self._db.write() as connection:
            outcome = await connection.execute(
                update(tasks)
                .where(tasks.c.id == task.id, tasks.c.status.in_(("queued", "running")))
                .values(
                    status=status,
                    finished_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                    result=json.dumps(result) if result is not None else None,
                    error=error,
                    delivery_status="pending" if task.callback_url else None,
                    next_delivery_at=now if task.callback_url else None,
                )
            )
        return bool(outcome.rowcount)

    async def get(self, account_id: str, task_id: str) -> Task | None:
        async with self._db.read() as connection:
            row = (
                await connection.execute(
                    select(tasks).where(tasks.c.id == task_id, tasks.c.account_id == account_id)
                )
            ).first()
        return Task.from_row(row) if row is not None else None

    async def find(self, task_id: str) -> Task | None:
        async with self._db.read() as connection:
            row = (await connection.execute(select(tasks).where(tasks.c.id == task_id))).first()
        return Task.from_row(row) if row is not None else None

    async def listing(
        self,
        account_id: str,
        *,
        status: Status | None = None,
        limit: int = 20,
        before: datetime | None = None,
    ) -> list[Task]:
        """The account's tasks, newest first."""
        query = select(tasks).where(tasks.c.account_id == account_id)
        if status is not None:
            query = query.where(tasks.c.status == status)
        if before is not None:
            query = query.where(tasks.c.created_at < before)
        async with self._db.read() as connection:
            rows = (await connection.execute(query.order_by(tasks.c.created_at.desc()).limit(limit))).all()
        return [Task.from_row(row) for row in rows]

    async def deliveries(self, task_id: str) -> list[dict[str, Any]]:
        async with self._db.read() as connection:
            rows = (
                await connection.execute(
                    select(task_deliveries)
                    .where(task_deliveries.c.task_id == task_id)
                    .order_by(task_deliveries.c.id)
                )
            ).all()
        return [
            {
                "attempt": row.attempt,
                "at": as_utc(row.at),
                "status_code": row.status_code,
                "outcome": row.outcome,
                "error": row.error,
                "duration_ms": row.duration_ms,
            }
            for row in rows
        ]
