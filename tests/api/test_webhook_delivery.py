"""Callback delivery against a real HTTP receiver on loopback, on SQLite and PostgreSQL.

Task rows are written straight into a fresh database, as the workers leave them when a task
finishes; the deliverer (tasks/delivery.py) takes it from there. The receiver is a real HTTP
server in a thread that answers scripted statuses, and every callback it records is checked
with the official ``standardwebhooks`` library. Also: the secret API and its error envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import make_url
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from shoal.auth.keys import KeySpec, create_key
from shoal.billing.accounts import create_account
from shoal.errors import InvalidRequest
from shoal.services import Services
from shoal.settings import TaskSettings
from shoal.storage.db.database import Database, open_database
from shoal.storage.db.tables import disabled_callbacks, task_deliveries, tasks
from shoal.tasks.delivery import (
    claim_due,
    deliver_due,
    deliver_forever,
    deliver_one,
    delivery_log,
    redeliver,
)
from shoal.tasks.secrets import account_secret, active_secrets, rotate
from shoal.tasks.webhooks import CallbackClient
from tests.webhook_receiver import Received, Receiver, Reply

pytestmark = pytest.mark.asyncio(loop_scope="session")

LOOPBACK = ["127.0.0.0/8"]
SETTINGS = TaskSettings(
    callback_timeout_seconds=1.0,
    callback_schedule_seconds=[0.05, 0.05],
    callback_allow_networks=LOOPBACK,
    poll_seconds=0.05,
)
SPEECH_RESULT = {
    "audio_url": "https://shoal.example/v1/files/abc?sig=x",
    "expires_at": "2026-12-08T00:00:00+00:00",
    "format": "mp3",
    "duration": 1.25,
    "sample_rate": 44100,
    "usage": {"characters": 11},
    "cost": "0.000011",
}

# --- the receiver ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


# --- databases and the deliverer ------------------------------------------------------------------


async def _admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url.replace("postgresql://", "postgres://"), timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite; for PostgreSQL the session's test database (its fixture is sync: resolved here)."""
    return None if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))


@pytest_asyncio.fixture
async def db_url(backend: str | None, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database of each backend (PostgreSQL: beside the session's test database)."""
    name = f"shoal_hooks_{uuid.uuid4().hex[:12]}"
    if backend is None:
        url = f"sqlite:///{tmp_path / 'tasks.db'}"
    else:
        await _admin(backend, f'CREATE DATABASE "{name}"')
        url = make_url(backend).set(database=name).render_as_string(hide_password=False)
    migrated = await open_database(url)
    await migrated.dispose()
    yield url
    if backend is not None:
        await _admin(backend, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = await open_database(db_url, run_migrations=False)
    yield database
    await database.dispose()


@pytest_asyncio.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(f"sqlite:///{tmp_path / 'tasks.db'}")
    yield database
    await database.dispose()


@pytest_asyncio.fixture
async def client() -> AsyncIterator[CallbackClient]:
    made = CallbackClient(LOOPBACK)
    yield made
    await made.aclose()


def account() -> str:
    return f"acct{uuid.uuid4().hex[:12]}"


async def add_task(
    db: Database, url: str | None, account_id: str, *, status: str = "succeeded",
    result: dict[str, Any] | None = None, error: str | None = None,
) -> str:  # fmt: skip
    """A task row as a worker leaves it when it finishes (callback pending, due now)."""
    task_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    finished = status in ("succeeded", "failed")
    async with db.write() as connection:
        await connection.execute(
            insert(tasks).values(
                id=task_id, account_id=account_id, key_id="key", kind="tts", surface="fish", model="s1",
                request=b"\x80", status=status, callback_url=url, created_at=now,
                finished_at=now if finished else None,
                result=json.dumps(result or SPEECH_RESULT) if status == "succeeded" else None,
                error=error, delivery_status="pending" if url and finished else None,
                next_delivery_at=now if url and finished else None,
            )
        )  # fmt: skip
    return task_id


async def task_row(db: Database, task_id: str) -> Any:
    async with db.read() as connection:
        return (await connection.execute(select(tasks).where(tasks.c.id == task_id))).mappings().one()


async def deliver(db: Database, client: CallbackClient, settings: TaskSettings = SETTINGS) -> int:
    return await deliver_due(db, settings, client, "test", 32)


async def verify(db: Database, account_id: str, received: Received) -> dict[str, Any]:
    secret = (await account_secret(db, account_id)).secret
    payload: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return payload


def outcomes(log: list[Any]) -> list[tuple[int, int | None, str]]:
    return [(entry.attempt, entry.status_code, entry.outcome) for entry in log]


# --- delivery ---------------------------------------------------------------------------------------


async def test_a_callback_is_signed_sent_once_and_logged(
    db: Database, client: CallbackClient, receiver: Receiver
) -> None:
    path, owner = receiver.path(), account()
    task_id = await add_task(db, receiver.url(path), owner)

    assert await deliver(db, client) == 1
    assert await deliver(db, client) == 0  # delivered: nothing due any more

    [request] = receiver.at(path)
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("Shoal-Webhooks/")
    assert request.headers["webhook-id"] == f"msg_{task_id}"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 10
    assert len(request.body) < 20_000
    payload = await verify(db, owner, request)
    assert payload == {
        "type": "task.succeeded",
        "timestamp": payload["timestamp"],
        "task_id": task_id,
        "status": "succeeded",
        **SPEECH_RESULT,
    }
    assert datetime.fromisoformat(payload["timestamp"]).tzinfo is not None

    row = await task_row(db, task_id)
    assert (row["delivery_status"], row["delivery_attempts"], row["delivery_lease_expires_at"]) == (
        "delivered", 1, None,
    )  # fmt: skip
    log = await delivery_log(db, task_id)
    assert outcomes(log) == [(1, 200, "delivered")]
    assert log[0].url == receiver.url(path)
    assert log[0].duration_ms is not None and log[0].duration_ms > 0


async def test_a_failed_task_says_why(db: Database, client: CallbackClient, receiver: Receiver) -> None:
    path, owner = receiver.path(), account()
    task_id = await add_task(db, receiver.url(path), owner, status="failed", error="engine failed: no voice")
    await deliver(db, client)
    payload = await verify(db, owner, receiver.at(path)[0])
    assert payload["type"] == "task.failed"
    assert payload["status"] == "failed"
    assert payload["error"] == "engine failed: no voice"
    assert payload["task_id"] == task_id
    assert "audio_url" not in payload


async def test_a_500_is_retried_with_the_same_webhook_id(
    db: Database, client: CallbackClient, receiver: Receiver
) -> None:
    path, owner = receiver.path(), account()
    receiver.script(path, Reply(500))
    task_id = await add_task(db, receiver.url(path), owner)

    before = datetime.now(UTC)
    assert await deliver(db, client) == 1
    row = await task_row(db, task_id)
    assert row["delivery_status"] == "pending"
    wait = (row["next_delivery_at"].replace(tzinfo=UTC) - before).total_seconds()
    assert 0.04 - 0.05 * 0.2 <= wait <= 0.5  # schedule[0] = 0.05 s, ±20 % jitter

    await asyncio.sleep(0.1)
    assert await deliver(db, client) == 1
    first, second = receiver.at(path)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{task_id}"
    assert await verify(db, owner, first) == await verify(db, owner, second)
    assert (await task_row(db, task_id))["delivery_status"] == "delivered"
    log = await delivery_log(db, task_id)
    assert outcomes(log) == [(1, 500, "retry"), (2, 200, "delivered")]
    assert log[0].error is not None and log[0].error.startswith("HTTP 500")


async def test_429_retry_after_is_honoured_when_longer(
    db: Database, client: CallbackClient, receiver: Receiver
) -> None:
    path, owner = receiver.path(), account()
    receiver.script(path, Reply(429, {"Retry-After": "1"}))
    task_id = await add_task(db, receiver.url(path), owner)

    assert await deliver(db, client) == 1
    due = (await task_row(db, task_id))["next_delivery_at"].replace(tzinfo=UTC)
    assert (due - datetime.now(UTC)).total_seconds() > 0.8  # not the schedule's 0.05 s
    await asyncio.sleep(0.2)
    assert await deliver(db, client) == 0
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.05)
    assert await deliver(db, client) == 1
    first, second = receiver.at(path)
    assert second.at - first.at >= 0.9
    assert outcomes(await delivery_log(db, task_id)) == [(1, 429, "retry"), (2, 200, "delivered")]


async def test_410_disables_the_url_for_that_account_until_redelivery(
    db: Database, client: CallbackClient, receiver: Receiver
) -> None:
    path, owner, other = receiver.path(), account(), account()
    url = receiver.url(path)
    receiver.script(path, Reply(410))
    gone = await add_task(db, url, owner)
    assert await deliver(db, client) == 1
    assert (await task_row(db, gone))["delivery_status"] == "disabled"
    assert outcomes(await delivery_log(db, gone)) == [(1, 410, "gone")]
    async with db.read() as connection:
        disabled = (await connection.execute(select(disabled_callbacks))).mappings().all()
    assert [(row["account_id"], row["url"]) for row in disabled] == [(owner, url)]

    # The same URL for the same account is not called again; another account's task still is.
    skipped = await add_task(db, url, owner)
    theirs = await add_task(db, url, other)
    assert await deliver(db, client) == 2
    assert len(receiver.at(path)) == 2
    assert await verify(db, other, receiver.at(path)[1]) is not None
    assert (await task_row(db, skipped))["delivery_status"] == "disabled"
    [entry] = await delivery_log(db, skipped)
    assert (entry.outcome, entry.status_code) == ("disabled", None)
    assert entry.error is not None and "redeliver" in entry.error
    assert (await task_row(db, theirs))["delivery_status"] == "delivered"

    # Redelivery re-enables the URL and restarts the schedule.
    assert await redeliver(db, owner, gone)
    assert await deliver(db, client) == 1
    assert (await task_row(db, gone))["delivery_status"] == "delivered"
    assert outcomes(await delivery_log(db, gone)) == [(1, 410, "gone"), (1, 200, "delivered")]
    assert receiver.at(path)[-1].headers["webhook-id"] == f"msg_{gone}"
    assert await redeliver(db, owner, skipped)
    assert await deliver(db, client) == 1
    assert len(receiver.at(path)) == 4


async def test_redeliver_is_for_the_owner_of_a_finished_task_with_a_callback(
    db: Database, client: CallbackClient, receiver: Receiver
) -> None:
    path, owner = receiver.path(), account()
    task_id = await add_task(db, receiver.url(path), owner)
    await deliver(db, client)
    assert not await redeliver(db, account(), task_id)  # someone else's
    assert not await redeliver(db, owner, uuid.uuid4().hex)  # no such task
    assert not await redeliver(db, owner, await add_task(db, None, owner))  # no callback
    with pytest.raises(InvalidRequest, match="still queued"):
        await redeliver(db, owner, await add_task(db, receiver.url(path), owner, status="queued"))
    assert len(receiver.at(path)) == 1
    assert await redeliver(db, owner, task_id)
    assert await deliver(db, client) == 1
    first, again = receiver.at(path)
    assert first.headers["webhook-id"] == again.headers["webhook-id"]


async def test_the_schedule_runs_out_and_delivery_fails(
    db: Database, client: CallbackClient, receiver: Receiver
) -> None:
    path, owner = receiver.path(), account()
    receiver.script(path, Reply(503), Reply(400), Reply(500), Reply(200))
    task_id = await add_task(db, receiver.url(path), owner)
    for _ in range(3):
        assert await deliver(db, client) == 1
        await asyncio.sleep(0.08)
    assert await deliver(db, client) == 0
    assert (await task_row(db, task_id))["delivery_status"] == "failed"
    # Other 4xx are retried too (the receiver may be fixed); 1 try + 2 retries in the schedule.
    assert outcomes(await delivery_log(db, task_id)) == [
        (1, 503, "retry"),
        (2, 400, "retry"),
        (3, 500, "failed"),
    ]
    assert len(receiver.at(path)) == 3


async def test_replicas_never_send_one_callback_twice(db_url: str, receiver: Receiver) -> None:
    """Four replicas (engines and pools of their own on one database) drain 80 callbacks in small,
    contended claims: each callback arrives exactly once and is logged once."""
    path, count = receiver.path("race"), 80
    replicas = [await open_database(db_url, run_migrations=False) for _ in range(4)]
    clients = [CallbackClient(LOOPBACK) for _ in replicas]
    try:
        ids = {await add_task(replicas[0], receiver.url(path), account()) for _ in range(count)}
        claimed = [0] * len(replicas)

        async def pending() -> int:
            async with replicas[0].read() as connection:
                query = select(func.count()).select_from(tasks).where(tasks.c.delivery_status == "pending")
                return int((await connection.execute(query)).scalar_one())

        async def run(index: int) -> None:
            while await pending():
                done = await deliver_due(replicas[index], SETTINGS, clients[index], f"replica-{index}", 2)
                claimed[index] += done
                await asyncio.sleep(0 if done else 0.01)

        await asyncio.wait_for(asyncio.gather(*(run(index) for index in range(len(replicas)))), 60)
        async with replicas[0].read() as connection:
            query = select(task_deliveries.c.outcome, task_deliveries.c.error)
            log = [tuple(row) for row in await connection.execute(query)]
        assert [entry for entry in log if entry[0] != "delivered"] == []
        webhook_ids = [request.headers["webhook-id"] for request in receiver.at(path)]
        assert sorted(webhook_ids) == sorted(f"msg_{task_id}" for task_id in ids)
        assert sum(claimed) == count
        assert sum(1 for n in claimed if n) >= 2, claimed  # the work was shared
        async with replicas[0].read() as connection:
            attempts = (await connection.execute(select(func.count()).select_from(task_deliveries))).scalar()
            delivered = (
                await connection.execute(
                    select(func.count()).select_from(tasks).where(tasks.c.delivery_status == "delivered")
                )
            ).scalar()
        assert (attempts, delivered) == (count, count)
    finally:
        for made in clients:
            await made.aclose()
        for replica in replicas:
            await replica.dispose()


async def test_a_dead_deliverers_claim_lapses_and_its_late_outcome_is_fenced_off(
    db: Database, client: CallbackClient, receiver: Receiver
) -> None:
    path, owner = receiver.path(), account()
    task_id = await add_task(db, receiver.url(path), owner)
    [stale] = await claim_due(db, 10, 60.0)  # a deliverer that then dies mid-flight
    assert await deliver(db, client) == 0  # leased: nobody else sends it meanwhile

    async with db.write() as connection:  # ...until the lease lapses
        await connection.execute(
            update(tasks)
            .where(tasks.c.id == task_id)
            .values(delivery_lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert await deliver(db, client) == 1
    row = await task_row(db, task_id)
    assert (row["delivery_status"], row["delivery_attempts"]) == ("delivered", 2)

    # The first deliverer comes back and finishes its attempt: at least once, same webhook-id,
    # and its outcome no longer changes the task (its lease is not the one on the row).
    receiver.script(path, Reply(500))
    assert await deliver_one(db, SETTINGS, client, stale) == "retry"
    assert (await task_row(db, task_id))["delivery_status"] == "delivered"
    assert {request.headers["webhook-id"] for request in receiver.at(path)} == {f"msg_{task_id}"}


async def test_rotation_signs_with_both_secrets_during_the_grace(
    db: Database, client: CallbackClient, receiver: Receiver
) -> None:
    path, owner = receiver.path(), account()
    old = (await account_secret(db, owner)).secret
    rotated = await rotate(db, owner, 60.0)
    assert rotated.secret != old and rotated.previous_secret == old
    assert rotated.previous_expires_at is not None
    assert await active_secrets(db, owner) == [rotated.secret, old]
    await add_task(db, receiver.url(path), owner)
    await deliver(db, client)
    request = receiver.at(path)[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, rotated.secret):
        assert Webhook(secret).verify(request.body, request.headers)["status"] == "succeeded"

    newest = await rotate(db, owner, 0)  # no grace: the previous secret stops signing at once
    assert newest.previous_secret is None and newest.previous_expires_at is None
    await add_task(db, receiver.url(path), owner)
    await deliver(db, client)
    request = receiver.at(path)[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    Webhook(newest.secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(rotated.secret).verify(request.body, request.headers)


async def test_a_secret_is_created_once_under_concurrency(db_url: str) -> None:
    engines = [await open_database(db_url, run_migrations=False) for _ in range(3)]
    try:
        owner = account()
        found = await asyncio.gather(*(account_secret(engines[i % 3], owner) for i in range(12)))
        assert len({item.secret for item in found}) == 1
        assert found[0].secret.startswith("whsec_")
    finally:
        for engine in engines:
            await engine.dispose()


# --- transport (SQLite is enough: nothing here touches the database's dialect) ---------------------


async def test_redirects_are_not_followed(
    sqlite_db: Database, client: CallbackClient, receiver: Receiver
) -> None:
    path, target = receiver.path("moved"), receiver.path("target")
    receiver.script(path, Reply(302, {"Location": receiver.url(target)}))
    task_id = await add_task(sqlite_db, receiver.url(path), account())
    await deliver(sqlite_db, client)
    assert receiver.at(target) == []
    [entry] = await delivery_log(sqlite_db, task_id)
    assert (entry.status_code, entry.outcome) == (302, "retry")
    assert entry.error is not None and "redirects are not followed" in entry.error
    assert receiver.url(target) in entry.error


async def test_slow_and_unreachable_receivers_are_retried(
    sqlite_db: Database, client: CallbackClient, receiver: Receiver
) -> None:
    path = receiver.path("slow")
    receiver.script(path, Reply(delay=2.0))
    fast = TaskSettings(**{**SETTINGS.model_dump(), "callback_timeout_seconds": 0.3})
    slow = await add_task(sqlite_db, receiver.url(path), account())
    with socket_nobody_listens() as port:
        refused = await add_task(sqlite_db, f"http://127.0.0.1:{port}/hook", account())
        started = time.monotonic()
        assert await deliver(sqlite_db, client, fast) == 2
    assert time.monotonic() - started < 1.5
    [timed_out] = await delivery_log(sqlite_db, slow)
    assert (timed_out.outcome, timed_out.status_code) == ("retry", None)
    assert timed_out.error == "no answer within 0.3 s"
    [no_connection] = await delivery_log(sqlite_db, refused)
    assert no_connection.outcome == "retry"
    assert no_connection.error is not None and "ConnectError" in no_connection.error
    assert (await task_row(sqlite_db, refused))["delivery_status"] == "pending"


@contextlib.contextmanager
def socket_nobody_listens() -> Iterator[int]:
    """A loopback port that is bound but not listening: connections to it are refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield int(bound.getsockname()[1])


async def test_internal_addresses_are_blocked_at_delivery(sqlite_db: Database, receiver: Receiver) -> None:
    """Without the loopback allowlist, the deliverer refuses to connect (as it would after DNS rebinding)."""
    path = receiver.path("internal")
    task_id = await add_task(sqlite_db, receiver.url(path), account())
    strict = CallbackClient()
    try:
        assert await deliver(sqlite_db, strict) == 1
    finally:
        await strict.aclose()
    assert receiver.at(path) == []
    [entry] = await delivery_log(sqlite_db, task_id)
    assert entry.outcome == "blocked"
    assert entry.error is not None and "loopback" in entry.error
    assert (await task_row(sqlite_db, task_id))["delivery_status"] == "pending"  # DNS may change


async def test_a_host_name_is_connected_to_by_its_vetted_address(
    sqlite_db: Database, client: CallbackClient, receiver: Receiver
) -> None:
    path, owner = receiver.path("named"), account()
    await add_task(sqlite_db, f"http://localhost:{receiver.port}{path}", owner)
    assert await deliver(sqlite_db, client) == 1
    [request] = receiver.at(path)
    assert request.headers["host"] == f"localhost:{receiver.port}"  # the name, though we dialled 127.0.0.1
    await verify(sqlite_db, owner, request)


async def test_an_ipv6_literal_callback_keeps_its_brackets_in_host(sqlite_db: Database) -> None:
    try:
        receiver = Receiver("::1")
    except OSError as error:  # a host without IPv6 loopback
        pytest.skip(f"no IPv6 loopback: {error}")
    client = CallbackClient(["::1/128"])
    try:
        path, owner = receiver.path("v6"), account()
        await add_task(sqlite_db, receiver.url(path), owner)
        assert await deliver(sqlite_db, client) == 1
        [request] = receiver.at(path)
        assert request.headers["host"] == f"[::1]:{receiver.port}"
        await verify(sqlite_db, owner, request)
    finally:
        await client.aclose()
        receiver.close()


async def test_deliver_forever_wakes_and_stops(sqlite_db: Database, receiver: Receiver) -> None:
    path = receiver.path("forever")
    slow_poll = TaskSettings(**{**SETTINGS.model_dump(), "poll_seconds": 30.0})
    stop, wake = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(deliver_forever(sqlite_db, slow_poll, stop=stop, owner="test", wake=wake))
    try:
        await asyncio.sleep(0.1)
        await add_task(sqlite_db, receiver.url(path), account())
        wake.set()  # a poll every 30 s would be far too late; the wake-up is not
        for _ in range(250):
            if receiver.at(path):
                break
            await asyncio.sleep(0.02)
        assert len(receiver.at(path)) == 1
    finally:
        stop.set()
        await asyncio.wait_for(running, 5)


# --- the secret API -------------------------------------------------------------------------------


async def _key_for_new_account(services: Services) -> tuple[str, str]:
    owner = await create_account(services.db, name=f"hooks-{uuid.uuid4().hex[:6]}", prepaid=False)
    return owner.id, (await create_key(services.db, KeySpec(name="hooks", account_id=owner.id)))[1]


async def test_the_secret_api_reads_and_rotates_the_callers_account_secret(
    app: FastAPI, services: Services
) -> None:
    owner, key = await _key_for_new_account(services)
    _, someone_else = await _key_for_new_account(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shoal.test") as http:
        auth = {"Authorization": f"Bearer {key}"}
        first = (await http.get("/v1/webhooks/secret", headers=auth)).json()
        assert first["object"] == "webhook_secret"
        assert first["secret"].startswith("whsec_")
        assert first["previous_secret_expires_at"] is None
        assert (await http.get("/v1/webhooks/secret", headers=auth)).json()["secret"] == first["secret"]
        assert first["secret"] == (await account_secret(services.db, owner)).secret

        theirs = await http.get("/v1/webhooks/secret", headers={"Authorization": f"Bearer {someone_else}"})
        assert theirs.json()["secret"] != first["secret"]

        rotated = await http.post("/v1/webhooks/secret/rotate", headers=auth)
        assert rotated.status_code == 200
        body = rotated.json()
        assert body["secret"] != first["secret"]
        grace = services.settings.tasks.secret_rotation_grace_seconds
        expires = datetime.fromisoformat(body["previous_secret_expires_at"])
        assert abs((expires - datetime.now(UTC)).total_seconds() - grace) < 60
        assert await active_secrets(services.db, owner) == [body["secret"], first["secret"]]

        anonymous = await http.get("/v1/webhooks/secret")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["type"] == "authentication_error"  # the OpenAI envelope
        wrong_method = await http.get("/v1/webhooks/secret/rotate", headers=auth)
        assert wrong_method.status_code == 405
        assert "error" in wrong_method.json()
