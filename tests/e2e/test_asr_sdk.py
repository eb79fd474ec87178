"""Speech to text through the official SDKs (fishaudio, legacy fish_audio_sdk, openai) on `shoal serve`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

import httpx
import openai
import pytest
from fish_audio_sdk import ASRRequest, HttpCodeErr, Session
from fishaudio import FishAudio
from fishaudio.exceptions import AuthenticationError as FishAuthenticationError
from openai import OpenAI
from openai.types.audio import (
    Transcription,
    TranscriptionTextDeltaEvent,
    TranscriptionTextDoneEvent,
    TranscriptionVerbose,
    Translation,
)

from tests.asr_helpers import Speech, synthesize_sync, wer
from tests.conftest import RunningServer

pytestmark = pytest.mark.e2e

TEXT = "Please bring your laptop and a notebook to the meeting tomorrow morning."


@pytest.fixture(scope="module")
def speech(server: RunningServer) -> Speech:
    """``TEXT`` spoken by the server's own TTS, as WAV: a rendition the server hears word for word.

    Piper's voice varies a little from run to run and now and then Whisper mishears a word or two of
    a rendition ("a notebook" as "an opok"); every test here shares the clip, so one such rendition
    failed them all. These tests check the SDK surfaces; test_asr.py measures the error rate.
    """
    headers = {"Authorization": f"Bearer {server.api_key}"}
    heard = []
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as http:
        for _ in range(4):
            speech = synthesize_sync(http, TEXT)
            response = http.post(
                "/v1/audio/transcriptions",
                files={"file": upload(speech)},
                data={"model": "whisper-1", "response_format": "text"},
            )
            assert response.status_code == 200, response.text
            if wer(TEXT, response.text) == 0:
                return speech
            heard.append(response.text)
    raise AssertionError(f"no rendition of {TEXT!r} was heard right: {heard}")


@pytest.fixture
def openai_client(server: RunningServer) -> Iterator[OpenAI]:
    with OpenAI(api_key=server.api_key, base_url=f"{server.base_url}/v1", max_retries=0) as client:
        yield client


def upload(speech: Speech) -> tuple[str, bytes, str]:
    return ("speech.wav", speech.wav, "audio/wav")


# -- Fish Audio SDKs --------------------------------------------------------------------


def test_fishaudio_asr_with_timestamps(server: RunningServer, speech: Speech) -> None:
    with FishAudio(api_key=server.api_key, base_url=server.base_url) as client:
        result = client.asr.transcribe(audio=speech.wav, language="en")  # include_timestamps=True
    assert wer(TEXT, result.text) <= 0.1, result.text
    assert result.duration == pytest.approx(speech.duration, abs=0.05)  # seconds
    assert result.segments
    starts = [segment.start for segment in result.segments]
    assert starts == sorted(starts)
    for segment in result.segments:
        assert segment.text.strip()
        assert 0 <= segment.start < result.duration and segment.start <= segment.end


def test_fishaudio_asr_without_timestamps(server: RunningServer, speech: Speech) -> None:
    with FishAudio(api_key=server.api_key, base_url=server.base_url) as client:
        result = client.asr.transcribe(audio=speech.wav, language="en", include_timestamps=False)
    assert wer(TEXT, result.text) <= 0.1, result.text
    assert result.duration == pytest.approx(speech.duration, abs=0.05)
    assert result.segments == []


def test_fishaudio_asr_bad_key(server: RunningServer, speech: Speech) -> None:
    with (
        FishAudio(api_key="sk-shoal-wrong", base_url=server.base_url) as client,
        pytest.raises(FishAuthenticationError, match="invalid API key"),
    ):
        client.asr.transcribe(audio=speech.wav)


def test_legacy_session_asr_sends_nulls(server: RunningServer, speech: Speech) -> None:
    # ASRRequest's defaults are None: the body carries "language": null and "ignore_timestamps": null.
    with Session(server.api_key, base_url=server.base_url) as session:
        result = session.asr(ASRRequest(audio=speech.wav))
    assert wer(TEXT, result.text) <= 0.1, result.text
    assert result.duration == pytest.approx(speech.duration, abs=0.05)
    assert result.segments == []  # null means the default: no timestamps


def test_legacy_session_asr_garbage_is_a_readable_400(server: RunningServer) -> None:
    with Session(server.api_key, base_url=server.base_url) as session, pytest.raises(HttpCodeErr) as caught:
        session.asr(ASRRequest(audio=b"this is not audio at all" * 10))
    assert caught.value.status == 400
    assert "wav, mp3" in caught.value.message


# -- OpenAI SDK -------------------------------------------------------------------------


def test_openai_json(openai_client: OpenAI, speech: Speech) -> None:
    result = openai_client.audio.transcriptions.create(
        model="whisper-1", file=upload(speech), response_format="json", language="en"
    )
    assert isinstance(result, Transcription)
    assert wer(TEXT, result.text) <= 0.1, result.text


def test_openai_text(openai_client: OpenAI, speech: Speech) -> None:
    result = openai_client.audio.transcriptions.create(
        model="whisper-1", file=upload(speech), response_format="text", language="en"
    )
    assert isinstance(result, str)
    assert wer(TEXT, result) <= 0.1, result


@pytest.mark.parametrize(
    ("response_format", "header", "timing"),
    [
        ("srt", "1\n", r"\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}"),
        ("vtt", "WEBVTT\n\n", r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}"),
    ],
)
def test_openai_subtitles(
    openai_client: OpenAI, speech: Speech, response_format: Literal["srt", "vtt"], header: str, timing: str
) -> None:
    result = openai_client.audio.transcriptions.create(
        model="whisper-1",
        file=upload(speech),
        response_format=response_format,
        language="en",
    )
    assert isinstance(result, str)
    assert result.startswith(header)
    lines = result.strip().split("\n")
    assert re.search(timing, result)
    spoken = [
        line for line in lines if line and not line.isdigit() and "-->" not in line and line != "WEBVTT"
    ]
    assert wer(TEXT, " ".join(spoken)) <= 0.1, result


def test_openai_verbose_json_words_and_segments(openai_client: OpenAI, speech: Speech) -> None:
    result = openai_client.audio.transcriptions.create(
        model="whisper-1",
        file=upload(speech),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert isinstance(result, TranscriptionVerbose)
    assert result.language == "english"
    assert result.duration == pytest.approx(speech.duration, abs=0.05)
    assert wer(TEXT, result.text) <= 0.1, result.text
    assert result.segments and result.words
    starts = [word.start for word in result.words]
    assert starts == sorted(starts)
    assert all(word.start <= word.end for word in result.words)
    assert wer(TEXT, " ".join(word.word for word in result.words)) <= 0.1
    assert result.usage is not None and result.usage.type == "duration"


def test_openai_stream(openai_client: OpenAI, speech: Speech) -> None:
    stream = openai_client.audio.transcriptions.create(
        model="whisper-1", file=upload(speech), stream=True, language="en"
    )
    with stream:
        events = list(stream)
    *deltas, done = events
    assert deltas and all(isinstance(event, TranscriptionTextDeltaEvent) for event in deltas)
    assert isinstance(done, TranscriptionTextDoneEvent)
    assert done.text == "".join(
        event.delta for event in deltas if isinstance(event, TranscriptionTextDeltaEvent)
    )
    assert wer(TEXT, done.text) <= 0.1, done.text


def test_openai_translation(openai_client: OpenAI, speech: Speech) -> None:
    # OpenAI marks its translations endpoint deprecated; the SDK warns, and Shoal still serves it.
    with pytest.warns(DeprecationWarning, match="deprecated"):
        result = openai_client.audio.translations.create(model="whisper-1", file=upload(speech))
    assert isinstance(result, Translation)
    # Whisper's translate task decodes English speech with a different prompt and now and then mishears a
    # word ("laptop" → "lap up"): two words in twelve still show the route returns the spoken text.
    assert wer(TEXT, result.text) <= 0.2, result.text


def test_openai_unknown_model(openai_client: OpenAI, speech: Speech) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        openai_client.audio.transcriptions.create(model="no-such-model", file=upload(speech))
    assert caught.value.status_code == 404
    assert caught.value.code == "model_not_found"
    assert "no-such-model" in caught.value.message


def test_openai_wrong_key(server: RunningServer, speech: Speech) -> None:
    with (
        OpenAI(api_key="sk-shoal-wrong", base_url=f"{server.base_url}/v1", max_retries=0) as client,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        client.audio.transcriptions.create(model="whisper-1", file=upload(speech))
    assert caught.value.status_code == 401
    assert caught.value.type == "authentication_error"
