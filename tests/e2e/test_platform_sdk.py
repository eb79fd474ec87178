"""The platform through the official SDKs (fishaudio, legacy fish_audio_sdk, openai) on ``shoal serve``:
wallet endpoints parsed by both Fish SDKs, and the issue's story — an operator makes a key with credits
from the CLI, a client spends them, watches the balance fall, and meets 402 and 429.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from fish_audio_sdk import HttpCodeErr, Session, TTSRequest
from fishaudio import FishAudio
from fishaudio.exceptions import APIError, RateLimitError

from tests.asr_helpers import pcm_wav
from tests.conftest import RunningServer, run_cli

pytestmark = pytest.mark.e2e


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def admin_secret(server: RunningServer) -> str:
    """An admin key made by the operator's CLI on the running server's database."""
    created = run_cli(
        "keys", "create", "--name", unique("sdk-admin"), "--tier", "admin", data_dir=server.data_dir
    )
    return created.stdout.strip().splitlines()[-1]


def make_key(server: RunningServer, admin_secret: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{server.base_url}/v1/admin/keys",
        json={"name": unique("sdk"), **body},
        headers={"Authorization": f"Bearer {admin_secret}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def tone() -> bytes:
    """A second of a quiet tone: valid audio that costs 0.0001 credits to transcribe."""
    rate = 16000
    return pcm_wav(0.1 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate).astype(np.float32), rate)


def openai_client(server: RunningServer, secret: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=secret, base_url=f"{server.base_url}/v1", max_retries=0)


def test_new_sdk_parses_both_wallet_endpoints(server: RunningServer, admin_secret: str) -> None:
    key = make_key(server, admin_secret, credits="12.5")
    with FishAudio(api_key=key["secret"], base_url=server.base_url) as client:
        credits = client.account.get_credits()
        checked = client.account.get_credits(check_free_credit=True)
        package = client.account.get_package()
    assert credits.id == credits.user_id == key["account_id"]
    assert credits.credit == Decimal("12.5")
    assert credits.has_free_credit is None and checked.has_free_credit is False
    assert package.id == package.user_id == key["account_id"]
    assert (package.total, package.balance) == (12, 12)
    assert package.type and package.created_at and package.updated_at


def test_legacy_sdk_parses_both_wallet_endpoints(server: RunningServer, admin_secret: str) -> None:
    key = make_key(server, admin_secret, credits="12.5")
    with Session(key["secret"], base_url=server.base_url) as session:
        credit = session.get_api_credit()
        package = session.get_package()
    assert credit.user_id == key["account_id"] and credit.credit == Decimal("12.5")
    assert package.user_id == key["account_id"] and (package.total, package.balance) == (12, 12)
    assert isinstance(package.finished_at, str)


def test_done_when_story(server: RunningServer) -> None:
    """The issue's "done when", as a new user would try it."""
    # The operator: an account and a key with credit for exactly two "Hi." (3 bytes = 0.000045 credits
    # each), on the free plan (10 requests a minute).
    created = run_cli(
        "keys", "create", "--name", unique("customer"), "--credits", "0.00009", "--plan", "free",
        data_dir=server.data_dir,
    )  # fmt: skip
    secret = created.stdout.strip().splitlines()[-1]
    assert "plan free" in created.stdout
    headers = {"Authorization": f"Bearer {secret}"}
    requests = 0

    with (
        httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as http,
        FishAudio(api_key=secret, base_url=server.base_url) as client,
        Session(secret, base_url=server.base_url) as legacy,
    ):
        # Spend, and see the balance fall in the headers...
        response = http.post("/v1/tts", json={"text": "Hi.", "format": "mp3"})
        assert response.status_code == 200 and response.content
        assert Decimal(response.headers["x-shoal-cost"]) == Decimal("0.000045")
        assert Decimal(response.headers["x-shoal-balance"]) == Decimal("0.000045")
        # ...and in the wallet endpoint, through the SDK.
        assert client.account.get_credits().credit == Decimal("0.000045")
        audio = client.tts.convert(text="Hi.")
        assert audio
        assert client.account.get_credits().credit == 0
        assert legacy.get_api_credit().credit == 0
        package = legacy.get_package()
        assert package.balance == 0 and package.finished_at  # used up
        requests += 6

        # Empty: 402, surfaced by each SDK as its error with the status.
        with pytest.raises(APIError) as new_sdk:
            client.tts.convert(text="Hi.")
        assert new_sdk.value.status == 402 and "top up" in new_sdk.value.message
        with pytest.raises(HttpCodeErr) as old_sdk:
            list(legacy.tts(TTSRequest(text="Hi.")))
        assert old_sdk.value.status == 402  # its streaming call does not read the body: "Payment Required"
        requests += 2

        # Beyond the free plan's 10 requests a minute: 429.
        while requests < 10:
            assert http.get("/wallet/self/package").status_code == 200
            requests += 1
        refused = http.get("/wallet/self/api-credit")
        assert refused.status_code == 429
        assert refused.headers["x-ratelimit-limit-requests"] == "10"
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        with pytest.raises(RateLimitError) as limited:
            client.account.get_credits()
        assert limited.value.status == 429
        with pytest.raises(HttpCodeErr) as old_limited:
            legacy.get_api_credit()
        assert old_limited.value.status == 429


def test_openai_sdk_402_and_429(server: RunningServer, admin_secret: str, tone: bytes) -> None:
    broke = make_key(server, admin_secret, credits="0")
    hurried = make_key(server, admin_secret, requests_per_minute=1)
    upload = ("tone.wav", tone, "audio/wav")

    with openai_client(server, broke["secret"]) as client, pytest.raises(openai.APIStatusError) as payment:
        client.audio.transcriptions.create(model="whisper-1", file=upload)
    assert payment.value.status_code == 402
    assert not isinstance(payment.value, openai.RateLimitError)
    assert payment.value.code == "insufficient_balance"
    assert isinstance(payment.value.body, dict) and payment.value.body["type"] == "insufficient_balance"

    first = httpx.get(
        f"{server.base_url}/v1/usage", headers={"Authorization": f"Bearer {hurried['secret']}"}, timeout=30
    )
    assert first.status_code == 200
    with openai_client(server, hurried["secret"]) as client, pytest.raises(openai.RateLimitError) as limited:
        client.audio.transcriptions.create(model="whisper-1", file=upload)
    assert limited.value.status_code == 429
    assert limited.value.code == "rate_limit_exceeded"
    assert limited.value.response.headers["x-ratelimit-limit-requests"] == "1"
