"""Crash proof for asynchronous tasks (issue 8, item 7), with real ``shoal serve`` processes.

One ``kill -9`` lands while a task's callback is in flight to a receiver that is slow to
answer, two long tasks are running and seven are queued. The server is restarted on the same
data dir and port; then every task has succeeded exactly once (one usage record each, one
outcome in every callback), every callback arrived signed (checked with ``standardwebhooks``)
under a ``webhook-id`` that never changes, the prepaid account paid exactly the tasks' prices
(although the client, unsure what the crash lost, submitted every task again with its
``Idempotency-Key``), and every audio URL plays. A task routed to an upstream that is down fails, its hold is
refunded, and its callback says why. A task whose credit hold lapsed while it waited for a
worker (``shoal worker``, here) is held again and paid for, not served free.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from standardwebhooks import Webhook

from shoal.billing.money import to_nanos
from shoal.billing.pricing import PriceList
from shoal.settings import BillingSettings
from shoal.storage.db.database import open_database
from tests.audio_checks import assert_speech, decode
from tests.conftest import SHOAL, cli_create_key, free_port, launch, stop
from tests.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.e2e

SERVER_ENV = {
    "SHOAL_BOOTSTRAP_KEY": "never",
    "SHOAL_STT__PRELOAD": "false",  # nothing here transcribes
    "SHOAL_TASKS__CALLBACK_ALLOW_NETWORKS": json.dumps(["127.0.0.0/8"]),
    # A dead worker's task is taken over 3 s after its last renewal, not 30.
    "SHOAL_TASKS__LEASE_SECONDS": "3",
    "SHOAL_TASKS__POLL_SECONDS": "0.2",
    # A callback in flight when its deliverer died goes out again once its delivery lease
    # (this timeout + 10 s) lapses.
    "SHOAL_TASKS__CALLBACK_TIMEOUT_SECONDS": "5",
}

LONG_TEXT = " ".join(
    f"Part {n} of a long task, which is still being spoken when the server is killed." for n in (1, 2, 3, 4)
)
"""About 330 characters: a few seconds of synthesis here, so the kill finds it running."""

PRICES = PriceList(BillingSettings())

# -- helpers shared with test_tasks_replicas.py ---------------------------------------


def query(db_url: str, sql: str, **params: Any) -> list[Any]:
    """Rows straight from the server's database (SQLite file or PostgreSQL)."""

    async def run() -> list[Any]:
        db = await open_database(db_url, run_migrations=False)
        try:
            async with db.read() as connection:
                return list((await connection.execute(text(sql), params)).all())
        finally:
            await db.dispose()

    return asyncio.run(run())


def credit(http: httpx.Client) -> Decimal:
    """The prepaid balance, Fish's way."""
    response = http.get("/wallet/self/api-credit")
    assert response.status_code == 200, response.text
    return Decimal(response.json()["credit"])


def finished(http: httpx.Client, task_id: str, within: float = 90) -> dict[str, Any]:
    """Poll a task until it has succeeded or failed."""
    deadline = time.monotonic() + within
    while True:
        response = http.get(f"/v1/tasks/{task_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("succeeded", "failed"):
            return body
        assert time.monotonic() < deadline, f"task {task_id} still {body['status']}"
        time.sleep(0.05)


def verified(secret: str, task_id: str, requests: list[Any]) -> dict[str, Any]:
    """The one payload every callback of a task carried, each signature checked, the id stable."""
    payloads = []
    for request in requests:
        assert request.headers["webhook-id"] == f"msg_{task_id}"
        payloads.append(Webhook(secret).verify(request.body, request.headers))
    assert {request.body for request in requests} == {requests[0].body}, "a redelivery changed the body"
    payload: dict[str, Any] = payloads[0]
    assert payload["task_id"] == task_id
    return payload


def list_price_nanos(model: str, text: str) -> int:
    return PRICES.quote("tts", model, len(text.encode()), 0).cost_nanos


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def _submit(http: httpx.Client, body: dict[str, Any], headers: dict[str, str] | None = None) -> str:
    response = http.post("/v1/tts", json=body, headers=headers)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["task_id"]
    return task_id


# -- 1: kill -9 with a callback in flight, tasks running and tasks queued ------------


def test_kill_9_mid_work_and_mid_delivery_loses_nothing_and_charges_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    key = cli_create_key(tmp_path, "--name", "crash", "--credits", "1")
    db_url = f"sqlite:///{(tmp_path / 'shoal.db').resolve()}"
    texts = (
        ["First, and quickly done."] + [LONG_TEXT] * 2 + [f"Queued task number {n}." for n in range(3, 10)]
    )
    paths = [receiver.path(f"crash{n}") for n in range(len(texts))]
    # The first task's callback finds a receiver that takes 30 s to answer: the kill lands mid-POST.
    receiver.script(paths[0], Reply(delay=30))
    bodies = [
        {"text": t, "format": "mp3", "callback_url": receiver.url(p)}
        for t, p in zip(texts, paths, strict=True)
    ]
    keys = [str(uuid.uuid4()) for _ in texts]
    port = free_port()

    base_url, process, log = launch(tmp_path, env=SERVER_ENV, port=port)
    try:
        with httpx.Client(base_url=base_url, headers=key.headers, timeout=30) as http:
            secret = http.get("/v1/webhooks/secret").json()["secret"]
            before = credit(http)
            ids = [_submit(http, body, {"Idempotency-Key": k}) for body, k in zip(bodies, keys, strict=True)]
        # Workers take tasks oldest first: the first is done at once and its callback is sent;
        # the two long ones run; the rest wait.
        receiver.wait(paths[0], timeout=30)
    finally:
        process.kill()  # SIGKILL: no shutdown, no cleanup
        process.wait()
    killed_at = datetime.now(UTC)
    log.rename(tmp_path / "killed-server.log")

    base_url, process, log = launch(tmp_path, env=SERVER_ENV, port=port)
    try:
        with httpx.Client(base_url=base_url, headers=key.headers, timeout=30) as http:
            # The client cannot know which submissions the crash lost, so it sends them all
            # again with their Idempotency-Keys: each answer names the task already made.
            again = [
                _submit(http, body, {"Idempotency-Key": k}) for body, k in zip(bodies, keys, strict=True)
            ]
            assert again == ids
            tasks = [finished(http, task_id) for task_id in ids]
            assert [task["status"] for task in tasks] == ["succeeded"] * len(ids), [t["error"] for t in tasks]

            # Every callback arrived, signed, each task's under one webhook-id. The first went
            # out twice: the kill cut its first POST short, so the server never saw it answered.
            for n, (task_id, path, task) in enumerate(zip(ids, paths, tasks, strict=True)):
                arrived = receiver.wait(path, count=2 if n == 0 else 1, timeout=60)
                payload = verified(secret, task_id, arrived)
                assert (payload["type"], payload["status"]) == ("task.succeeded", "succeeded")
                assert payload["audio_url"] == task["result"]["audio_url"]
                assert "error" not in payload
            first = http.get(f"/v1/tasks/{ids[0]}").json()["delivery"]
            assert first["status"] == "delivered"
            # The killed attempt left no record; the one after the restart is attempt 2.
            assert [(e["attempt"], e["outcome"]) for e in first["log"]] == [(2, "delivered")], first
            after = credit(http)
            audio = [httpx.get(task["result"]["audio_url"], timeout=30) for task in tasks]
    except AssertionError:
        print(log.read_text()[-6000:])
        raise
    finally:
        stop(process)

    # The kill found what it was meant to find: the first task done, the two long ones
    # running (each run again after the restart), the rest still queued.
    runs = {
        row.id: row for row in query(db_url, "SELECT id, run_attempts, started_at, finished_at FROM tasks")
    }

    def moment(value: Any) -> datetime:
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return parsed.replace(tzinfo=parsed.tzinfo or UTC)

    assert moment(runs[ids[0]].finished_at) < killed_at and runs[ids[0]].run_attempts == 1
    for task_id in ids[1:3]:
        assert runs[task_id].run_attempts == 2 and moment(runs[task_id].started_at) < killed_at
    for task_id in ids[3:]:
        assert runs[task_id].run_attempts == 1 and moment(runs[task_id].started_at) > killed_at

    # Charged once: one usage record per task (request_id is the task id), at list price,
    # and the balance fell by exactly the tasks' costs. No hold is left open.
    usage = query(
        db_url,
        "SELECT request_id, COUNT(*) AS n, SUM(cost_nanos) AS cost, MIN(outcome) AS outcome "
        "FROM usage_records WHERE key_id = :k GROUP BY request_id",
        k=key.key_id,
    )
    assert {row.request_id: (row.n, row.outcome) for row in usage} == dict.fromkeys(ids, (1, "completed"))
    priced = {
        task_id: list_price_nanos(task["model"], t)
        for task_id, task, t in zip(ids, tasks, texts, strict=True)
    }
    assert {row.request_id: row.cost for row in usage} == priced
    assert {task["id"]: to_nanos(str(task["result"]["cost"])) for task in tasks} == priced
    assert to_nanos(str(before - after)) == sum(priced.values())
    assert query(db_url, "SELECT COUNT(*) FROM holds WHERE key_id = :k", k=key.key_id)[0][0] == 0

    for response, t in zip(audio, texts, strict=True):
        assert response.status_code == 200
        decoded = decode(response.content)
        assert decoded.codec.startswith("mp3")
        assert_speech(decoded, min_seconds=0.8 if len(t) < 50 else 10, max_seconds=60)


# -- 2: an upstream that is down ------------------------------------------------------


def test_a_task_on_a_dead_upstream_fails_is_refunded_and_its_callback_says_why(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = tmp_path / "shoal.toml"
    config.write_text(
        f"""
[upstreams.nowhere]
kind = "fish"
base_url = "http://127.0.0.1:{free_port()}"
connect_timeout_seconds = 0.5
max_retries = 0

[tts.models.faraway]
deployments = [{{upstream = "nowhere", model = "s2-pro"}}]
"""
    )
    key = cli_create_key(tmp_path, "--name", "dead-upstream", "--credits", "1")
    db_url = f"sqlite:///{(tmp_path / 'shoal.db').resolve()}"
    path = receiver.path("dead")
    base_url, process, log = launch(tmp_path, "--config", str(config), env=SERVER_ENV)
    try:
        with httpx.Client(base_url=base_url, headers=key.headers, timeout=30) as http:
            secret = http.get("/v1/webhooks/secret").json()["secret"]
            before = credit(http)
            body = {"text": "Nobody is there to speak this.", "callback_url": receiver.url(path)}
            task_id = _submit(http, body, {"model": "faraway"})
            task = finished(http, task_id)
            [callback] = receiver.wait(path, timeout=30)
            after = credit(http)
    except AssertionError:
        print(log.read_text()[-6000:])
        raise
    finally:
        stop(process)

    assert task["status"] == "failed" and task["result"] is None, task
    assert "faraway" in task["error"] and "unavailable" in task["error"], task["error"]
    payload = verified(secret, task_id, [callback])
    assert (payload["type"], payload["status"], payload["error"]) == ("task.failed", "failed", task["error"])
    assert "audio_url" not in payload

    # The hold was released in full: nothing charged, nothing left held.
    assert after == before
    usage = query(
        db_url, "SELECT request_id, cost_nanos, outcome FROM usage_records WHERE key_id = :k", k=key.key_id
    )
    assert [(row.request_id, row.cost_nanos, row.outcome) for row in usage] == [(task_id, 0, "failed")]
    assert query(db_url, "SELECT COUNT(*) FROM holds WHERE key_id = :k", k=key.key_id)[0][0] == 0


# -- 3: a hold that lapses while its task waits ---------------------------------------


def test_a_task_whose_hold_lapsed_in_the_queue_is_not_served_free(tmp_path: Path) -> None:
    key = cli_create_key(tmp_path, "--name", "lapsed", "--credits", "1")
    db_url = f"sqlite:///{(tmp_path / 'shoal.db').resolve()}"
    env = {
        **SERVER_ENV,
        "SHOAL_TASKS__WORKERS": "0",  # this process only queues; `shoal worker` runs the task later
        "SHOAL_TASKS__HOLD_TTL_SECONDS": "1",
        "SHOAL_BILLING__HOLD_TTL_SECONDS": "3",  # expired holds are swept every second
    }
    base_url, process, _ = launch(tmp_path, env=env)
    worker: subprocess.Popen[str] | None = None
    try:
        with httpx.Client(base_url=base_url, headers=key.headers, timeout=30) as http:
            before = credit(http)
            text_ = "Queued for longer than its hold lasts."
            task_id = _submit(http, {"text": text_, "format": "wav", "async": True})
            deadline = time.monotonic() + 30
            while query(db_url, "SELECT COUNT(*) FROM holds WHERE key_id = :k", k=key.key_id)[0][0]:
                assert time.monotonic() < deadline, "the lapsed hold was never swept"
                time.sleep(0.1)
            with (tmp_path / "worker.log").open("w") as sink:
                worker = subprocess.Popen(
                    [SHOAL, "worker", "--data-dir", str(tmp_path)],
                    env={**os.environ, **env, "SHOAL_TASKS__WORKERS": "2"},
                    stdout=sink, stderr=subprocess.STDOUT, text=True,
                )  # fmt: skip
            task = finished(http, task_id, within=60)
            after = credit(http)
    finally:
        if worker is not None:
            stop(worker)
        stop(process)
    usage = query(db_url, "SELECT COUNT(*) FROM usage_records WHERE request_id = :t", t=task_id)[0][0]
    if task["status"] == "succeeded":
        # Served: then it is paid for, as its result says.
        cost = Decimal(str(task["result"]["cost"]))
        assert cost == Decimal(list_price_nanos(task["model"], text_)) / 10**9
        assert (before - after, usage) == (cost, 1), (before, after, usage)
    else:
        # Or refused, saying why, and free.
        assert "hold" in (task["error"] or "") and after == before
