"""Proof across replicas (issue 3, item 12): money and limits hold with two servers sharing one store.

Two real ``shoal serve`` processes share one PostgreSQL database and one Redis. A prepaid
key made with ``shoal keys create --credits`` (credit for exactly 50 requests) is raced by
200 concurrent requests through both replicas; a starter-plan key is hammered through
both; a 2-concurrent key has its slots held by slow streams on both replicas, and a killed
client's slot frees itself on the other replica within two seconds. The ledger race is
repeated on SQLite with one process and in-process limits. The books are read straight
from the database.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shoal.auth.keys import KeySpec
from shoal.auth.provisioning import provision_key
from shoal.billing.money import credits_str, to_credits, to_nanos
from shoal.billing.pricing import PriceList
from shoal.settings import BillingSettings, TTSSettings
from shoal.storage.db.database import open_database
from tests.audio_checks import assert_speech, decode
from tests.conftest import Key, cli_create_key, launch, stop

pytestmark = pytest.mark.e2e

HI = "Hi."
LONG_TEXT = " ".join(f"This is sentence number {n}, spoken to test long streams." for n in range(1, 12))
"""About 600 characters: tens of seconds of WAV, far more than a slow reader takes in during a test."""

SERVER_ENV = {
    "SHOAL_BOOTSTRAP_KEY": "never",
    # The race must meet the wallet, not the engine's queue (16 by default, then 503).
    "SHOAL_ENGINES__PIPER__MAX_QUEUE": "256",
    # No test here transcribes: do not load Whisper at start.
    "SHOAL_STT__PRELOAD": "false",
}

HI_COST_NANOS = (
    PriceList(BillingSettings()).quote("tts", TTSSettings().default_model, len(HI.encode()), 0).cost_nanos
)
"""What one "Hi." costs at list price (3 UTF-8 bytes × 15 credits per million)."""


@dataclass
class Deployment:
    urls: list[str]
    db_url: str
    keys: dict[str, Key] = field(default_factory=dict)


async def provision(db_url: str, specs: dict[str, tuple[KeySpec, int | None]]) -> dict[str, Key]:
    """Keys made with the library, as the admin API does (name → spec and credits in nanocredits)."""
    db = await open_database(db_url)
    try:
        made: dict[str, Key] = {}
        for name, (spec, nanos) in specs.items():
            credits = to_credits(nanos) if nanos is not None else None
            key, secret = await provision_key(db, BillingSettings(), spec, credits=credits)
            made[name] = Key(secret, key.id, key.account_id)
        return made
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Iterator[Deployment]:
    """Two ``shoal serve`` processes on one PostgreSQL and one Redis, and the keys the tests use."""
    env = {**SERVER_ENV, "SHOAL_DATABASE_URL": postgres_url, "SHOAL_REDIS_URL": redis_url}
    dirs = [tmp_path_factory.mktemp(f"replica-{name}") for name in ("a", "b")]
    limited = {
        # The starter plan's 60 requests per minute; its 10 concurrent lifted so all 150 meet the window.
        "rpm": (KeySpec(name="replicas-rpm", plan="starter", concurrent_requests=1000), None),
        "pair": (KeySpec(name="replicas-pair", concurrent_requests=2), None),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        servers = [pool.submit(launch, data_dir, env=env) for data_dir in dirs]
        # The operator's way: `shoal keys create --credits` gives the key a prepaid account of its own.
        ledger = pool.submit(
            cli_create_key, dirs[0], "--name", "replicas-ledger",
            "--credits", credits_str(50 * HI_COST_NANOS), env=env,
        )  # fmt: skip
        keys = pool.submit(asyncio.run, provision(postgres_url, limited))
    started = [server.result()[1] for server in servers if server.exception() is None]
    try:
        urls = [server.result()[0] for server in servers]  # raises if one did not start
        yield Deployment(urls, postgres_url, {"ledger": ledger.result(), **keys.result()})
    finally:
        for process in started:
            stop(process)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One ``shoal serve`` on its data dir's SQLite database, limits in process (no Redis)."""
    data_dir = tmp_path_factory.mktemp("single-sqlite")
    base_url, process, _log = launch(data_dir, env=SERVER_ENV)
    try:
        db_url = f"sqlite:///{(data_dir / 'shoal.db').resolve()}"
        spec = KeySpec(name="sqlite-ledger")
        keys = asyncio.run(provision(db_url, {"ledger": (spec, 25 * HI_COST_NANOS)}))
        yield Deployment([base_url], db_url, keys)
    finally:
        stop(process)


# -- the books, read straight from the database ------------------------------------


@dataclass(frozen=True)
class Books:
    balance_nanos: int
    ledger_sum_nanos: int
    lowest_balance_after_nanos: int
    ledger_kinds: dict[str, int]
    open_holds: int
    outcomes: dict[str, int]
    usage_cost_nanos: int
    lowest_usage_balance_nanos: int | None


async def read_books(db_url: str, key: Key) -> Books:
    db = await open_database(db_url, run_migrations=False)
    try:
        async with db.read() as connection:

            async def one(sql: str, **params: str) -> Any:
                return (await connection.execute(text(sql), params)).scalar_one()

            async def counts(sql: str, **params: str) -> dict[str, int]:
                return {
                    str(row[0]): int(row[1]) for row in (await connection.execute(text(sql), params)).all()
                }

            account, key_id = key.account_id, key.key_id
            return Books(
                balance_nanos=await one("SELECT balance_nanos FROM accounts WHERE id = :a", a=account),
                ledger_sum_nanos=await one(
                    "SELECT COALESCE(SUM(amount_nanos), 0) FROM ledger WHERE account_id = :a", a=account
                ),
                lowest_balance_after_nanos=await one(
                    "SELECT MIN(balance_after_nanos) FROM ledger WHERE account_id = :a", a=account
                ),
                ledger_kinds=await counts(
                    "SELECT kind, COUNT(*) FROM ledger WHERE account_id = :a GROUP BY kind", a=account
                ),
                open_holds=await one("SELECT COUNT(*) FROM holds WHERE key_id = :k", k=key_id),
                outcomes=await counts(
                    "SELECT outcome, COUNT(*) FROM usage_records WHERE key_id = :k GROUP BY outcome", k=key_id
                ),
                usage_cost_nanos=await one(
                    "SELECT COALESCE(SUM(cost_nanos), 0) FROM usage_records WHERE key_id = :k", k=key_id
                ),
                lowest_usage_balance_nanos=await one(
                    "SELECT MIN(balance_after_nanos) FROM usage_records WHERE key_id = :k", k=key_id
                ),
            )
    finally:
        await db.dispose()


async def settled_books(db_url: str, key: Key, *, records: int, seconds: float = 15) -> Books:
    """The books once every hold is settled and ``records`` usage records are written (polled)."""
    deadline = time.monotonic() + seconds
    while True:
        books = await read_books(db_url, key)
        if (books.open_holds == 0 and sum(books.outcomes.values()) >= records) or time.monotonic() > deadline:
            return books
        await asyncio.sleep(0.1)


def many_connections(total: int) -> httpx.Limits:
    return httpx.Limits(max_connections=total + 8, max_keepalive_connections=total + 8)


# -- 1 and 4: the ledger race -------------------------------------------------------


async def race_for_credit(deployment: Deployment, total: int, affordable: int) -> None:
    """``total`` concurrent "Hi." requests, spread evenly over the servers, on credit for ``affordable``."""
    key = deployment.keys["ledger"]
    urls = deployment.urls
    async with httpx.AsyncClient(headers=key.headers, timeout=120, limits=many_connections(total)) as http:
        responses = await asyncio.gather(
            *(http.post(f"{urls[n % len(urls)]}/v1/tts", json={"text": HI}) for n in range(total))
        )

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: affordable, 402: total - affordable}, statuses

    served = [response for response in responses if response.status_code == 200]
    for response in served:
        assert response.headers["content-type"] == "audio/mpeg"
        assert response.headers["x-shoal-cost"] == credits_str(HI_COST_NANOS)
        assert_speech(decode(response.content), min_seconds=0.2, max_seconds=3)
    # Each admission held its cost atomically: the balances it saw are every step from 49 × cost down to 0.
    seen = sorted(to_nanos(response.headers["x-shoal-balance"]) for response in served)
    assert seen == [step * HI_COST_NANOS for step in range(affordable)]

    for response in responses:
        if response.status_code == 402:
            body = response.json()
            assert set(body) == {"status", "message"}, body
            assert body["status"] == 402
            assert "insufficient credits" in body["message"]

    books = await settled_books(deployment.db_url, key, records=affordable)
    assert books.open_holds == 0
    assert books.balance_nanos == 0
    assert books.ledger_sum_nanos == books.balance_nanos
    assert books.lowest_balance_after_nanos >= 0
    assert books.ledger_kinds == {"topup": 1, "hold": affordable}, books.ledger_kinds
    assert books.outcomes == {"completed": affordable}, books.outcomes
    assert books.usage_cost_nanos == affordable * HI_COST_NANOS
    assert books.lowest_usage_balance_nanos is not None and books.lowest_usage_balance_nanos >= 0

    # Every server reports the empty wallet, Fish's way.
    async with httpx.AsyncClient(headers=key.headers, timeout=30) as http:
        for url in urls:
            wallet = (await http.get(f"{url}/wallet/self/api-credit")).json()
            assert wallet["credit"] == "0", wallet


@pytest.mark.asyncio(loop_scope="session")
async def test_two_replicas_spend_exactly_the_balance(replicas: Deployment) -> None:
    await race_for_credit(replicas, total=200, affordable=50)


# -- 2: requests per minute ---------------------------------------------------------

ROUTES = ("/v1/usage", "/wallet/self/api-credit")
"""An OpenAI-surface and a Fish-surface endpoint, both authenticated and rate-limited."""


def assert_refusal_body(route: str, body: dict[str, Any], status: int, code: str) -> None:
    if route.startswith("/v1/usage"):
        assert set(body) == {"error"}, body
        assert body["error"]["code"] == code
        assert body["error"]["type"] == "rate_limit_error"
        assert body["error"]["message"]
    else:
        assert set(body) == {"status", "message"}, body
        assert body["status"] == status
        assert body["message"]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_60_per_minute_key_gets_60_across_replicas(replicas: Deployment) -> None:
    key = replicas.keys["rpm"]
    total = 150
    targets = [(replicas.urls[n % 2], ROUTES[(n // 2) % 2]) for n in range(total)]
    async with httpx.AsyncClient(headers=key.headers, timeout=60, limits=many_connections(total)) as http:
        responses = await asyncio.gather(*(http.get(url + route) for url, route in targets))

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 60, 429: total - 60}, statuses
    admitted = [response for response in responses if response.status_code == 200]
    # One shared window: the admissions counted down 59 … 0 between them, whichever replica took each.
    assert sorted(int(response.headers["x-ratelimit-remaining-requests"]) for response in admitted) == list(
        range(60)
    )
    for (_url, route), response in zip(targets, responses, strict=True):
        assert response.headers["x-ratelimit-limit-requests"] == "60"
        if response.status_code == 429:
            assert response.headers["x-ratelimit-remaining-requests"] == "0"
            assert 1 <= int(response.headers["retry-after"]) <= 60
            assert_refusal_body(route, response.json(), 429, "rate_limit_exceeded")

    # Still within the minute: both replicas keep refusing.
    async with httpx.AsyncClient(headers=key.headers, timeout=30) as http:
        for url in replicas.urls:
            assert (await http.get(f"{url}/wallet/self/api-credit")).status_code == 429


# -- 3: concurrent requests ----------------------------------------------------------

SLOW_CLIENT = r"""
import json, socket, sys, time
host, port, key, text = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
body = json.dumps({"text": text, "format": "wav"}).encode()
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
sock.settimeout(60)
sock.connect((host, port))
sock.sendall(
    b"POST /v1/tts HTTP/1.1\r\nHost: shoal\r\nContent-Type: application/json\r\n"
    + b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: " + str(len(body)).encode()
    + b"\r\n\r\n" + body
)
head = b""
while b"\r\n\r\n" not in head:
    chunk = sock.recv(1024)
    if not chunk:
        break
    head += chunk
print(head.partition(b"\r\n\r\n")[0].decode("latin-1"), flush=True)
print("", flush=True)
while sock.recv(4096):  # a slow listener: 20 kB/s of a stream that carries 88 kB/s
    time.sleep(0.2)
"""


@dataclass
class SlowStream:
    """A client in its own process, reading a long WAV stream slowly until it is killed."""

    process: subprocess.Popen[str]
    status: int
    headers: dict[str, str]

    @classmethod
    def open(cls, base_url: str, key: Key) -> SlowStream:
        host, port = base_url.removeprefix("http://").split(":")
        process = subprocess.Popen(
            [sys.executable, "-c", SLOW_CLIENT, host, port, key.secret, LONG_TEXT],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # the response head, then a blank line (or EOF if it died)
            if not line.strip():
                break
            lines.append(line.rstrip("\r\n"))
        if not lines or not lines[0].startswith("HTTP/1.1 "):
            process.kill()
            process.wait()
            raise AssertionError(f"no response head from {base_url}: {lines}")
        headers = dict(
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in lines[1:])
        )
        return cls(process, int(lines[0].split()[1]), headers)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def assert_concurrency_refusal(response: httpx.Response, route: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["x-ratelimit-limit-concurrency"] == "2"
    assert response.headers["x-ratelimit-remaining-concurrency"] == "0"
    assert "x-ratelimit-reset-concurrency" in response.headers
    assert int(response.headers["retry-after"]) >= 1
    assert_refusal_body(route, response.json(), 429, "concurrency_limit_exceeded")


@pytest.mark.asyncio(loop_scope="session")
async def test_a_2_concurrent_key_across_replicas_and_a_killed_client(replicas: Deployment) -> None:
    key = replicas.keys["pair"]
    here, there = replicas.urls
    streams: list[SlowStream] = []
    try:
        streams.append(SlowStream.open(here, key))
        streams.append(SlowStream.open(there, key))
        assert [stream.status for stream in streams] == [200, 200]
        assert [stream.headers["x-ratelimit-remaining-concurrency"] for stream in streams] == ["1", "0"]
        assert all(stream.headers["x-ratelimit-limit-concurrency"] == "2" for stream in streams)

        # Both slots are held, one on each replica: a third request is refused on either.
        async with httpx.AsyncClient(headers=key.headers, timeout=30) as http:
            for url in replicas.urls:
                refused = await http.post(f"{url}/v1/tts", json={"text": HI})
                assert_concurrency_refusal(refused, "/v1/tts")
                assert_concurrency_refusal(await http.get(f"{url}/v1/usage"), "/v1/usage")

            # Kill the client streaming from the first replica; the second admits a request within 2 s.
            streams[0].kill()
            killed_at = time.monotonic()
            admitted = None
            while time.monotonic() - killed_at < 2.0:
                response = await http.post(f"{there}/v1/tts", json={"text": HI})
                if response.status_code == 200:
                    admitted = response
                    break
                assert_concurrency_refusal(response, "/v1/tts")
                await asyncio.sleep(0.05)
            assert admitted is not None, "the killed client's slot was not freed within 2 seconds"
            # The other stream still holds its slot.
            assert admitted.headers["x-ratelimit-remaining-concurrency"] == "0"
            assert_speech(decode(admitted.content), min_seconds=0.2, max_seconds=3)
    finally:
        for stream in streams:
            stream.kill()

    # Both killed streams were settled as cancelled, the short one as completed; no hold is left.
    books = await settled_books(replicas.db_url, key, records=3)
    assert books.outcomes == {"cancelled": 2, "completed": 1}, books.outcomes
    assert books.open_holds == 0


# -- 4: the ledger race on SQLite, one process ---------------------------------------


@pytest.mark.asyncio(loop_scope="session")
async def test_one_sqlite_process_spends_exactly_the_balance(single: Deployment) -> None:
    await race_for_credit(single, total=100, affordable=25)
