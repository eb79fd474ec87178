"""Callback delivery: every finished task with a ``callback_url`` is POSTed there, signed, at least once.

The queue is the ``tasks`` table itself (``delivery_status = 'pending'`` and
``next_delivery_at`` due). A deliverer claims a batch in one transaction: the rows are
locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's write lock serialises
claims instead), and each gets a lease, ``delivery_lease_expires_at``, so no other
replica touches it while it is in flight. A deliverer that dies mid-flight leaves a lease
that lapses, and the callback goes out again with the same ``webhook-id``: at least once,
never lost. The lease value is also the claim's fencing token: an outcome is written only
while the lease is still the one taken.

What an answer means (Standard Webhooks): 2xx delivered; 410 Gone disables that URL for
the account (no retry; tasks that name it later are not called until a manual
redelivery re-enables it); anything else (3xx, since redirects are not followed; 4xx;
429; 5xx; timeouts; connection and DNS errors; an address refused by the SSRF check) is
retried after ``callback_schedule_seconds[n]`` ±20 % jitter, or after ``Retry-After`` when
that is longer, and fails once the schedule is used up. Other 4xx are retried on purpose:
a receiver answering 400, 401 or 404 is most often being deployed or misconfigured, and
the schedule gives its owner a day to fix it; 410 is how a receiver says "stop".

Every attempt is a ``task_deliveries`` row; its ``outcome`` is one of ``delivered``,
``gone`` (410), ``retry`` (failed, will retry), ``failed`` (failed, gave up), ``blocked``
(the SSRF check refused the address; retried like a failure, since DNS may change) or
``disabled`` (not sent: the URL answered 410 earlier). ``attempt`` counts from 1 and
starts again after a manual redelivery, which also restarts the retry schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shoal.errors import InvalidRequest
from shoal.settings import TaskSettings
from shoal.storage.db.database import Database
from shoal.storage.db.tables import disabled_callbacks, task_deliveries, tasks
from shoal.tasks.secrets import active_secrets, signature_header
from shoal.tasks.webhooks import (
    USER_AGENT,
    CallbackBlocked,
    CallbackClient,
    CallbackResponse,
    CallbackUnresolvable,
    InvalidCallbackUrl,
)
from shoal.timestamps import as_utc, iso_z, utc_now

log = logging.getLogger("shoal.tasks.delivery")

JITTER = 0.2
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0
"""A receiver's ``Retry-After`` is honoured up to this long; beyond it, it is a mistake or a trap."""
LEASE_MARGIN_SECONDS = 10.0
"""A claim lasts the callback timeout plus this, for the database writes around the POST."""
BATCH = 32
_MAX_ERROR = 500
_FINISHED = ("succeeded", "failed")
_RESERVED = ("type", "timestamp", "task_id", "status", "error")


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def webhook_id(task_id: str) -> str:
    """The ``webhook-id`` of a task's callback: the same on every retry and redelivery."""
    return f"msg_{task_id}"


# --- what is sent -------------------------------------------------------------------------------


def callback_payload(
    task_id: str, status: str, result: str | None, error: str | None, finished_at: datetime | None
) -> dict[str, Any]:
    """``{type, timestamp, task_id, status, **result, error?}``.

    The result's own keys cannot overwrite the first four.
    """
    payload: dict[str, Any] = {
        "type": f"task.{status}",
        "timestamp": iso_z(as_utc(finished_at) or utc_now(), "milliseconds"),
        "task_id": task_id,
        "status": status,
    }
    parsed = json.loads(result) if result else {}
    extra = parsed if isinstance(parsed, dict) else {"result": parsed}
    for name, value in extra.items():
        if name not in _RESERVED:
            payload[name] = value
    if error:
        payload["error"] = error
    return payload


def encode_payload(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(secrets: list[str], task_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    msg_id = webhook_id(task_id)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
    }


# --- when to try again --------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header in seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max((as_utc(when) or now) - now, timedelta(0)).total_seconds()


def retry_delay(
    schedule: Sequence[float], attempt: int, retry_after: float | None, rng: random.Random | None = None
) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (from 1), or None when it was the last."""
    if attempt > len(schedule):
        return None
    delay = schedule[attempt - 1] * (rng or random).uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, max(MAX_RETRY_AFTER_SECONDS, delay))
    return delay


# --- claiming and recording ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    task_id: str
    account_id: str
    url: str
    status: str
    result: str | None
    error: str | None
    finished_at: datetime | None
    attempt: int
    lease: datetime
    """The lease this claim set: the fencing token its outcome is written under."""


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome: str
    status_code: int | None
    error: str | None
    retry_after: float | None = None
    retryable: bool = True


async def claim_due(db: Database, limit: int, lease_seconds: float) -> list[Claim]:
    """Claim up to ``limit`` due callbacks for ``lease_seconds``; each claim counts as an attempt."""
    now = utc_now()
    lease = now + timedelta(seconds=lease_seconds)
    due = (
        select(tasks.c.id)
        .where(
            tasks.c.delivery_status == "pending",
            tasks.c.next_delivery_at <= now,
            or_(tasks.c.delivery_lease_expires_at.is_(None), tasks.c.delivery_lease_expires_at <= now),
        )
        .order_by(tasks.c.next_delivery_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has no row locks and ignores it
    )
    async with db.write() as connection:
        ids = list((await connection.execute(due)).scalars())
        if not ids:
            return []
        rows = await connection.execute(
            update(tasks)
            .where(tasks.c.id.in_(ids))
            .values(delivery_lease_expires_at=lease, delivery_attempts=tasks.c.delivery_attempts + 1)
            .returning(
                tasks.c.id,
                tasks.c.account_id,
                tasks.c.callback_url,
                tasks.c.status,
                tasks.c.result,
                tasks.c.error,
                tasks.c.finished_at,
                tasks.c.delivery_attempts,
            )
        )
        return [
            Claim(row[0], row[1], row[2] or "", row[3], row[4], row[5], as_utc(row[6]), int(row[7]), lease)
            for row in rows
        ]


async def _disabled_since(db: Database, account_id: str, url: str) -> datetime | None:
    async with db.read() as connection:
        row = (
            await connection.execute(
                select(disabled_callbacks.c.disabled_at).where(
                    disabled_callbacks.c.account_id == account_id,
                    disabled_callbacks.c.url_hash == url_hash(url),
                )
            )
        ).first()
    return None if row is None else as_utc(row[0])


def _insert_ignore(db: Database) -> Any:
    return sqlite_insert if db.is_sqlite else pg_insert


async def _record(
    db: Database, claim: Claim, result: Outcome, duration_ms: float | None, *, delivery_status: str,
    next_at: datetime | None,
) -> bool:  # fmt: skip
    """Write an attempt's outcome; False when the claim's lease had been taken over meanwhile."""
    now = utc_now()
    async with db.write() as connection:
        updated = await connection.execute(
            update(tasks)
            .where(tasks.c.id == claim.task_id, tasks.c.delivery_lease_expires_at == claim.lease)
            .values(delivery_status=delivery_status, next_delivery_at=next_at, delivery_lease_expires_at=None)
        )
        await connection.execute(
            insert(task_deliveries).values(
                task_id=claim.task_id,
                attempt=claim.attempt,
                at=now,
                url=claim.url,
                status_code=result.status_code,
                error=result.error,
                duration_ms=duration_ms,
                outcome=result.outcome,
            )
        )
        if result.outcome == "gone":
            await connection.execute(
                _insert_ignore(db)(disabled_callbacks)
                .values(
                    account_id=claim.account_id,
                    url_hash=url_hash(claim.url),
                    url=claim.url,
                    disabled_at=now,
                    reason=f"answered 410 Gone to the callback of task {claim.task_id}",
                )
                .on_conflict_do_nothing(index_elements=["account_id", "url_hash"])
            )
    return bool(updated.rowcount)


# --- one delivery ---------------------------------------------------------------------------------


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def judge(response: CallbackResponse, now: datetime) -> Outcome:
    """What a receiver's answer means for this delivery."""
    status = response.status
    if 200 <= status < 300:
        return Outcome("delivered", status, None, retryable=False)
    if status == 410:
        return Outcome("gone", status, "410 Gone: callbacks to this URL are disabled", retryable=False)
    if 300 <= status < 400:
        where = response.headers.get("location", "?")
        message = (
            f"HTTP {status} redirect to {where}: redirects are not followed; "
            "set callback_url to the final URL"
        )
        return Outcome("retry", status, _clip(message))
    body = " ".join(response.text.split())
    message = f"HTTP {status}" + (f": {body}" if body else "")
    return Outcome(
        "retry", status, _clip(message), retry_after_seconds(response.headers.get("retry-after"), now)
    )


async def _attempt(
    db: Database, settings: TaskSettings, client: CallbackClient, claim: Claim
) -> tuple[Outcome, float | None]:
    disabled = await _disabled_since(db, claim.account_id, claim.url)
    if disabled is not None:
        message = (
            f"not sent: this callback URL answered 410 Gone at {disabled.isoformat()} and is disabled "
            "for the account; redeliver the task to re-enable it"
        )
        return Outcome("disabled", None, message, retryable=False), None
    body = encode_payload(
        callback_payload(claim.task_id, claim.status, claim.result, claim.error, claim.finished_at)
    )
    secrets = await active_secrets(db, claim.account_id)
    headers = signed_headers(secrets, claim.task_id, body, int(time.time()))
    started = time.perf_counter()
    try:
        response = await client.post(
            claim.url, headers, body, timeout_seconds=settings.callback_timeout_seconds
        )
    except CallbackBlocked as error:
        return Outcome("blocked", None, _clip(error.message)), None
    except CallbackUnresolvable as error:
        return Outcome("retry", None, _clip(error.message)), _elapsed(started)
    except InvalidCallbackUrl as error:  # malformed: no later attempt can succeed
        return Outcome("blocked", None, _clip(error.message), retryable=False), None
    except TimeoutError:
        message = f"no answer within {settings.callback_timeout_seconds:g} s"
        return Outcome("retry", None, message), _elapsed(started)
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.TimeoutException, OSError) as error:
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return Outcome("retry", None, _clip(message)), _elapsed(started)
    return judge(response, utc_now()), _elapsed(started)


def _elapsed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


async def deliver_one(db: Database, settings: TaskSettings, client: CallbackClient, claim: Claim) -> str:
    """Attempt one claimed callback and record it; returns the attempt's outcome."""
    result, duration_ms = await _attempt(db, settings, client, claim)
    next_at: datetime | None = None
    if result.outcome == "delivered":
        status = "delivered"
    elif result.outcome in ("gone", "disabled"):
        status = "disabled"
    else:
        delay = retry_delay(settings.callback_schedule_seconds, claim.attempt, result.retry_after)
        if delay is None or not result.retryable:
            status = "failed"
            if result.outcome == "retry":
                result = Outcome("failed", result.status_code, result.error, retryable=False)
        else:
            status, next_at = "pending", utc_now() + timedelta(seconds=delay)
    if not await _record(db, claim, result, duration_ms, delivery_status=status, next_at=next_at):
        log.warning("callback of task %s: lease lapsed during attempt %d", claim.task_id, claim.attempt)
    level = logging.INFO if result.outcome == "delivered" else logging.WARNING
    log.log(level, "callback of task %s attempt %d: %s %s", claim.task_id, claim.attempt, result.outcome,
            result.error or result.status_code)  # fmt: skip
    return result.outcome


async def deliver_due(
    db: Database, settings: TaskSettings, client: CallbackClient, owner: str, limit: int = BATCH
) -> int:
    """Claim up to ``limit`` due callbacks and attempt them all at once; returns how many were claimed."""
    claims = await claim_due(db, limit, settings.callback_timeout_seconds + LEASE_MARGIN_SECONDS)
    if not claims:
        return 0
    outcomes = await asyncio.gather(
        *(deliver_one(db, settings, client, claim) for claim in claims), return_exceptions=True
    )
    for claim, outcome in zip(claims, outcomes, strict=True):
        if isinstance(outcome, Exception):
            # Its lease lapses and another pass retries it.
            log.error("deliverer %s: callback of task %s broke", owner, claim.task_id, exc_info=outcome)
        elif isinstance(outcome, BaseException):
            raise outcome
    return len(claims)


async def _pause(stop: asyncio.Event, wake: asyncio.Event | None, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    if wake is not None:
        wake.clear()


async def deliver_forever(
    db: Database, settings: TaskSettings, *, stop: asyncio.Event | None = None, owner: str,
    wake: asyncio.Event | None = None, batch: int = BATCH,
) -> None:  # fmt: skip
    """Deliver due callbacks until ``stop`` is set (or the task is cancelled).

    Polls every ``settings.poll_seconds``; setting ``wake`` (e.g. when a task with a callback
    finishes in this process) makes it look at once. Database errors are logged and retried
    with a growing pause, so a restarting database does not end deliveries.
    """
    stop = stop if stop is not None else asyncio.Event()
    client = CallbackClient(settings.callback_allow_networks)
    failures = 0
    try:
        while not stop.is_set():
            try:
                claimed = await deliver_due(db, settings, client, owner, batch)
                failures = 0
            except Exception:
                failures += 1
                claimed = 0
                log.exception("deliverer %s: could not deliver callbacks (failure %d)", owner, failures)
            if claimed >= batch:
                continue
            await _pause(stop, wake, min(30.0, settings.poll_seconds * 2 ** min(failures, 10)))
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(client.aclose())


# --- for the tasks API ----------------------------------------------------------------------------


async def redeliver(db: Database, account_id: str, task_id: str) -> bool:
    """Send a finished task's callback again now, with a fresh retry schedule.

    Re-enables the URL if a 410 had disabled it for the account. False when the task is not
    the account's or has no callback; InvalidRequest when it has not finished yet.
    """
    async with db.write() as connection:
        row = (
            await connection.execute(
                select(tasks.c.callback_url, tasks.c.status).where(
                    tasks.c.id == task_id, tasks.c.account_id == account_id
                )
            )
        ).first()
        if row is None or not row[0]:
            return False
        if row[1] not in _FINISHED:
            raise InvalidRequest(f"task {task_id} is still {row[1]}; its callback is sent when it finishes")
        await connection.execute(
            delete(disabled_callbacks).where(
                disabled_callbacks.c.account_id == account_id,
                disabled_callbacks.c.url_hash == url_hash(row[0]),
            )
        )
        await connection.execute(
            update(tasks)
            .where(tasks.c.id == task_id)
            .values(
                delivery_status="pending",
                next_delivery_at=utc_now(),
                delivery_attempts=0,
                delivery_lease_expires_at=None,
            )
        )
    return True


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    attempt: int
    at: datetime
    url: str
    status_code: int | None
    error: str | None
    duration_ms: float | None
    outcome: str

    def json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "at": iso_z(self.at, "milliseconds"),
            "url": self.url,
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "outcome": self.outcome,
        }


async def delivery_log(db: Database, task_id: str) -> list[DeliveryAttempt]:
    """A task's callback attempts, oldest first (the caller checks that the task is the account's)."""
    async with db.read() as connection:
        rows = await connection.execute(
            select(
                task_deliveries.c.attempt,
                task_deliveries.c.at,
                task_deliveries.c.url,
                task_deliveries.c.status_code,
                task_deliveries.c.error,
                task_deliveries.c.duration_ms,
                task_deliveries.c.outcome,
            )
            .where(task_deliveries.c.task_id == task_id)
            .order_by(task_deliveries.c.id)
        )
        return [
            DeliveryAttempt(row[0], as_utc(row[1]) or utc_now(), row[2], row[3], row[4], row[5], row[6])
            for row in rows
        ]
