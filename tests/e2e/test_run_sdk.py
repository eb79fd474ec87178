"""``POST /v1/run`` through the official ``openai`` SDK and ``POST /v1/fish/tts`` over HTTP, on real
``shoal serve`` processes; the ``audio_url`` each hands out is fetched without a key and decoded.

On SQLite the audio is stored as files in the data dir. On PostgreSQL, two replicas share the
database: a link made by one is served by the other (the blob and the signing secret live in the
database), even after the first has stopped, and stops working when its retention runs out.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai
import pytest
from openai import OpenAI

from shoal.auth.keys import KeySpec
from shoal.auth.provisioning import provision_key
from shoal.settings import BillingSettings
from shoal.storage.db.database import open_database
from tests.audio_checks import assert_speech, decode
from tests.conftest import RunningServer, launch, stop

pytestmark = pytest.mark.e2e

TEXT = "Hello there, this is Shoal speaking."
RETENTION_SECONDS = 4


@pytest.fixture
def sdk(server: RunningServer) -> Iterator[OpenAI]:
    with OpenAI(api_key=server.api_key, base_url=f"{server.base_url}/v1", max_retries=0) as client:
        yield client


def run(client: OpenAI, model: str, **inputs: Any) -> dict[str, Any]:
    return client.post("/run", cast_to=dict[str, Any], body={"model": model, "inputs": inputs})


def fetch(url: str) -> httpx.Response:
    """What anyone holding the link gets: no API key."""
    return httpx.get(url, timeout=30)


def test_the_sdk_runs_a_speech_model_and_the_link_is_playable(sdk: OpenAI, server: RunningServer) -> None:
    result = run(sdk, "fish-audio-s2-pro", text=TEXT, format="mp3")
    assert result["model"] == "s2-pro" and result["format"] == "mp3"
    assert result["usage"] == {"utf8_bytes": len(TEXT.encode())}
    url = result["audio_url"]
    assert url.startswith(f"{server.base_url}/v1/files/")
    audio = fetch(url)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    decoded = decode(audio.content)
    assert_speech(decoded, min_seconds=1.0, max_seconds=6.0)
    assert result["duration"] == pytest.approx(decoded.duration, abs=0.03)
    # SQLite: stored as a file under the data dir.
    blob_id = urlsplit(url).path.rsplit("/", 1)[1].split(".")[0]
    assert (server.data_dir / "blobs" / blob_id[:2] / blob_id).is_file()

    tampered = url.replace("sig=", "sig=x")
    assert fetch(tampered).status_code == 404
    assert fetch(url.split("?")[0]).status_code == 404


def test_the_sdk_runs_a_transcription_model(sdk: OpenAI) -> None:
    wav = sdk.audio.speech.create(
        model="tts-1", voice="alloy", input="Good morning to everyone.", response_format="wav"
    ).read()
    result = run(sdk, "whisper-1", audio=base64.b64encode(wav).decode())
    assert "morning" in result["text"].lower()
    assert result["language"] == "en"
    assert result["usage"]["audio_seconds"] == result["duration"] > 0.5


def test_the_sdk_raises_bad_request_for_an_unknown_model(sdk: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        run(sdk, "flux-1.1-pro", prompt="A sunset over mountains")
    assert raised.value.code == "model_not_found"
    assert raised.value.param == "model"
    assert "flux-1.1-pro" in raised.value.message


def test_the_fish_proxy_over_http(server: RunningServer) -> None:
    response = httpx.post(
        f"{server.base_url}/v1/fish/tts",
        headers={"Authorization": f"Bearer {server.api_key}", "model": "s2-pro"},
        json={"text": TEXT, "format": "wav"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"audio_url", "latency_ms"}
    assert_speech(decode(fetch(body["audio_url"]).content), min_seconds=1.0, max_seconds=6.0)
    refused = httpx.post(f"{server.base_url}/v1/fish/tts", json={"text": TEXT}, timeout=30)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_token"
    assert refused.json()["trace_id"] == refused.headers["x-request-id"]


# -- two replicas on PostgreSQL ---------------------------------------------------------------


async def _provision(db_url: str) -> tuple[str, str]:
    """A prepaid key (1 credit) and the id of its account."""
    db = await open_database(db_url)
    try:
        key, secret = await provision_key(
            db, BillingSettings(), KeySpec(name="run-replicas"), credits=Decimal("1")
        )
        return secret, key.account_id
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def pg_replicas(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[tuple[list[str], list[Any], list[Path], str]]:
    env = {
        "SHOAL_BOOTSTRAP_KEY": "never",
        "SHOAL_STT__PRELOAD": "false",
        "SHOAL_DATABASE_URL": postgres_url,
        "SHOAL_BLOBS__RETENTION_SECONDS": str(RETENTION_SECONDS),
    }
    dirs = [tmp_path_factory.mktemp(f"run-replica-{name}") for name in ("a", "b")]
    with ThreadPoolExecutor(max_workers=3) as pool:
        servers = [pool.submit(launch, data_dir, env=env) for data_dir in dirs]
        key = pool.submit(asyncio.run, _provision(postgres_url))
    started = [server.result()[1] for server in servers if server.exception() is None]
    try:
        urls = [server.result()[0] for server in servers]
        yield urls, started, dirs, key.result()[0]
    finally:
        for process in started:
            stop(process)


def test_a_link_made_by_one_replica_is_served_by_the_other_until_it_expires(
    pg_replicas: tuple[list[str], list[Any], list[Path], str],
) -> None:
    (url_a, url_b), (process_a, _), (dir_a, _), secret = pg_replicas
    with OpenAI(api_key=secret, base_url=f"{url_a}/v1", max_retries=0) as client:
        result = run(client, "s2-pro", text=TEXT, format="opus")
    made_at = time.monotonic()
    assert 0 < result["_remaining_credits"] < 1 and result["_balance_warning"] is True
    link = result["audio_url"]
    assert link.startswith(url_a)
    on_b = url_b + link[len(url_a) :]
    assert not (dir_a / "blobs").exists()  # PostgreSQL: the database holds the audio, not A's disk

    stop(process_a)
    audio = fetch(on_b)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/ogg"
    assert_speech(decode(audio.content), min_seconds=1.0, max_seconds=6.0)

    time.sleep(max(0.0, RETENTION_SECONDS + 1.1 - (time.monotonic() - made_at)))
    assert fetch(on_b).status_code == 404
