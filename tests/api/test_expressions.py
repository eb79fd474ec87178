"""Expression tags on the local voice: never spoken, and heard as prosody (tempo, energy, pauses)."""

from __future__ import annotations

import httpx
import pytest

from shoal.text.markup import S1_TAGS
from shoal.voices.expression import NEUTRAL, TAGS, prosody_of
from tests.audio_checks import Decoded, decode

pytestmark = pytest.mark.asyncio

TEXT = "The garden looks lovely this morning."


async def speak(client: httpx.AsyncClient, text: str) -> Decoded:
    response = await client.post(
        "/v1/tts", json={"text": text, "format": "wav", "prosody": {"normalize_loudness": False}}
    )
    assert response.status_code == 200, response.text
    return decode(response.content)


async def test_slowly_and_quickly_change_the_tempo(client: httpx.AsyncClient) -> None:
    plain = await speak(client, TEXT)
    slow = await speak(client, f"[slowly] {TEXT}")
    fast = await speak(client, f"[quickly] {TEXT}")
    # Tempo stretches the words, not the silence around them: durations move less than the rates.
    assert slow.duration > plain.duration * 1.1
    assert fast.duration < plain.duration * 0.95
    assert fast.duration < slow.duration * 0.8


async def test_whispering_is_quieter_and_shouting_louder(client: httpx.AsyncClient) -> None:
    plain = await speak(client, TEXT)
    whisper = await speak(client, f"(whispering) {TEXT}")
    shout = await speak(client, f"(shouting) {TEXT}")
    assert whisper.rms_dbfs < plain.rms_dbfs - 6
    assert shout.rms_dbfs > plain.rms_dbfs + 3


async def test_a_break_is_a_pause_and_tags_are_not_spoken(client: httpx.AsyncClient) -> None:
    plain = await speak(client, "First part. Second part.")
    paused = await speak(client, "First part. (long-break) Second part.")
    assert paused.duration == pytest.approx(plain.duration + 0.9, abs=0.25)


async def test_unknown_tags_change_nothing(client: httpx.AsyncClient) -> None:
    plain = await speak(client, TEXT)
    tagged = await speak(client, f"[in the voice of a teapot] {TEXT}")
    # Piper's durations vary a little from run to run (its noise); a tag's effect is 20 % and more.
    assert tagged.duration == pytest.approx(plain.duration, rel=0.06)


async def test_the_table_covers_fishs_emotions() -> None:
    sounds = {
        "audience laughing", "background laughter", "chuckling", "crowd laughing", "gasping", "groaning",
        "laughing", "panting", "sighing", "snoring", "sobbing", "yawning",
    }  # fmt: skip
    assert S1_TAGS - sounds <= set(TAGS)
    assert prosody_of(("sad", "slowly")).rate < prosody_of(("sad",)).rate < 1
    assert prosody_of(("no such tag",)) == NEUTRAL
