"""Replicas share one queue (issue 8, items 2 and 7): two ``shoal serve`` processes on one
PostgreSQL database and one Redis.

* They drain 100 short tasks submitted to both: both replicas' workers claim tasks, yet none
  runs twice (``run_attempts`` is 1 for every task, each has exactly one usage record), all
  succeed, every callback arrives once, signed, the account pays each task once, and every
  audio link plays on the replica it was not submitted to.
* One replica is killed (``kill -9``) while its workers hold tasks: the other takes them over
  once their leases lapse and finishes everything, each task charged once and called back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from subprocess import Popen

import httpx
import pytest
from sqlalchemy import text

from shoal.billing.money import to_nanos
from shoal.storage.db.database import open_database
from tests.audio_checks import assert_speech, decode
from tests.conftest import Key, cli_create_key, launch, stop
from tests.e2e.test_tasks_crash import SERVER_ENV, credit, list_price_nanos, query, verified
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

TASKS = 100


@dataclass
class Replicas:
    urls: list[str]
    processes: list[Popen[str]]
    dirs: list[Path]
    env: dict[str, str]
    db_url: str
    keys: dict[str, Key]
    """A prepaid key (its own account) per test, so each test's books are its own."""

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def logs(self) -> str:
        return "\n".join(log.read_text()[-3000:] for d in self.dirs for log in d.glob("server-*.log"))


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Iterator[Replicas]:
    env = {**SERVER_ENV, "SHOAL_DATABASE_URL": postgres_url, "SHOAL_REDIS_URL": redis_url}
    dirs = [tmp_path_factory.mktemp(f"tasks-replica-{name}") for name in ("a", "b")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        launches = [pool.submit(launch, data_dir, env=env) for data_dir in dirs]
    deployment = Replicas([], [], dirs, env, postgres_url, {})
    deployment.processes = [future.result()[1] for future in launches if future.exception() is None]
    try:
        deployment.urls = [future.result()[0] for future in launches]  # raises if one did not start
        # Made once the first launch has created the schema.
        with ThreadPoolExecutor(max_workers=2) as pool:
            made = {
                name: pool.submit(
                    cli_create_key, dirs[0], "--name", f"tasks-{name}", "--credits", "1", env=env
                )
                for name in ("drain", "kill")
            }
        deployment.keys = {name: future.result() for name, future in made.items()}
        yield deployment
    finally:
        for process in deployment.processes:
            stop(process)


def _watch_lease_owners(db_url: str, account_id: str, done: threading.Event, seen: set[str]) -> None:
    """Note whose leases running tasks hold until ``done`` (owner: ``host:pid:…``); in a thread."""

    async def watch() -> None:
        db = await open_database(db_url, run_migrations=False)
        try:
            while not done.is_set():
                async with db.read() as connection:
                    owners = await connection.execute(
                        text("SELECT lease_owner FROM tasks WHERE account_id = :a AND status = 'running'"),
                        {"a": account_id},
                    )
                    seen.update(owner.split(":")[1] for owner in owners.scalars() if owner)
                await asyncio.sleep(0.02)
        finally:
            await db.dispose()

    asyncio.run(watch())


def submit_all(clients: list[httpx.Client], texts: list[str], callback_url: str) -> list[str]:
    """Submit ``texts`` as tasks, alternately to each replica, 8 at a time."""

    def submit(n: int) -> str:
        body = {"text": texts[n], "format": "wav", "callback_url": callback_url}
        response = clients[n % len(clients)].post("/v1/tts", json=body)
        assert response.status_code == 200, response.text
        task_id: str = response.json()["task_id"]
        return task_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(submit, range(len(texts))))


def all_finished(db_url: str, key: Key, count: int, within: float = 180) -> None:
    """Poll the database until the account's ``count`` tasks have finished; all must have succeeded."""
    deadline = time.monotonic() + within
    while True:
        statuses = dict(
            query(
                db_url,
                "SELECT status, COUNT(*) FROM tasks WHERE account_id = :a GROUP BY status",
                a=key.account_id,
            )
        )
        if statuses.get("succeeded", 0) + statuses.get("failed", 0) == count:
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.1)
    assert statuses == {"succeeded": count}, statuses


def callbacks(receiver: Receiver, path: str, secret: str, ids: list[str]) -> dict[str, dict[str, object]]:
    """Each task's callback payload, once every task's has arrived (signed, its webhook-id stable)."""
    deadline = time.monotonic() + 60
    while not {f"msg_{task_id}" for task_id in ids} <= {r.headers["webhook-id"] for r in receiver.at(path)}:
        assert time.monotonic() < deadline, "callbacks missing"
        time.sleep(0.05)
    time.sleep(0.5)  # room for a duplicate to show up
    arrived: dict[str, list[object]] = {}
    for request in receiver.at(path):
        arrived.setdefault(request.headers["webhook-id"].removeprefix("msg_"), []).append(request)
    assert set(arrived) == set(ids)
    payloads = {task_id: verified(secret, task_id, requests) for task_id, requests in arrived.items()}
    assert {payload["status"] for payload in payloads.values()} == {"succeeded"}
    return payloads


def assert_charged_once(db_url: str, key: Key, ids: list[str], texts: list[str], spent: Decimal) -> None:
    """One usage record per task at its list price; the balance fell by exactly their sum; no hold left."""
    models = dict(query(db_url, "SELECT id, model FROM tasks WHERE account_id = :a", a=key.account_id))
    usage = query(
        db_url,
        "SELECT request_id, COUNT(*) AS n, SUM(cost_nanos) AS cost FROM usage_records "
        "WHERE key_id = :k GROUP BY request_id",
        k=key.key_id,
    )
    priced = {task_id: list_price_nanos(models[task_id], t) for task_id, t in zip(ids, texts, strict=True)}
    assert {row.request_id: (row.n, row.cost) for row in usage} == {
        task_id: (1, cost) for task_id, cost in priced.items()
    }
    assert to_nanos(str(spent)) == sum(priced.values())
    assert query(db_url, "SELECT COUNT(*) FROM holds WHERE key_id = :k", k=key.key_id)[0][0] == 0


def run_attempts(db_url: str, key: Key) -> dict[str, int]:
    return dict(query(db_url, "SELECT id, run_attempts FROM tasks WHERE account_id = :a", a=key.account_id))


def test_two_replicas_drain_100_tasks_and_run_none_twice(replicas: Replicas) -> None:
    key = replicas.keys["drain"]
    receiver = Receiver()
    path = receiver.path("drain")
    texts = [f"Task number {n}." for n in range(TASKS)]
    clients = [httpx.Client(base_url=url, headers=key.headers, timeout=60) for url in replicas.urls]
    done = threading.Event()
    owners: set[str] = set()
    watcher = threading.Thread(
        target=_watch_lease_owners, args=(replicas.db_url, key.account_id, done, owners), daemon=True
    )
    try:
        secret = clients[0].get("/v1/webhooks/secret").json()["secret"]
        before = credit(clients[0])
        watcher.start()
        ids = submit_all(clients, texts, receiver.url(path))
        all_finished(replicas.db_url, key, TASKS)
        done.set()
        watcher.join()

        # Every callback arrives once (nothing crashed, so a second one would mean two
        # deliverers took the same callback), signed, under its task's webhook-id.
        payloads = callbacks(receiver, path, secret, ids)
        assert len(receiver.at(path)) == TASKS
        after = credit(clients[1])

        # The audio is in the shared database: each link plays on the replica it was not submitted to.
        for n, task_id in enumerate(ids):
            audio_url = str(payloads[task_id]["audio_url"])
            assert audio_url.startswith(replicas.urls[n % 2] + "/")
            other = replicas.urls[(n + 1) % 2]
            fetched = httpx.get(other + audio_url.removeprefix(replicas.urls[n % 2]), timeout=30)
            assert fetched.status_code == 200, fetched.text
            assert_speech(decode(fetched.content), min_seconds=0.5, max_seconds=5)
    except AssertionError:
        print(replicas.logs())
        raise
    finally:
        done.set()
        for client in clients:
            client.close()
        receiver.close()

    # Both replicas' workers claimed tasks…
    assert owners == {str(pid) for pid in replicas.pids}, (owners, replicas.pids)
    # …and no task ran twice or was charged twice.
    runs = run_attempts(replicas.db_url, key)
    assert runs == dict.fromkeys(ids, 1), Counter(runs.values())
    assert_charged_once(replicas.db_url, key, ids, texts, before - after)


def test_a_replica_killed_mid_drain_leaves_its_tasks_to_the_other(replicas: Replicas) -> None:
    key = replicas.keys["kill"]
    receiver = Receiver()
    path = receiver.path("kill")
    texts = [f"Task {n} is long enough to be running on a replica when that replica dies." for n in range(16)]
    survivor, doomed = replicas.urls
    doomed_pid = replicas.pids[1]
    clients = [httpx.Client(base_url=url, headers=key.headers, timeout=60) for url in replicas.urls]
    try:
        secret = clients[0].get("/v1/webhooks/secret").json()["secret"]
        before = credit(clients[0])
        ids = submit_all(clients, texts, receiver.url(path))
        # Kill the second replica once its workers hold tasks.
        deadline = time.monotonic() + 30
        while not any(
            f":{doomed_pid}:" in (owner or "")
            for (owner,) in query(
                replicas.db_url,
                "SELECT lease_owner FROM tasks WHERE account_id = :a AND status = 'running'",
                a=key.account_id,
            )
        ):
            assert time.monotonic() < deadline, "the second replica never ran a task"
            time.sleep(0.02)
        replicas.processes[1].kill()
        replicas.processes[1].wait()

        all_finished(replicas.db_url, key, len(texts))
        payloads = callbacks(receiver, path, secret, ids)
        after = credit(clients[0])
        # The dead replica's links name it; the same path plays on the survivor.
        for task_id in ids:
            link = str(payloads[task_id]["audio_url"]).replace(doomed, survivor)
            fetched = httpx.get(link, timeout=30)
            assert fetched.status_code == 200, fetched.text
            assert_speech(decode(fetched.content), min_seconds=2, max_seconds=12)
    except AssertionError:
        print(replicas.logs())
        raise
    finally:
        for client in clients:
            client.close()
        receiver.close()
        if replicas.processes[1].poll() is not None:  # back as it was, for any test after this one
            port = int(doomed.rsplit(":", 1)[1])
            replicas.processes[1] = launch(replicas.dirs[1], env=replicas.env, port=port)[1]

    # What the dead replica held was run again, once, by the survivor; nothing ran a third time.
    runs = run_attempts(replicas.db_url, key)
    assert set(runs.values()) == {1, 2}, Counter(runs.values())
    assert_charged_once(replicas.db_url, key, ids, texts, before - after)
