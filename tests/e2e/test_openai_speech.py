"""OpenAI ``/v1/audio/speech`` and ``/v1/models`` through the official ``openai`` SDK on ``shoal serve``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import OpenAI

from tests.audio_checks import assert_speech, decode
from tests.conftest import RunningServer, run_cli

pytestmark = pytest.mark.e2e

TEXT = "Hello there, this is Shoal speaking."
CODECS = {"mp3": "mp3", "opus": "opus", "aac": "aac", "flac": "flac", "wav": "pcm_s16le"}


@pytest.fixture
def client(server: RunningServer) -> Iterator[OpenAI]:
    with OpenAI(api_key=server.api_key, base_url=f"{server.base_url}/v1", max_retries=0) as sdk:
        yield sdk


@pytest.mark.parametrize("response_format", ["mp3", "opus", "aac", "flac", "wav", "pcm"])
def test_every_format_is_speech_at_24_khz(client: OpenAI, response_format: str) -> None:
    response = client.audio.speech.create(
        model="tts-1",
        voice="alloy",
        input=TEXT,
        response_format=response_format,  # type: ignore[arg-type]
    )
    data = response.read()
    decoded = decode(data, pcm_rate=24000) if response_format == "pcm" else decode(data)
    if response_format != "pcm":
        assert decoded.codec.startswith(CODECS[response_format])
        assert decoded.sample_rate == (48000 if response_format == "opus" else 24000)  # Opus decodes at 48k
    assert_speech(decoded, min_seconds=1.0, max_seconds=6.0)


def test_streamed_audio_arrives_in_pieces(client: OpenAI) -> None:
    long_text = " ".join(
        f"Sentence number {n} is spoken while the next one is synthesized." for n in range(6)
    )
    with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="coral", input=long_text, response_format="pcm"
    ) as response:
        assert response.headers["content-type"].startswith("audio/pcm")
        pieces = [piece for piece in response.iter_bytes() if piece]
    assert len(pieces) > 3
    assert_speech(decode(b"".join(pieces), pcm_rate=24000), min_seconds=8.0, max_seconds=40.0)


def test_sse_stream_carries_deltas_then_done(client: OpenAI) -> None:
    response = client.audio.speech.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="mp3", extra_body={"stream_format": "sse"}
    )
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert [event["type"] for event in events[:-1]] == ["speech.audio.delta"] * (len(events) - 1)
    assert events[-1]["type"] == "speech.audio.done"
    assert events[-1]["usage"]["input_tokens"] == len(TEXT)
    audio = b"".join(base64.b64decode(event["audio"]) for event in events[:-1])
    assert_speech(decode(audio), min_seconds=1.0, max_seconds=6.0)


def test_a_shoal_voice_id_by_name_or_object(server: RunningServer) -> None:
    for voice in ("joe", {"id": "joe"}):
        response = httpx.post(
            f"{server.base_url}/v1/audio/speech",
            headers={"Authorization": f"Bearer {server.api_key}"},
            json={"model": "s2-pro", "voice": voice, "input": "Hi there.", "response_format": "wav"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert_speech(decode(response.content), min_seconds=0.3, max_seconds=4.0)


def test_errors_come_in_the_openai_envelope(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing_model:
        client.audio.speech.create(model="tts-9", voice="alloy", input=TEXT)
    assert missing_model.value.code == "model_not_found"
    assert missing_model.value.param is None  # as OpenAI answers it
    with pytest.raises(openai.BadRequestError) as missing_voice:
        client.audio.speech.create(model="tts-1", voice="nobody-here", input=TEXT)  # type: ignore[arg-type]
    assert missing_voice.value.code == "voice_not_found" and missing_voice.value.param == "voice"
    with pytest.raises(openai.BadRequestError) as too_fast:
        client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, speed=5)
    assert too_fast.value.param == "speed"
    with pytest.raises(openai.BadRequestError) as bad_format:
        client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="ogg")  # type: ignore[arg-type]
    assert bad_format.value.param == "response_format"


def test_speech_is_billed_and_refused_at_402_when_the_credit_is_gone(server: RunningServer) -> None:
    key = run_cli("keys", "create", "--name", "speech", "--credits", "0.0006", data_dir=server.data_dir)
    secret = key.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {secret}"}
    body = {"model": "tts-1", "voice": "alloy", "input": "Hi there, friend.", "response_format": "wav"}
    first = httpx.post(f"{server.base_url}/v1/audio/speech", headers=headers, json=body, timeout=60)
    assert first.status_code == 200
    assert first.headers["x-shoal-cost"] == "0.000255"  # 17 bytes at 15 credits per million
    assert first.headers["x-shoal-balance"] == "0.000345"
    httpx.post(
        f"{server.base_url}/v1/audio/speech", headers=headers, json=body, timeout=60
    ).raise_for_status()
    refused = httpx.post(f"{server.base_url}/v1/audio/speech", headers=headers, json=body, timeout=60)
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "insufficient_balance"


def test_models_lists_speech_and_transcription_models_with_kind_and_price(client: OpenAI) -> None:
    listed = {model.id: model.model_dump() for model in client.models.list()}
    assert {"s2-pro", "s1", "tts-1", "fish-audio-s2-pro", "whisper-base", "whisper-1"} <= set(listed)
    assert listed["tts-1"]["kind"] == "tts" and listed["tts-1"]["serves"] == "s2-pro"
    assert listed["tts-1"]["price"]["per_million_utf8_bytes"] == 15.0
    assert listed["whisper-1"]["kind"] == "asr" and listed["whisper-1"]["price"]["per_audio_hour"] == 0.36
    assert all(model["object"] == "model" and model["owned_by"] == "shoal" for model in listed.values())
