"""Fixtures: engines loaded once per session; the app in-process; a real uvicorn server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from shoal.app import create_app
from shoal.auth.keys import KeySpec, create_key
from shoal.services import Services
from shoal.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
SHOAL = str(Path(sys.executable).with_name("shoal"))


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Keys are looked up on every request in process, so tests that change a key see it at once;
    # the cache itself has its own tests.
    return load_settings(
        data_dir=tmp_path_factory.mktemp("shoal-data"), bootstrap_key="never", server={"key_cache_seconds": 0}
    )


@pytest_asyncio.fixture(scope="session")
async def services(settings: Settings) -> AsyncIterator[Services]:
    running = await Services.start(settings)
    yield running
    await running.close()


@pytest.fixture(scope="session")
def app(settings: Settings, services: Services) -> FastAPI:
    return create_app(settings, services)


@pytest_asyncio.fixture(scope="session")
async def api_key(services: Services) -> str:
    """A standard key on the default (unmetered) account, on the default plan (no limits)."""
    return (await create_key(services.db, KeySpec(name="tests")))[1]


@pytest_asyncio.fixture(scope="session")
async def admin_key(services: Services) -> str:
    return (await create_key(services.db, KeySpec(name="tests-admin", tier="admin")))[1]


def _needs(service: str, error: BaseException) -> None:
    """Under CI a missing PostgreSQL or Redis is a failure; on a laptop, a skip."""
    message = f"{service} is not reachable: {error}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


PG_ADMIN_URL = os.environ.get("SHOAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SHOAL_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped at the end)."""
    import asyncio

    import asyncpg

    name = f"shoal_test_{uuid.uuid4().hex[:12]}"
    admin = PG_ADMIN_URL.replace("postgresql://", "postgres://")

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(admin, timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    try:
        asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        _needs("PostgreSQL", error)
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    yield f"{base}/{name}"
    asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        _needs("Redis", error)
    return REDIS_URL


@pytest_asyncio.fixture
async def client(app: FastAPI, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://shoal.test", headers={"Authorization": f"Bearer {api_key}"}
    ) as http:
        yield http


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(
    *args: str, data_dir: Path, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHOAL_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [SHOAL, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"shoal {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


@dataclass
class RunningServer:
    base_url: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen[str]
    log: Path


def launch(
    data_dir: Path, *extra: str, env: dict[str, str] | None = None, port: int | None = None
) -> tuple[str, subprocess.Popen[str], Path]:
    """Start ``shoal serve`` on a free port (or ``port``: a restart where it ran) and wait until
    /health answers 200.

    ``env`` is merged over ``os.environ`` for the server process.
    """
    port = port or free_port()
    log = data_dir / f"server-{port}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [SHOAL, "serve", "--port", str(port), "--data-dir", str(data_dir), *extra],
            stdout=sink, stderr=subprocess.STDOUT, text=True, cwd=REPO,
            env={**os.environ, **env} if env is not None else None,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return base_url, process, log
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"server did not become healthy:\n{log.read_text()}")


def stop(process: subprocess.Popen[str]) -> int:
    process.terminate()
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """``shoal serve`` in a subprocess on a free port, with a key made by ``shoal keys create``."""
    data_dir = tmp_path_factory.mktemp("server-data")
    key = run_cli("keys", "create", "--name", "e2e", data_dir=data_dir).stdout.strip().splitlines()[-1]
    base_url, process, log = launch(data_dir)
    yield RunningServer(base_url, key, data_dir, process, log)
    stop(process)


_CREATED = re.compile(r"^Created key (\w+) \(.*\) on account (\w+),")


@dataclass(frozen=True)
class Key:
    secret: str
    key_id: str
    account_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def cli_create_key(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Key:
    """``shoal keys create …`` as an operator runs it (against ``env``'s database, if it names one)."""
    result = subprocess.run(
        [SHOAL, "keys", "create", *args, "--data-dir", str(data_dir)],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    created = next(match for line in lines if (match := _CREATED.match(line)))
    return Key(lines[-1], created[1], created[2])
