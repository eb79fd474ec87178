"""Asynchronous tasks through the app in-process (its workers run in the same event loop):
submission on every surface, idempotency, polling, credits held and settled, tenants apart."""

from __future__ import annotations

import asyncio
import base64
import uuid
from decimal import Decimal
from typing import Any

import httpx
import msgpack
import pytest
from fastapi import FastAPI

from shoal.billing.accounts import get_account
from shoal.services import Services
from tests.api.test_platform import TTS_PRICE, calling, new_key
from tests.audio_checks import assert_speech, decode

pytestmark = pytest.mark.asyncio

NANOS = 1_000_000_000


async def finished(http: httpx.AsyncClient, task_id: str, within: float = 60) -> dict[str, Any]:
    """Poll a task until it has succeeded or failed."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response = await http.get(f"/v1/tasks/{task_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("succeeded", "failed"):
            return body
        assert asyncio.get_running_loop().time() < deadline, f"task still {body['status']}"
        await asyncio.sleep(0.05)


async def audio_of(http: httpx.AsyncClient, result: dict[str, Any]) -> bytes:
    fetched = await http.get(result["audio_url"])
    assert fetched.status_code == 200
    return fetched.content


async def test_fish_tts_async_answers_at_once_then_the_task_succeeds(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/tts", json={"text": "Queued for later.", "format": "wav", "async": True}
    )
    assert response.status_code == 200, response.text
    accepted = response.json()
    assert set(accepted) == {"task_id", "started_at"}
    assert accepted["started_at"].endswith("Z")
    task = await finished(client, accepted["task_id"])
    assert task["status"] == "succeeded", task
    assert task["kind"] == "tts" and task["model"] == "s2-pro"
    result = task["result"]
    assert result["format"] == "wav" and result["usage"] == {"utf8_bytes": 17}
    audio = decode(await audio_of(client, result))
    assert_speech(audio, min_seconds=0.8, max_seconds=5)
    assert result["duration"] == pytest.approx(audio.duration, abs=0.05)
    assert task["started_at"] and task["finished_at"] and task["callback_url"] is None


async def test_msgpack_and_the_model_header_reach_the_task(client: httpx.AsyncClient) -> None:
    body = msgpack.packb({"text": "Packed.", "format": "mp3", "async": True})
    response = await client.post(
        "/v1/tts", content=body, headers={"content-type": "application/msgpack", "model": "s1"}
    )
    task = await finished(client, response.json()["task_id"])
    assert task["status"] == "succeeded" and task["model"] == "s1"
    assert decode(await audio_of(client, task["result"])).codec.startswith("mp3")


async def test_proxy_and_run_surfaces_queue_too(client: httpx.AsyncClient) -> None:
    proxied = await client.post("/v1/fish/tts", json={"text": "Proxy task.", "async": True})
    assert proxied.status_code == 200, proxied.text
    run = await client.post(
        "/v1/run", json={"model": "tts-1", "inputs": {"text": "Run task.", "format": "opus"}, "async": True}
    )
    assert run.status_code == 200, run.text
    for accepted in (proxied.json(), run.json()):
        task = await finished(client, accepted["task_id"])
        assert task["status"] == "succeeded", task
        assert_speech(decode(await audio_of(client, task["result"])), min_seconds=0.5, max_seconds=5)


async def test_transcription_task(client: httpx.AsyncClient) -> None:
    spoken = await client.post("/v1/tts", json={"text": "The weather is lovely today.", "format": "wav"})
    submitted = await client.post(
        "/v1/run",
        json={
            "model": "whisper-1",
            "inputs": {"audio": base64.b64encode(spoken.content).decode()},
            "async": True,
        },
    )
    assert submitted.status_code == 200, submitted.text
    task = await finished(client, submitted.json()["task_id"], within=120)
    assert task["status"] == "succeeded", task
    assert task["kind"] == "stt"
    assert "weather" in task["result"]["text"].lower()
    assert task["result"]["usage"]["audio_seconds"] == pytest.approx(
        decode(spoken.content).duration, abs=0.05
    )


async def test_idempotency_key_returns_the_same_task_and_refuses_a_different_body(
    client: httpx.AsyncClient,
) -> None:
    key = str(uuid.uuid4())
    body = {"text": "Only once.", "format": "pcm", "async": True}
    first = await client.post("/v1/tts", json=body, headers={"Idempotency-Key": key})
    again = await client.post("/v1/tts", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    other = await client.post(
        "/v1/tts", json={**body, "text": "Something else."}, headers={"Idempotency-Key": key}
    )
    assert other.status_code == 422
    assert "different request" in other.json()["message"]
    listed = (await client.get("/v1/tasks", params={"limit": 100})).json()["data"]
    assert sum(1 for task in listed if task["id"] == first.json()["task_id"]) == 1


async def test_credits_are_held_at_submission_and_settled_at_the_end(
    app: FastAPI, services: Services
) -> None:
    key, secret = await new_key(services, credits="1")
    text = "Held, then settled."
    async with calling(app, secret) as http:
        submitted = await http.post("/v1/tts", json={"text": text, "format": "pcm", "async": True})
        assert submitted.status_code == 200, submitted.text
        held = await get_account(services.db, key.account_id)
        assert held is not None and held.balance_nanos is not None
        cost = int(Decimal(len(text.encode())) * TTS_PRICE * NANOS)
        assert held.balance_nanos in (NANOS - cost, NANOS)  # held, unless already settled
        task = await finished(http, submitted.json()["task_id"])
    assert task["status"] == "succeeded"
    assert Decimal(str(task["result"]["cost"])) == Decimal(cost) / NANOS
    settled = await get_account(services.db, key.account_id)
    assert settled is not None and settled.balance_nanos == NANOS - cost


async def test_no_credit_no_task(app: FastAPI, services: Services) -> None:
    _, secret = await new_key(services, credits="0")
    async with calling(app, secret) as http:
        response = await http.post("/v1/tts", json={"text": "Not paid for.", "async": True})
        assert response.status_code == 402
        assert (await http.get("/v1/tasks")).json()["data"] == []


async def test_bad_requests_are_refused_before_queueing(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"text": "Hi.", "async": "yes"}, "'async' must be true or false"),
        ({"text": "Hi.", "reference_id": "no-such-voice", "async": True}, "no-such-voice"),
        ({"text": "Hi.", "callback_url": "ftp://example.com/hook"}, "callback_url"),
        ({"text": "Hi.", "callback_url": "http://169.254.169.254/latest"}, "callback_url"),
    ]
    for body, fragment in cases:
        response = await client.post("/v1/tts", json=body)
        assert response.status_code == 400, (body, response.text)
        assert fragment in response.json()["message"], response.json()


async def test_other_accounts_see_404_and_listings_are_per_account(app: FastAPI, services: Services) -> None:
    _, owner = await new_key(services, credits="1")
    _, stranger = await new_key(services, credits="1")
    async with calling(app, owner) as mine, calling(app, stranger) as theirs:
        task_id = (await mine.post("/v1/tts", json={"text": "Mine.", "async": True})).json()["task_id"]
        await finished(mine, task_id)
        for response in (
            await theirs.get(f"/v1/tasks/{task_id}"),
            await theirs.post(f"/v1/tasks/{task_id}/redeliver"),
        ):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"
        assert (await theirs.get("/v1/tasks")).json()["data"] == []
        succeeded = (await mine.get("/v1/tasks", params={"status": "succeeded"})).json()["data"]
        assert [task["id"] for task in succeeded] == [task_id]
        assert (await mine.get("/v1/tasks", params={"status": "queued"})).json()["data"] == []
        bad = await mine.get("/v1/tasks", params={"status": "done"})
        assert bad.status_code == 400 and "queued, running, succeeded" in bad.json()["error"]["message"]
