"""Platform overhead: what authentication, limits and credit accounting add to a request.

For SQLite (one process, in-process limits) and for PostgreSQL + Redis (the replica
setup) it prints:

* the time ``admit`` (key lookup, concurrency lease, requests-per-minute window) plus
  ``reserve`` and ``settle`` (two wallet transactions and the usage record) take per
  request, p50/p99, measured in process on the real code path — beside the baseline of
  Piper speaking a 17-character clause (the first audio those steps sit in front of);
* requests per second for a trivial authenticated endpoint (``GET /wallet/self/api-credit``)
  over HTTP on a real server, beside the unauthenticated ``GET /health`` of the same server,
  loaded by ``wrk`` (Debian package ``wrk``; an httpx client stands in when it is missing).

    python bench/overhead.py [--requests 2000] [--seconds 5] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request

from _server import SHOAL, percentile, running_server
from shoal.api.deps import admit
from shoal.auth.cache import KeyCache
from shoal.auth.keys import KeySpec
from shoal.auth.provisioning import provision_key
from shoal.billing.metering import Metering
from shoal.billing.usage import UsageEvent
from shoal.billing.wallet import Wallet
from shoal.limits.keeper import LeaseKeeper
from shoal.services import open_limiter
from shoal.settings import Settings, load_settings
from shoal.storage.db.database import open_database

CLAUSE = "Hello over there."  # 17 characters
PG_ADMIN = os.environ.get("SHOAL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("SHOAL_BENCH_REDIS", "redis://127.0.0.1:6379/0")


class _Platform:
    """Just the parts of ``Services`` that admission and metering use."""

    def __init__(self, settings: Settings, db: Any, limiter: Any, metering: Metering) -> None:
        self.settings = settings
        self.db = db
        self.limiter = limiter
        self.leases = LeaseKeeper(limiter, settings.billing.lease_ttl_seconds)
        self.metering = metering
        self.key_cache = KeyCache(settings.server.key_cache_seconds)
        self.key_last_touched: dict[str, float] = {}


def _request(secret: str) -> tuple[Request, AsyncExitStack]:
    stack = AsyncExitStack()
    headers = [(b"authorization", f"Bearer {secret}".encode())]
    scope = {
        "type": "http", "method": "POST", "path": "/v1/tts", "headers": headers, "query_string": b"",
        "state": {"request_id": uuid.uuid4().hex}, "shoal.cleanup": stack,
    }  # fmt: skip
    return Request(scope), stack


async def measure_platform(settings: Settings, requests: int) -> tuple[list[float], list[float]]:
    """(admit + reserve: before the first byte, settle + release: after the last byte), in seconds."""
    db = await open_database(settings.db_url)
    limiter = await open_limiter(settings)
    metering = Metering(Wallet(db, hold_ttl_seconds=3600), settings.billing)
    platform = _Platform(settings, db, limiter, metering)
    spec = KeySpec(name="bench", requests_per_minute=10**9, concurrent_requests=10_000)
    _, secret = await provision_key(db, settings.billing, spec, credits=Decimal(1000))
    before: list[float] = []
    after: list[float] = []
    try:
        for index in range(requests + 50):
            request, stack = _request(secret)
            started = time.perf_counter()
            key = await admit(request, platform)  # type: ignore[arg-type]
            charge = await metering.open(key, "tts", "s2-pro", units=len(CLAUSE), request_id="bench")
            admitted = time.perf_counter()
            charge.record(UsageEvent("tts", "s2-pro", len(CLAUSE), "utf8_bytes", "completed"))
            await charge.settle()
            await stack.aclose()  # releases the concurrency lease, as the middleware does
            if index >= 50:
                before.append(admitted - started)
                after.append(time.perf_counter() - admitted)
    finally:
        await platform.leases.close()
        await limiter.close()
        await db.dispose()
    return before, after


def piper_clause_seconds(runs: int = 30) -> list[float]:
    from shoal.engines.registry import EngineRegistry

    async def main() -> list[float]:
        settings = load_settings(
            data_dir=Path(tempfile.mkdtemp(prefix="shoal-bench-")), bootstrap_key="never"
        )
        engines = EngineRegistry.from_settings(settings)
        await engines.start()
        piper = engines.get("piper")
        assert piper is not None
        from shoal.engines.base import SynthesisRequest

        timings = []
        try:
            for index in range(runs + 3):
                started = time.perf_counter()
                async for _ in piper.synthesize(SynthesisRequest(CLAUSE, "en", None, 1.0, deadline=0)):
                    pass
                if index >= 3:
                    timings.append(time.perf_counter() - started)
        finally:
            await engines.close()
        return timings

    return asyncio.run(main())


async def _throughput(
    base_url: str, path: str, key: str | None, seconds: float, concurrency: int = 32
) -> float:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done = 0
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=30) as client:
        for _ in range(50):
            (await client.get(path)).raise_for_status()
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                response = await client.get(path)
                response.raise_for_status()
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return done / elapsed


def _wrk(base_url: str, path: str, key: str | None, seconds: float) -> float:
    """Requests per second from wrk: a C load generator in its own process (Python clients saturate first)."""
    headers = ["-H", f"Authorization: Bearer {key}"] if key else []
    result = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds:g}s", *headers, base_url + path],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    if "Non-2xx" in result.stdout:
        raise RuntimeError(f"{path} answered errors under load:\n{result.stdout}")
    line = next(line for line in result.stdout.splitlines() if line.startswith("Requests/sec:"))
    return float(line.split()[1])


def throughput(env: dict[str, str], seconds: float) -> tuple[float, float]:
    with running_server(**env) as server:
        created = subprocess.run(
            [SHOAL, "keys", "create", "--name", "rps", "--credits", "10", "--rpm", str(10**9),
             "--concurrency", "10000"],
            env={**os.environ, **env, "SHOAL_DATA_DIR": server.data_dir},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        key = created.stdout.strip().splitlines()[-1]
        if shutil.which("wrk"):
            health = _wrk(server.base_url, "/health", None, seconds)
            wallet = _wrk(server.base_url, "/wallet/self/api-credit", key, seconds)
        else:  # apt install wrk for figures that measure the server rather than the client
            health = asyncio.run(_throughput(server.base_url, "/health", None, seconds))
            wallet = asyncio.run(_throughput(server.base_url, "/wallet/self/api-credit", key, seconds))
    return health, wallet


def _create_pg_database() -> str:
    import asyncpg

    name = f"shoal_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        connection = await asyncpg.connect(PG_ADMIN.replace("postgresql://", "postgres://"))
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()

    asyncio.run(create())
    return f"{PG_ADMIN.rpartition('/')[0]}/{name}"


def _drop_pg_database(url: str) -> None:
    import asyncpg

    async def drop() -> None:
        connection = await asyncpg.connect(PG_ADMIN.replace("postgresql://", "postgres://"))
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')
        await connection.close()

    asyncio.run(drop())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    clause = piper_clause_seconds()
    clause_p50 = percentile(clause, 50) * 1000
    print(f"baseline: Piper speaks a {len(CLAUSE)}-character clause in {clause_p50:.1f} ms (p50)\n")

    setups: list[tuple[str, dict[str, str]]] = [("SQLite, in-process limits", {})]
    pg_url = None
    if not args.skip_postgres:
        pg_url = _create_pg_database()
        setups.append(("PostgreSQL + Redis", {"SHOAL_DATABASE_URL": pg_url, "SHOAL_REDIS_URL": REDIS}))
    try:
        for label, env in setups:
            data_dir = Path(tempfile.mkdtemp(prefix="shoal-bench-"))
            settings = load_settings(
                data_dir=data_dir,
                database_url=env.get("SHOAL_DATABASE_URL"),
                redis_url=env.get("SHOAL_REDIS_URL"),
            )
            before, after = asyncio.run(measure_platform(settings, args.requests))
            total = [a + b for a, b in zip(before, after, strict=True)]
            health, wallet = throughput(env, args.seconds)
            print(f"{label}")
            for name, values in (
                ("before the first byte (auth + limits + reserve)", before),
                ("after the last byte (settle + release)", after),
                ("all of it", total),
            ):
                p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
                share = p50 / clause_p50
                print(f"  {name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms = {share:.1%} of the clause's synthesis")
            print(
                f"  GET /wallet/self/api-credit (authenticated, rate-limited): {wallet:.0f} req/s; "
                f"GET /health (no auth): {health:.0f} req/s; ratio {wallet / health:.2f}"
            )
    finally:
        if pg_url is not None:
            _drop_pg_database(pg_url)


if __name__ == "__main__":
    sys.exit(main())
