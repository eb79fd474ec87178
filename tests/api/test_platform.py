"""The paid platform through the app in-process: 402/429/401/403, balance headers and fields, wallet
endpoints, ``GET /v1/usage`` and usage records.

Every test makes its own keys and accounts (unique names), so none depends on another's spending.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import re
import uuid
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from sqlalchemy import select

from shoal.app import create_app
from shoal.auth.keys import ApiKey, KeySpec, revoke_key, update_key
from shoal.auth.provisioning import provision_key
from shoal.billing.accounts import create_account, get_account
from shoal.billing.metering import Metering
from shoal.services import Services
from shoal.settings import ModelPrice, Settings
from shoal.storage.db.tables import usage_records

pytestmark = pytest.mark.asyncio

BASE_URL = "http://shoal.test"
TTS_PRICE = Decimal("15") / 1_000_000  # credits per UTF-8 byte (Fish's list price)
NANOS = 1_000_000_000
RESET = re.compile(r"^(\d+ms|\d+(\.\d+)?s|\d+m\d+s)$")
LONG_TEXT = " ".join(
    f"This is sentence number {n}, spoken to test an abandoned stream." for n in range(1, 41)
)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def new_key(services: Services, *, credits: str | None = None, **fields: Any) -> tuple[ApiKey, str]:
    """A key; with ``credits`` on a new prepaid account holding them, otherwise on the unmetered default."""
    spec = KeySpec(name=unique("platform"), **fields)
    return await provision_key(
        services.db, services.settings.billing, spec, credits=None if credits is None else Decimal(credits)
    )


@asynccontextmanager
async def calling(app: FastAPI, secret: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as http:
        yield http


async def tts(http: httpx.AsyncClient, text: str = "Hi.", **headers: str) -> httpx.Response:
    return await http.post("/v1/tts", json={"text": text, "format": "pcm"}, headers=headers)


async def transcribe(http: httpx.AsyncClient, wav: bytes, response_format: str = "json") -> httpx.Response:
    return await http.post(
        "/v1/audio/transcriptions",
        files={"file": ("speech.wav", wav, "audio/wav")},
        data={"model": "whisper-tiny.en", "response_format": response_format},
    )


async def fish_asr(http: httpx.AsyncClient, wav: bytes) -> httpx.Response:
    return await http.post("/v1/asr", files={"audio": ("speech.wav", wav, "audio/wav")})


def tts_cost(text: str, discount_percent: int = 0) -> Decimal:
    return len(text.encode()) * TTS_PRICE * (100 - discount_percent) / 100


def fish_error(response: httpx.Response, status: int) -> str:
    """Fish's error body, exactly ``{"status", "message"}``; returns the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "message"}, body
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body["message"]


def openai_error(response: httpx.Response, status: int, code: str | None, error_type: str) -> str:
    """OpenAI's envelope with ``code`` and ``type``; returns the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code
    assert body["error"]["type"] == error_type
    return str(body["error"]["message"])


@pytest_asyncio.fixture(scope="module")
async def wav(app: FastAPI, api_key: str) -> bytes:
    """About a second of speech, spoken by Shoal (unmetered key), for the transcription routes."""
    async with calling(app, api_key) as http:
        response = await http.post("/v1/tts", json={"text": "Hello there, my friend.", "format": "wav"})
    assert response.status_code == 200
    return response.content


# -- 402 ---------------------------------------------------------------------------------------


async def test_402_on_fish_routes_is_status_and_message_only(
    app: FastAPI, services: Services, wav: bytes
) -> None:
    key, secret = await new_key(services, credits="0")
    async with calling(app, secret) as http:
        responses = [await tts(http), await fish_asr(http, wav)]
    for response in responses:
        message = fish_error(response, 402)
        assert "insufficient credits" in message and "top up" in message
    account = await get_account(services.db, key.account_id)
    assert account is not None and account.balance_nanos == 0


async def test_402_on_openai_routes_is_the_insufficient_balance_envelope(
    app: FastAPI, services: Services, wav: bytes
) -> None:
    _, secret = await new_key(services, credits="0.00001")  # less than a second of audio costs
    async with calling(app, secret) as http:
        response = await transcribe(http, wav)
    message = openai_error(response, 402, "insufficient_balance", "insufficient_balance")
    assert "top up" in message
    assert response.json()["error"]["param"] is None


# -- balance headers and fields ------------------------------------------------------------------


async def test_balance_headers_cost_and_balance_with_a_discount(app: FastAPI, services: Services) -> None:
    _, secret = await new_key(services, credits="2", discount_bp=2500)
    texts = ["Hello café.", "Ünïcödé wörds cost more bytes."]
    balance = Decimal(2)
    async with calling(app, secret) as http:
        for text in texts:
            response = await tts(http, text)
            assert response.status_code == 200, response.text
            cost = tts_cost(text, discount_percent=25)
            assert Decimal(response.headers["x-shoal-cost"]) == cost
            assert response.headers["x-shoal-billed-units"] == str(len(text.encode()))
            assert response.headers["x-shoal-billed-unit"] == "utf8_bytes"
            balance -= cost
            assert Decimal(response.headers["x-shoal-balance"]) == balance
        wallet = (await http.get("/wallet/self/api-credit")).json()
    assert Decimal(wallet["credit"]) == balance
    assert Decimal(wallet["cumulative_top_up"]) == 2


async def test_balance_fields_in_openai_json(app: FastAPI, services: Services, wav: bytes) -> None:
    _, low = await new_key(services, credits="5")  # below the default threshold of 10
    _, high = await new_key(services, credits="50")
    async with calling(app, low) as http:
        plain = await transcribe(http, wav, "json")
        verbose = await transcribe(http, wav, "verbose_json")
    async with calling(app, high) as http:
        rich = await transcribe(http, wav, "json")
    for response, warning in ((plain, True), (verbose, True), (rich, False)):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["_balance_warning"] is warning
        assert body["_remaining_credits"] == float(Decimal(response.headers["x-shoal-balance"]))
        assert Decimal(response.headers["x-shoal-cost"]) > 0
    assert "segments" in verbose.json()
    assert verbose.json()["_remaining_credits"] < plain.json()["_remaining_credits"] < 5
    assert 49 < rich.json()["_remaining_credits"] < 50


async def test_balance_fields_absent_for_unmetered_accounts(client: httpx.AsyncClient, wav: bytes) -> None:
    response = await transcribe(client, wav, "json")
    assert response.status_code == 200
    assert "_balance_warning" not in response.json() and "_remaining_credits" not in response.json()
    assert "x-shoal-balance" not in response.headers
    assert Decimal(response.headers["x-shoal-cost"]) > 0  # still priced and recorded


@pytest.mark.parametrize("response_format", ["text", "srt"])
async def test_balance_fields_not_in_text_formats(
    app: FastAPI, services: Services, wav: bytes, response_format: str
) -> None:
    _, secret = await new_key(services, credits="5")
    async with calling(app, secret) as http:
        response = await transcribe(http, wav, response_format)
    assert response.status_code == 200
    assert "_balance_warning" not in response.text and "_remaining_credits" not in response.text
    assert Decimal(response.headers["x-shoal-balance"]) < 5  # the headers still say it


# -- 429 -------------------------------------------------------------------------------------------


async def test_requests_per_minute_429_on_both_surfaces(app: FastAPI, services: Services, wav: bytes) -> None:
    _, secret = await new_key(services, requests_per_minute=2)
    async with calling(app, secret) as http:
        allowed = [await http.get("/wallet/self/api-credit") for _ in range(2)]
        fish = await tts(http)
        openai = await transcribe(http, wav)
    assert [r.status_code for r in allowed] == [200, 200]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in allowed] == ["1", "0"]
    assert fish_error(fish, 429).startswith("rate limit reached: 2 requests per minute")
    openai_error(openai, 429, "rate_limit_exceeded", "rate_limit_error")
    for refused in (fish, openai):
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["x-ratelimit-limit-requests"] == "2"
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
        assert RESET.match(refused.headers["x-ratelimit-reset-requests"])


async def test_concurrency_429_while_a_live_socket_holds_the_slot(
    app: FastAPI, services: Services, wav: bytes
) -> None:
    _, secret = await new_key(services, concurrent_requests=1)
    async with (
        ASGIWebSocketTransport(app=app) as transport,
        httpx.AsyncClient(
            transport=transport, base_url=BASE_URL, headers={"Authorization": f"Bearer {secret}"}
        ) as http,
    ):
        async with aconnect_ws("/v1/tts/live", http):
            openai = await transcribe(http, wav)
            fish = await tts(http)
        openai_error(openai, 429, "concurrency_limit_exceeded", "rate_limit_error")
        assert "concurrency limit reached: 1 requests at once" in fish_error(fish, 429)
        for refused in (openai, fish):
            assert refused.headers["Retry-After"] == "1"
            assert refused.headers["x-ratelimit-limit-concurrency"] == "1"
            assert refused.headers["x-ratelimit-remaining-concurrency"] == "0"
            assert "x-ratelimit-reset-concurrency" in refused.headers
        # The socket is closed: its slot frees once the server side has wound down.
        for _ in range(100):
            after = await tts(http)
            if after.status_code != 429:
                break
            await asyncio.sleep(0.05)
    assert after.status_code == 200
    assert after.headers["x-ratelimit-limit-concurrency"] == "1"
    assert after.headers["x-ratelimit-remaining-concurrency"] == "0"  # this request holds the one slot


# -- 401 / 403 -------------------------------------------------------------------------------------


async def test_disabled_expired_and_revoked_keys_get_distinct_401s(app: FastAPI, services: Services) -> None:
    disabled_key, disabled = await new_key(services)
    await update_key(services.db, disabled_key.id, {"disabled": True})
    _, expired = await new_key(services, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    revoked_key, revoked = await new_key(services)
    assert await revoke_key(services.db, revoked_key.id)
    messages: dict[str, str] = {}
    for name, secret in (("disabled", disabled), ("expired", expired), ("revoked", revoked)):
        async with calling(app, secret) as http:
            fish = await tts(http)
            openai = await http.get("/v1/usage")
        message = fish_error(fish, 401)
        assert openai_error(openai, 401, "invalid_api_key", "authentication_error") == message
        assert fish.headers["WWW-Authenticate"] == "Bearer"
        messages[name] = message
    assert "disabled" in messages["disabled"] and "administrator" in messages["disabled"]
    assert "expired at" in messages["expired"]
    assert "revoked" in messages["revoked"]
    assert len(set(messages.values())) == 3


@pytest.fixture(scope="module")
def wholesale_app(settings: Settings, services: Services) -> FastAPI:
    """The app with model s1 sold wholesale only (same engines, same database)."""
    billing = settings.billing.model_copy(update={"prices": {"s1": ModelPrice(wholesale_only=True)}})
    changed = settings.model_copy(update={"billing": billing})
    copy = dataclasses.replace(
        services, settings=changed, metering=Metering(services.metering.wallet, changed.billing)
    )
    return create_app(changed, copy)


async def test_wholesale_only_model(wholesale_app: FastAPI, services: Services) -> None:
    _, standard = await new_key(services)
    _, wholesale = await new_key(services, tier="wholesale")
    _, admin = await new_key(services, tier="admin")
    async with calling(wholesale_app, standard) as http:
        refused = await tts(http, model="s1")
        other_model = await tts(http, model="s2-pro")
    message = fish_error(refused, 401)
    assert "'s1'" in message and "wholesale" in message
    assert other_model.status_code == 200
    for secret in (wholesale, admin):
        async with calling(wholesale_app, secret) as http:
            response = await tts(http, model="s1")
        assert response.status_code == 200, response.text
        assert response.content


async def test_key_restricted_to_models(app: FastAPI, services: Services) -> None:
    _, secret = await new_key(services, models=("s2-pro",))
    async with calling(app, secret) as http:
        refused = await tts(http, model="s1")
        allowed = await tts(http, model="s2-pro")
    message = fish_error(refused, 403)
    assert "'s1'" in message and "s2-pro" in message
    assert allowed.status_code == 200


# -- monthly cap -------------------------------------------------------------------------------------


async def test_monthly_cap_refuses_once_spent(app: FastAPI, services: Services, wav: bytes) -> None:
    text = "Hello."  # 6 bytes = 0.00009 credits: exactly the cap
    key, secret = await new_key(services, credits="10", monthly_cap_nanos=int(tts_cost(text) * NANOS))
    async with calling(app, secret) as http:
        spent = await tts(http, text)
        fish = await tts(http, "Hi.")
        openai = await transcribe(http, wav)
    assert spent.status_code == 200
    assert "monthly spending cap of 0.00009 credits" in fish_error(fish, 402)
    openai_error(openai, 402, "monthly_cap_exceeded", "invalid_request_error")
    account = await get_account(services.db, key.account_id)
    assert account is not None and Decimal(account.balance_nanos) / NANOS == 10 - tts_cost(text)


# -- wallet endpoints --------------------------------------------------------------------------------


async def test_wallet_endpoints_shapes(app: FastAPI, services: Services) -> None:
    key, secret = await new_key(services, credits="12.5")
    async with calling(app, secret) as http:
        credit = await http.get("/wallet/self/api-credit")
        checked = await http.get("/wallet/self/api-credit", params={"check_free_credit": "true"})
        package = await http.get("/wallet/self/package")
    assert credit.status_code == checked.status_code == package.status_code == 200
    body = credit.json()
    assert set(body) == {
        "_id", "user_id", "credit", "cumulative_top_up", "created_at", "updated_at", "has_phone_sha256",
        "has_free_credit",
    }  # fmt: skip
    assert body["_id"] == body["user_id"] == key.account_id
    assert body["credit"] == body["cumulative_top_up"] == "12.5"
    assert isinstance(body["created_at"], str) and isinstance(body["updated_at"], str)
    assert datetime.fromisoformat(body["created_at"]) <= datetime.fromisoformat(body["updated_at"])
    assert body["has_free_credit"] is None
    assert checked.json()["has_free_credit"] is False

    body = package.json()
    assert {"_id", "user_id", "type", "total", "balance", "created_at", "updated_at", "finished_at"} <= set(
        body
    )
    assert body["_id"] == body["user_id"] == key.account_id
    assert isinstance(body["type"], str) and body["type"]
    assert body["total"] == 12 and body["balance"] == 12
    assert isinstance(body["created_at"], str) and isinstance(body["updated_at"], str)
    assert isinstance(body["finished_at"], str)


async def test_wallet_package_of_an_empty_account_is_finished(app: FastAPI, services: Services) -> None:
    _, secret = await new_key(services, credits="0")
    async with calling(app, secret) as http:
        body = (await http.get("/wallet/self/package")).json()
    assert body["balance"] == 0
    assert isinstance(body["finished_at"], str) and datetime.fromisoformat(body["finished_at"])


async def test_wallet_of_another_account(app: FastAPI, services: Services, admin_key: str) -> None:
    _, secret = await new_key(services, credits="1")
    other = await create_account(services.db, name=unique("other"))
    for path in (f"/wallet/{other.id}/api-credit", f"/wallet/{other.id}/package"):
        async with calling(app, secret) as http:
            hidden = await http.get(path)
        async with calling(app, admin_key) as http:
            shown = await http.get(path)
        assert "self" in fish_error(hidden, 404)
        assert shown.status_code == 200
        assert shown.json()["_id"] == shown.json()["user_id"] == other.id


# -- GET /v1/usage -----------------------------------------------------------------------------------


async def test_usage_by_day_and_model(app: FastAPI, services: Services, admin_key: str) -> None:
    key, secret = await new_key(services, credits="1")
    texts = ["Hi.", "Hello there."]
    before = datetime.now(UTC).date()
    async with calling(app, secret) as http:
        for text in texts:
            assert (await tts(http, text)).status_code == 200
        own = await http.get("/v1/usage")
        other = await http.get("/v1/usage", params={"account_id": key.account_id})
        backwards = await http.get("/v1/usage", params={"start_date": "2026-02-01", "end_date": "2026-01-01"})
        malformed = await http.get("/v1/usage", params={"start_date": "yesterday"})
    after = datetime.now(UTC).date()
    async with calling(app, admin_key) as http:
        as_admin = await http.get("/v1/usage", params={"account_id": key.account_id})

    assert own.status_code == 200, own.text
    body = own.json()
    assert body["object"] == "list" and body["end_date"] == after.isoformat()
    [row] = body["data"]
    assert row["date"] in {before.isoformat(), after.isoformat()}
    assert (row["model"], row["kind"], row["unit"]) == ("s2-pro", "tts", "utf8_bytes")
    assert row["requests"] == 2
    assert row["units"] == sum(len(text.encode()) for text in texts)
    assert Decimal(row["cost"]) == Decimal(body["total_cost"]) == sum(tts_cost(text) for text in texts)

    assert "admin" in openai_error(other, 403, "permission_denied", "permission_error")
    openai_error(backwards, 400, None, "invalid_request_error")
    assert backwards.json()["error"]["message"] == "start_date must not be after end_date"
    assert malformed.status_code == 400
    assert malformed.json()["error"]["param"] == "start_date"
    assert as_admin.status_code == 200 and as_admin.json()["data"] == body["data"]


# -- usage records -----------------------------------------------------------------------------------


async def usage_record(services: Services, request_id: str) -> dict[str, Any]:
    async with services.db.read() as connection:
        rows = (
            (await connection.execute(select(usage_records).where(usage_records.c.request_id == request_id)))
            .mappings()
            .all()
        )
    assert len(rows) == 1, rows
    return dict(rows[0])


async def test_usage_record_of_a_tts_request(app: FastAPI, services: Services) -> None:
    key, secret = await new_key(services, credits="3", discount_bp=1000)
    text = "Recorded to the last byte: naïve."
    async with calling(app, secret) as http:
        response = await tts(http, text)
    assert response.status_code == 200
    record = await usage_record(services, response.headers["x-request-id"])
    cost = tts_cost(text, discount_percent=10)
    assert record["key_id"] == key.id and record["account_id"] == key.account_id
    assert (record["model"], record["kind"], record["unit"]) == ("s2-pro", "tts", "utf8_bytes")
    assert record["units"] == len(text.encode())
    assert record["unit_price"] == pytest.approx(15e-6)
    assert record["discount_bp"] == 1000
    assert record["cost_nanos"] == cost * NANOS
    assert record["balance_after_nanos"] == (3 - cost) * NANOS
    assert Decimal(response.headers["x-shoal-balance"]) * NANOS == record["balance_after_nanos"]
    assert record["outcome"] == "completed"


async def abandon(app: FastAPI, services: Services, secret: str, *, stop_reading: bool) -> str:
    """Drive the app as uvicorn does (ASGI 2.3: ``http.disconnect`` from ``receive``) for a client that
    asks for a 40-sentence text, takes the first audio, and goes away; returns the request id.

    ``stop_reading``: the client stops reading first, so the server is waiting for the socket to drain
    (uvicorn's ``send`` blocks) when the disconnect arrives; otherwise it is busy synthesizing.
    """
    request_id = unique("abandoned")
    body = httpx.Request("POST", BASE_URL, json={"text": LONG_TEXT, "format": "pcm", "chunk_length": 100})
    gone = asyncio.Event()
    sent: list[MutableMapping[str, Any]] = []
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        if received == 1:
            return {"type": "http.request", "body": body.read(), "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        audio = [m for m in sent if m["type"] == "http.response.body" and m.get("body")]
        if audio and stop_reading:
            gone.set()  # the client has stopped reading, then goes away,
            await asyncio.Event().wait()  # while this send waits for the socket to drain
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body") and not stop_reading:
            gone.set()  # the client goes away after the first audio, while the server synthesizes

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/tts", "raw_path": b"/v1/tts", "query_string": b"", "root_path": "",
        "headers": [
            (b"host", b"shoal.test"), (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {secret}".encode()), (b"x-request-id", request_id.encode()),
        ],
        "client": ("127.0.0.1", 1234), "server": ("shoal.test", 80),
    }  # fmt: skip
    await asyncio.wait_for(app(scope, receive, send), timeout=60)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert not any(message.get("more_body") is False for message in sent[1:])  # never finished
    await engines_idle(app, services)
    return request_id


async def engines_idle(app: FastAPI, services: Services) -> None:
    """Wait until no TTS engine holds an admitted request (a generator left suspended is collected
    and closed here, not after the event loop has gone), then until the engine thread has finished
    the piece it was working on: one more request queues behind it."""
    for _ in range(200):
        if not any(engine.stats().admitted for engine in services.engines):
            break
        gc.collect()
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the abandoned request still holds an engine")
    _, secret = await new_key(services)
    async with calling(app, secret) as http:
        assert (await tts(http)).status_code == 200


async def assert_billed_in_part(services: Services, key: ApiKey, request_id: str) -> None:
    record = await usage_record(services, request_id)
    total = len(LONG_TEXT.encode())
    assert record["outcome"] == "cancelled"
    assert 0 <= record["units"] < total / 2
    assert record["cost_nanos"] == int(record["units"]) * 15_000
    account = await get_account(services.db, key.account_id)
    assert account is not None
    assert account.balance_nanos == NANOS - record["cost_nanos"]
    assert record["balance_after_nanos"] == account.balance_nanos


async def test_abandoned_stream_bills_only_the_part_spoken(app: FastAPI, services: Services) -> None:
    key, secret = await new_key(services, credits="1")
    request_id = await abandon(app, services, secret, stop_reading=False)
    await assert_billed_in_part(services, key, request_id)


async def test_abandoned_stream_bills_the_part_spoken_when_the_client_stopped_reading(
    app: FastAPI, services: Services
) -> None:
    key, secret = await new_key(services, credits="1")
    request_id = await abandon(app, services, secret, stop_reading=True)
    await assert_billed_in_part(services, key, request_id)
