"""``POST /v1/run`` and the signed file links it hands out, through the app in-process.

Text to speech answers with an ``audio_url`` that is fetched here without an API key and
decoded to check it is speech of the duration reported; speech to text transcribes Shoal's
own speech. Metered keys show the cost and the balance after; bad requests say what to fix.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from shoal.app import create_app
from shoal.auth.keys import ApiKey, KeySpec
from shoal.auth.provisioning import provision_key
from shoal.billing.accounts import get_account
from shoal.gateway.chat import ChatGateway
from shoal.services import Services
from shoal.settings import ChatModel, ChatSettings, Deployment
from tests.audio_checks import assert_speech, decode

pytestmark = pytest.mark.asyncio

BASE_URL = "http://shoal.test"
TEXT = "Hello there, friend."
TTS_PRICE = Decimal("15") / 1_000_000  # credits per UTF-8 byte (the default list price)
STT_PRICE = Decimal("0.36") / 3600  # credits per second of audio
CODECS = {"mp3": "mp3", "opus": "opus", "aac": "aac", "flac": "flac", "wav": "pcm_s16le"}
DEFAULT_RATES = {"mp3": 44100, "wav": 44100, "flac": 44100, "aac": 44100, "opus": 48000, "pcm": 44100}
LINK = re.compile(
    r"^http://shoal\.test/v1/files/(?P<id>[0-9a-f]{40})\.(?P<ext>\w+)\?expires=\d+&sig=[\w-]{43}$"
)


async def new_key(services: Services, *, credits: str | None = None, **fields: Any) -> tuple[ApiKey, str]:
    """A key; with ``credits`` on a new prepaid account holding them, otherwise on the unmetered default."""
    spec = KeySpec(name=f"run-{uuid.uuid4().hex[:10]}", **fields)
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
    """No API key: what anyone holding a link has."""
    async with calling(app, None) as http:
        yield http


async def run(http: httpx.AsyncClient, model: str, **inputs: Any) -> httpx.Response:
    return await http.post("/v1/run", json={"model": model, "inputs": inputs})


def openai_error(response: httpx.Response, status: int, code: str | None, param: str | None) -> str:
    """OpenAI's envelope with ``code`` and ``param``; returns the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code and body["error"]["param"] == param, body
    return str(body["error"]["message"])


# -- text to speech ---------------------------------------------------------------------------


@pytest.mark.parametrize("audio_format", ["mp3", "wav", "opus", "flac", "aac", "pcm"])
async def test_speech_is_stored_and_its_link_serves_real_audio(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, audio_format: str
) -> None:
    before = datetime.now(UTC)
    response = await run(client, "tts-1", text=TEXT, format=audio_format)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "model", "audio_url", "expires_at", "format", "sample_rate", "duration", "usage", "cost"
    }  # fmt: skip
    assert body["model"] == "s2-pro"  # tts-1 is an alias
    assert body["format"] == audio_format
    assert body["sample_rate"] == DEFAULT_RATES[audio_format]
    assert body["usage"] == {"utf8_bytes": len(TEXT.encode())}
    link = LINK.match(body["audio_url"])
    assert link is not None, body["audio_url"]
    assert link["ext"] == audio_format
    expires = datetime.fromtimestamp(body["expires_at"], UTC)
    assert before + timedelta(hours=23, minutes=59) < expires < before + timedelta(hours=24, minutes=1)

    audio = await anonymous.get(body["audio_url"])
    assert audio.status_code == 200, audio.text
    assert audio.headers["content-type"] == {
        "mp3": "audio/mpeg", "wav": "audio/wav", "opus": "audio/ogg", "flac": "audio/flac",
        "aac": "audio/aac", "pcm": "audio/pcm",
    }[audio_format]  # fmt: skip
    assert audio.headers["content-disposition"] == f'inline; filename="{link["id"]}.{audio_format}"'
    decoded = decode(audio.content, pcm_rate=body["sample_rate"] if audio_format == "pcm" else None)
    if audio_format != "pcm":
        assert decoded.codec.startswith(CODECS[audio_format])
    assert_speech(decoded, min_seconds=0.6, max_seconds=4.0)
    assert body["duration"] == pytest.approx(decoded.duration, abs=0.03)


async def test_input_voice_speed_and_sample_rate(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    normal = (await run(client, "s2-pro", input=TEXT, voice="joe", format="wav", sample_rate=16000)).json()
    fast = (await run(client, "s1", text=TEXT, reference_id="joe", format="wav", speed=2.0)).json()
    openai_voice = await run(client, "gpt-4o-mini-tts", text=TEXT, voice="alloy", format="wav")
    assert openai_voice.status_code == 200, openai_voice.text
    assert normal["sample_rate"] == 16000
    assert decode((await anonymous.get(normal["audio_url"])).content).sample_rate == 16000
    assert fast["model"] == "s1"
    assert fast["duration"] < normal["duration"] * 0.75


async def test_every_link_is_a_different_random_id(client: httpx.AsyncClient) -> None:
    bodies = await asyncio.gather(*(run(client, "s2-pro", text="Hi.", format="pcm") for _ in range(4)))
    ids = set()
    for response in bodies:
        link = LINK.match(response.json()["audio_url"])
        assert link is not None
        ids.add(link["id"])
    assert len(ids) == 4


async def test_a_metered_key_sees_the_cost_and_its_balance(app: FastAPI, services: Services) -> None:
    key, secret = await new_key(services, credits="2")
    text = "Ünïcödé costs more bytes."
    async with calling(app, secret) as http:
        response = await run(http, "s2-pro", text=text, format="mp3")
    assert response.status_code == 200, response.text
    body = response.json()
    cost = len(text.encode()) * TTS_PRICE
    assert body["usage"]["utf8_bytes"] == len(text.encode())
    assert Decimal(str(body["cost"])) == cost
    assert Decimal(str(body["_remaining_credits"])) == 2 - cost
    assert body["_balance_warning"] is True  # below the 10-credit threshold
    assert Decimal(response.headers["x-shoal-cost"]) == cost
    account = await get_account(services.db, key.account_id)
    assert account is not None
    assert Decimal(account.balance_nanos) / 10**9 == 2 - cost


async def test_an_unmetered_key_gets_the_cost_without_balance_fields(client: httpx.AsyncClient) -> None:
    body = (await run(client, "s2-pro", text="Hi.", format="pcm")).json()
    assert Decimal(str(body["cost"])) == 3 * TTS_PRICE
    assert "_balance_warning" not in body and "_remaining_credits" not in body


async def test_without_credit_nothing_is_spoken(app: FastAPI, services: Services) -> None:
    _, secret = await new_key(services, credits="0")
    async with calling(app, secret) as http:
        response = await run(http, "s2-pro", text=TEXT)
    message = openai_error(response, 402, "insufficient_balance", None)
    assert "top up" in message


# -- speech to text ---------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def spoken(app: FastAPI, api_key: str) -> bytes:
    """A WAV of Shoal saying a short sentence."""
    async with calling(app, api_key) as http:
        response = await http.post("/v1/tts", json={"text": "The weather is lovely today.", "format": "wav"})
    assert response.status_code == 200
    return response.content


async def test_a_transcription_model_transcribes_base64_audio(
    app: FastAPI, services: Services, spoken: bytes
) -> None:
    key, secret = await new_key(services, credits="1")
    async with calling(app, secret) as http:
        response = await run(http, "whisper-1", audio=base64.b64encode(spoken).decode(), language="en")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "whisper-base"
    assert "weather" in body["text"].lower() and "lovely" in body["text"].lower()
    assert body["language"] == "en"
    assert body["duration"] == pytest.approx(decode(spoken).duration, abs=0.05)
    assert body["usage"] == {"audio_seconds": body["duration"]}
    assert body["segments"] and {"id", "start", "end", "text"} == set(body["segments"][0])
    assert body["segments"][-1]["end"] <= body["duration"] + 0.5
    cost = Decimal(str(body["cost"]))
    assert cost == pytest.approx(Decimal(str(body["duration"])) * STT_PRICE, rel=Decimal("0.01"))
    assert Decimal(str(body["_remaining_credits"])) == 1 - cost
    account = await get_account(services.db, key.account_id)
    assert account is not None and Decimal(account.balance_nanos) / 10**9 == 1 - cost


async def test_a_transcription_detects_the_language_when_none_is_given(
    client: httpx.AsyncClient, spoken: bytes
) -> None:
    response = await run(client, "whisper-base", audio=base64.b64encode(spoken).decode())
    assert response.status_code == 200, response.text
    assert response.json()["language"] == "en"
    assert "_remaining_credits" not in response.json()


# -- bad requests -----------------------------------------------------------------------------


async def test_an_unknown_model_is_a_400_naming_the_models(client: httpx.AsyncClient) -> None:
    message = openai_error(await run(client, "dall-e-3", prompt="a cat"), 400, "model_not_found", "model")
    assert "'dall-e-3' does not exist" in message
    assert "s2-pro" in message and "whisper-1" in message and "/v1/models" in message


async def test_a_chat_model_is_sent_to_chat_completions(
    app: FastAPI, services: Services, api_key: str
) -> None:
    chat = ChatSettings(models={"gpt-4o-mini": ChatModel(deployments=[Deployment(upstream="llm")])})
    with_chat = dataclasses.replace(services, chat=ChatGateway(services.router, chat))
    async with calling(create_app(services.settings, with_chat), api_key) as http:
        response = await run(http, "gpt-4o-mini", text="Hello")
    message = openai_error(response, 400, "unsupported_model", "model")
    assert "chat model" in message and "/v1/chat/completions" in message


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"inputs": {"text": "Hi"}}, "model", "'model' is required"),
        ({"model": "", "inputs": {"text": "Hi"}}, "model", "'model' is required"),
        ({"model": "s2-pro"}, "inputs", "'inputs' is required"),
        ({"model": "s2-pro", "inputs": "Hello"}, "inputs", "'inputs' is required"),
    ],
)
async def test_model_and_inputs_are_required(
    client: httpx.AsyncClient, body: dict[str, Any], param: str, fragment: str
) -> None:
    response = await client.post("/v1/run", json=body)
    assert fragment in openai_error(response, 400, "invalid_value", param)


@pytest.mark.parametrize(
    ("inputs", "param", "fragment"),
    [
        ({}, "inputs", "'text' is required"),
        ({"text": ""}, "inputs", "'text' is required"),
        ({"text": "a", "input": "b"}, "inputs", "not both"),
        ({"text": "a", "voice": "joe", "reference_id": "joe"}, "inputs", "not both"),
        ({"txt": "Hello"}, "inputs.txt", "it takes text (or input), voice (or reference_id), format"),
        ({"text": "Hi", "format": "ogg"}, "inputs.format", "'mp3', 'wav', 'opus', 'flac', 'aac' or 'pcm'"),
        ({"text": "Hi", "speed": 9}, "inputs.speed", "less than or equal to 4"),
        ({"text": "Hi", "format": "opus", "sample_rate": 44100}, "inputs", "not available for opus"),
    ],
)
async def test_bad_speech_inputs_say_what_to_fix(
    client: httpx.AsyncClient, inputs: dict[str, Any], param: str, fragment: str
) -> None:
    response = await client.post("/v1/run", json={"model": "s2-pro", "inputs": inputs})
    assert fragment in openai_error(response, 400, "invalid_value", param)


async def test_an_unknown_voice_is_a_400(client: httpx.AsyncClient) -> None:
    response = await run(client, "s2-pro", text="Hi", voice="nobody")
    assert "'nobody' not found" in openai_error(response, 400, "voice_not_found", "voice")


@pytest.mark.parametrize(
    ("inputs", "status", "code", "param", "fragment"),
    [
        ({}, 400, "missing_required_parameter", "inputs.audio", "base64-encoded"),
        ({"audio": "not base64!"}, 400, "invalid_value", "inputs.audio", "base64 string"),
        ({"audio": base64.b64encode(b"just some text").decode()}, 400, None, None, "not decodable audio"),
        ({"audio": "QUJD", "text": "x"}, 400, "invalid_value", "inputs.text", "it takes audio (base64)"),
    ],
)
async def test_bad_transcription_inputs_say_what_to_fix(
    client: httpx.AsyncClient, inputs: dict[str, Any], status: int, code: str | None, param: str | None,
    fragment: str,
) -> None:  # fmt: skip
    response = await client.post("/v1/run", json={"model": "whisper-1", "inputs": inputs})
    assert fragment in openai_error(response, status, code, param)


async def test_an_unknown_language_is_a_400(client: httpx.AsyncClient, spoken: bytes) -> None:
    response = await run(client, "whisper-1", audio=base64.b64encode(spoken).decode(), language="klingon")
    assert "ISO 639-1" in openai_error(response, 400, None, None)


async def test_run_needs_an_api_key(anonymous: httpx.AsyncClient) -> None:
    response = await run(anonymous, "s2-pro", text="Hi")
    assert "missing API key" in openai_error(response, 401, "invalid_api_key", None)


# -- the links --------------------------------------------------------------------------------


async def stored_link(client: httpx.AsyncClient) -> str:
    response = await run(client, "s2-pro", text="Hi.", format="wav")
    assert response.status_code == 200, response.text
    return str(response.json()["audio_url"])


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())).geturl()


def not_found(response: httpx.Response) -> None:
    """The one 404 every refused link gets, whatever the reason."""
    assert response.status_code == 404, response.text
    assert response.json() == {
        "status": 404, "message": "not found: this file link is unknown, malformed or expired"
    }  # fmt: skip


async def test_a_tampered_link_is_404(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    url = await stored_link(client)
    other = await stored_link(client)
    assert (await anonymous.get(url)).status_code == 200
    query = parse_qs(urlsplit(url).query)
    expires, sig = query["expires"][0], query["sig"][0]
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    for bad in [
        with_query(url, sig=flipped),
        with_query(url, expires=str(int(expires) + 3600)),  # extending a link breaks its signature
        with_query(url, sig=None),
        with_query(url, expires=None),
        with_query(url, expires="soon"),
        with_query(url, sig="é"),
        url.replace(urlsplit(url).path, urlsplit(other).path),  # another blob's id with this signature
        url.replace("/v1/files/", "/v1/files/0"),
    ]:
        not_found(await anonymous.get(bad))
    assert (await anonymous.get(url)).status_code == 200  # untouched, it still works
    assert (await anonymous.get(url.replace(".wav?", "?"))).status_code == 200  # the extension is optional
    head = await anonymous.head(url)
    assert head.status_code == 200 and head.headers["content-type"] == "audio/wav" and not head.content
    assert (await anonymous.head(with_query(url, sig=flipped))).status_code == 404


async def test_a_link_past_its_expiry_is_404_even_while_the_blob_lives(
    services: Services, anonymous: httpx.AsyncClient
) -> None:
    blob = await services.blobs.put(b"RIFF", "audio/wav", owner=None, ttl=3600)
    expired = dataclasses.replace(blob, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await anonymous.get(services.file_links.url(blob, BASE_URL))).status_code == 200
    not_found(await anonymous.get(services.file_links.url(expired, BASE_URL)))


async def test_an_expired_blob_is_404_and_purged(services: Services, anonymous: httpx.AsyncClient) -> None:
    blob = await services.blobs.put(b"RIFF", "audio/wav", owner=None, ttl=1.0)
    url = services.file_links.url(blob, BASE_URL)
    assert (await anonymous.get(url)).status_code == 200
    await asyncio.sleep(1.1)
    not_found(await anonymous.get(url))
    assert await services.blobs.get(blob.id) is None
    assert await services.blobs.delete(blob.id) is False  # already gone, not just hidden


async def test_a_deleted_blob_is_404(services: Services, anonymous: httpx.AsyncClient) -> None:
    blob = await services.blobs.put(b"RIFF", "audio/wav", owner=None, ttl=3600)
    url = services.file_links.url(blob, BASE_URL)
    await services.blobs.delete(blob.id)
    not_found(await anonymous.get(url))
