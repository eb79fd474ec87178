"""The proxy surface ``POST /v1/fish/tts`` through the app in-process: Fish bodies (JSON and msgpack)
answered with ``{"audio_url", "latency_ms"}``, and every error in the proxy's own shape
``{"success": false, "error": {"code", "message"}, "trace_id"}`` with its documented codes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import msgpack
import pytest
import pytest_asyncio
from fastapi import FastAPI

from shoal.auth.keys import ApiKey, KeySpec
from shoal.auth.provisioning import provision_key
from shoal.billing.accounts import get_account
from shoal.services import Services
from tests.audio_checks import assert_speech, decode

pytestmark = pytest.mark.asyncio

BASE_URL = "http://shoal.test"
TEXT = "Hello there, friend."
TTS_PRICE = Decimal("15") / 1_000_000


async def new_key(services: Services, *, credits: str | None = None, **fields: Any) -> tuple[ApiKey, str]:
    spec = KeySpec(name=f"proxy-{uuid.uuid4().hex[:10]}", **fields)
    return await provision_key(
        services.db, services.settings.billing, spec, credits=None if credits is None else Decimal(credits)
    )


@asynccontextmanager
async def calling(app: FastAPI, secret: str | None) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=headers
    ) as http:
        yield http


@pytest_asyncio.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with calling(app, None) as http:
        yield http


def proxy_error(response: httpx.Response, status: int, code: str) -> str:
    """The proxy's error shape, with the request id as ``trace_id``; returns the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error", "trace_id"}, body
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code, body
    assert body["trace_id"] == response.headers["x-request-id"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return str(body["error"]["message"])


# -- success ----------------------------------------------------------------------------------


async def test_the_minimal_request_answers_a_link_to_mp3_speech(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    response = await client.post("/v1/fish/tts", json={"text": TEXT}, headers={"model": "s2-pro"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"audio_url", "latency_ms"}
    assert isinstance(body["latency_ms"], int) and 0 < body["latency_ms"] < 30_000
    assert body["audio_url"].startswith(f"{BASE_URL}/v1/files/") and ".mp3?expires=" in body["audio_url"]
    audio = await anonymous.get(body["audio_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    decoded = decode(audio.content)
    assert decoded.codec.startswith("mp3")
    assert_speech(decoded, min_seconds=0.6, max_seconds=4.0)


async def test_a_msgpack_body_with_voice_format_and_rate(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    body = {"text": TEXT, "reference_id": "joe", "format": "wav", "sample_rate": 16000, "latency": "balanced"}
    response = await client.post(
        "/v1/fish/tts",
        content=msgpack.packb(body),
        headers={"content-type": "application/msgpack", "model": "s1"},
    )
    assert response.status_code == 200, response.text
    url = response.json()["audio_url"]
    assert ".wav?" in url
    decoded = decode((await anonymous.get(url)).content)
    assert decoded.sample_rate == 16000
    assert_speech(decoded, min_seconds=0.6, max_seconds=4.0)


async def test_fish_fields_pass_through_to_the_synthesis(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    async def seconds(**fields: Any) -> float:
        response = await client.post("/v1/fish/tts", json={"text": TEXT, "format": "wav", **fields})
        assert response.status_code == 200, response.text
        return decode((await anonymous.get(response.json()["audio_url"])).content).duration

    assert await seconds(prosody={"speed": 2.0}) < 0.75 * await seconds()


async def test_a_metered_key_is_billed_per_byte(app: FastAPI, services: Services) -> None:
    key, secret = await new_key(services, credits="1")
    async with calling(app, secret) as http:
        response = await http.post("/v1/fish/tts", json={"text": TEXT, "format": "pcm"})
    assert response.status_code == 200, response.text
    cost = len(TEXT.encode()) * TTS_PRICE
    assert Decimal(response.headers["x-shoal-cost"]) == cost
    assert Decimal(response.headers["x-shoal-balance"]) == 1 - cost
    account = await get_account(services.db, key.account_id)
    assert account is not None and Decimal(account.balance_nanos) / 10**9 == 1 - cost


# -- errors -----------------------------------------------------------------------------------


async def test_401_invalid_token(anonymous: httpx.AsyncClient) -> None:
    assert "missing API key" in proxy_error(
        await anonymous.post("/v1/fish/tts", json={"text": TEXT}), 401, "invalid_token"
    )
    response = await anonymous.post(
        "/v1/fish/tts", json={"text": TEXT}, headers={"Authorization": "Bearer nonsense"}
    )
    assert "invalid API key" in proxy_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_the_trace_id_is_the_request_id_the_client_sent(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post(
        "/v1/fish/tts", json={"text": TEXT}, headers={"x-request-id": "trace-123"}
    )
    proxy_error(response, 401, "invalid_token")
    assert response.json()["trace_id"] == "trace-123"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "text: Field required"),
        ({"text": ""}, "text: String should have at least 1 character"),
        ({"text": "Hi", "format": "ogg"}, "format: Input should be 'wav', 'pcm', 'mp3' or 'opus'"),
        (
            {"text": "Hi", "format": "opus", "sample_rate": 44100},
            "sample_rate 44100 is not available for opus",
        ),
        ({"text": "Hi", "latency": "fast"}, "latency: Input should be 'normal', 'balanced' or 'low'"),
        ({"text": "Hi", "reference_id": "nobody"}, "voice 'nobody' not found"),
    ],
)
async def test_400_token_mismatched_for_bad_parameters(
    client: httpx.AsyncClient, body: dict[str, Any], fragment: str
) -> None:
    assert fragment in proxy_error(await client.post("/v1/fish/tts", json=body), 400, "token_mismatched")


async def test_400_for_a_body_that_is_not_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/fish/tts", content=b"{", headers={"content-type": "application/json"})
    assert "not valid JSON" in proxy_error(response, 400, "token_mismatched")


async def test_415_for_an_encoding_it_does_not_take(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/fish/tts", content=b"text=hi", headers={"content-type": "text/csv"})
    assert "application/json or application/msgpack" in proxy_error(response, 415, "unsupported_media_type")


async def test_a_callback_url_that_cannot_be_reached_is_refused_in_this_surfaces_shape(
    client: httpx.AsyncClient,
) -> None:
    for url, fragment in (
        ("https://no-such-host.invalid/hook", "does not resolve"),
        ("http://10.0.0.7/hook", "callback_url"),
        ("ftp://example.com/hook", "callback_url"),
    ):
        response = await client.post("/v1/fish/tts", json={"text": TEXT, "callback_url": url})
        assert fragment in proxy_error(response, 400, "token_mismatched")


async def test_402_insufficient_balance(app: FastAPI, services: Services) -> None:
    key, secret = await new_key(services, credits="0")
    async with calling(app, secret) as http:
        response = await http.post("/v1/fish/tts", json={"text": TEXT})
    assert "top up" in proxy_error(response, 402, "insufficient_balance")
    account = await get_account(services.db, key.account_id)
    assert account is not None and account.balance_nanos == 0


async def test_429_too_many_requests(app: FastAPI, services: Services) -> None:
    _, secret = await new_key(services, requests_per_minute=1)
    async with calling(app, secret) as http:
        first = await http.post("/v1/fish/tts", json={"text": "Hi.", "format": "pcm"})
        second = await http.post("/v1/fish/tts", json={"text": "Hi.", "format": "pcm"})
    assert first.status_code == 200, first.text
    assert "rate limit reached" in proxy_error(second, 429, "too_many_requests")
    assert int(second.headers["retry-after"]) >= 1


async def test_413_for_a_body_over_the_limit(client: httpx.AsyncClient, services: Services) -> None:
    limit = services.settings.server.max_body_bytes
    response = await client.post("/v1/fish/tts", json={"text": "a" * (limit + 1)})
    assert f"the limit is {limit} bytes" in proxy_error(response, 413, "payload_too_large")


async def test_404_and_405_under_the_prefix(client: httpx.AsyncClient) -> None:
    proxy_error(await client.post("/v1/fish/nothing", json={"text": TEXT}), 404, "not_found")
    proxy_error(await client.get("/v1/fish/tts"), 405, "method_not_allowed")
