"""The speech model through chat completions: OpenAI's audio output shape
(``choices[0].message.audio = {id, data, expires_at, transcript}``), spoken by Shoal's own engine."""

from __future__ import annotations

import base64
import time

import openai
import pytest

from tests.audio_checks import assert_speech, decode
from tests.gateway.conftest import Gateway
from tests.gateway.helpers import sdk, user

pytestmark = pytest.mark.e2e

TEXT = "Hello there."


def test_speech_model_answers_with_wav_audio(gateway: Gateway) -> None:
    with sdk(gateway) as client:
        completion = client.chat.completions.create(
            model="fish-audio-s2-pro",
            modalities=["text", "audio"],
            audio={"voice": "alloy", "format": "wav"},
            messages=user(TEXT),
        )
    assert completion.object == "chat.completion"
    message = completion.choices[0].message
    assert message.role == "assistant"
    audio = message.audio
    assert audio is not None
    assert audio.id
    assert isinstance(audio.expires_at, int) and audio.expires_at > time.time()
    assert audio.transcript == TEXT
    data = base64.b64decode(audio.data)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert_speech(decode(data), min_seconds=0.4, max_seconds=5.0)
    assert completion.choices[0].finish_reason == "stop"


def test_speech_model_answers_with_mp3_audio(gateway: Gateway) -> None:
    with sdk(gateway) as client:
        completion = client.chat.completions.create(
            model="fish-audio-s2-pro",
            modalities=["text", "audio"],
            audio={"voice": "alloy", "format": "mp3"},
            messages=[
                {"role": "system", "content": "Speak."},
                {"role": "user", "content": "Not this one."},
                {"role": "assistant", "content": "Fine."},
                {"role": "user", "content": TEXT},
            ],
        )
    audio = completion.choices[0].message.audio
    assert audio is not None and audio.transcript == TEXT  # the last user message is spoken
    data = base64.b64decode(audio.data)
    assert data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0), data[:4]
    decoded = decode(data)
    assert decoded.codec.startswith("mp3")
    assert_speech(decoded, min_seconds=0.4, max_seconds=5.0)


def test_speech_model_with_an_unknown_voice_is_400(gateway: Gateway) -> None:
    with sdk(gateway) as client, pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="fish-audio-s2-pro",
            modalities=["text", "audio"],
            audio={"voice": "nobody-here", "format": "wav"},
            messages=user(TEXT),
        )
    assert caught.value.code == "voice_not_found"


def test_speech_model_streams_pcm16_audio_deltas(gateway: Gateway) -> None:
    with sdk(gateway) as client:
        stream = client.chat.completions.create(
            model="tts-1",
            modalities=["text", "audio"],
            audio={"voice": "alloy", "format": "pcm16"},
            messages=user(TEXT),
            stream=True,
        )
        deltas = [chunk.choices[0].delta.model_dump() for chunk in stream if chunk.choices]
    audio = [delta["audio"] for delta in deltas if delta.get("audio")]
    assert len({piece["id"] for piece in audio}) == 1
    pcm = b"".join(base64.b64decode(piece["data"]) for piece in audio if piece.get("data"))
    assert_speech(decode(pcm, pcm_rate=24000), min_seconds=0.4, max_seconds=5.0)  # pcm16 is 24 kHz
    transcript = "".join(piece.get("transcript") or "" for piece in audio)
    assert transcript == TEXT
    assert any(isinstance(piece.get("expires_at"), int) for piece in audio)
