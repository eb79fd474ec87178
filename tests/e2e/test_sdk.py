"""The official fish-audio-sdk, new and legacy clients, against a real ``shoal serve``."""

from __future__ import annotations

import pytest
from fish_audio_sdk import HttpCodeErr, Prosody, Session, TTSRequest
from fishaudio import AsyncFishAudio, FishAudio
from fishaudio.exceptions import AuthenticationError
from fishaudio.types import TTSConfig

from tests.audio_checks import assert_speech, decode
from tests.conftest import RunningServer

pytestmark = pytest.mark.e2e

TEXT = "The official client works against Shoal."


@pytest.mark.parametrize("audio_format", ["mp3", "wav", "pcm", "opus"])
def test_new_client_every_format(server: RunningServer, audio_format: str) -> None:
    with FishAudio(api_key=server.api_key, base_url=server.base_url) as client:
        audio = client.tts.convert(text=TEXT, format=audio_format)  # type: ignore[arg-type]
    decoded = decode(audio, pcm_rate=44100 if audio_format == "pcm" else None)
    assert_speech(decoded, min_seconds=1.5, max_seconds=6)


def test_new_client_config_speed_and_model(server: RunningServer) -> None:
    config = TTSConfig(format="wav", sample_rate=16000, latency="normal")
    with FishAudio(api_key=server.api_key, base_url=server.base_url) as client:
        normal = decode(client.tts.convert(text=TEXT, config=config, model="s1"))
        # The SDK warns about speech-1.x; Shoal still serves it.
        with pytest.warns(DeprecationWarning, match="speech-1"):
            fast = decode(client.tts.convert(text=TEXT, config=config, speed=1.5, model="speech-1.6"))
    assert normal.sample_rate == fast.sample_rate == 16000
    assert fast.duration < normal.duration * 0.85


@pytest.mark.asyncio
async def test_new_async_client_streams(server: RunningServer) -> None:
    async with AsyncFishAudio(api_key=server.api_key, base_url=server.base_url) as client:
        stream = await client.tts.stream(text=TEXT, format="mp3")
        chunks = [chunk async for chunk in stream]
    assert_speech(decode(b"".join(chunks)), min_seconds=1.5, max_seconds=6)


def test_new_client_bad_key(server: RunningServer) -> None:
    with (
        FishAudio(api_key="sk-shoal-wrong", base_url=server.base_url) as client,
        pytest.raises(AuthenticationError, match="invalid API key"),
    ):
        client.tts.convert(text=TEXT)


@pytest.mark.parametrize("audio_format", ["mp3", "wav", "pcm"])
def test_legacy_session_every_format(server: RunningServer, audio_format: str) -> None:
    request = TTSRequest(text=TEXT, format=audio_format)  # type: ignore[arg-type]
    with Session(server.api_key, base_url=server.base_url) as session:
        chunks = list(session.tts(request))
    assert len(chunks) >= 1
    decoded = decode(b"".join(chunks), pcm_rate=44100 if audio_format == "pcm" else None)
    assert_speech(decoded, min_seconds=1.5, max_seconds=6)


def test_legacy_session_prosody_and_backend(server: RunningServer) -> None:
    request = TTSRequest(text=TEXT, format="wav", prosody=Prosody(speed=1.0, volume=-6))
    with Session(server.api_key, base_url=server.base_url) as session:
        audio = b"".join(session.tts(request, backend="s2-pro"))
    assert_speech(decode(audio), min_seconds=1.5, max_seconds=6)


def test_legacy_session_bad_key(server: RunningServer) -> None:
    with Session("sk-shoal-wrong", base_url=server.base_url) as session, pytest.raises(HttpCodeErr) as caught:
        list(session.tts(TTSRequest(text=TEXT)))
    assert caught.value.status == 401
