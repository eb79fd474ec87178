"""The voices issue as a new user tries it: two clips of different people become two voice models,
a two-speaker dialogue is spoken in those voices, and a third account cannot see the private one.

Fish's SDK 1.3.0 types ``reference_id`` as a single string, so each voice is spoken through the SDK
and the dialogue (a ``reference_id`` list) goes over Fish's wire format (msgpack) directly."""

from __future__ import annotations

import httpx
import msgpack
import numpy as np
import pytest
from fishaudio import FishAudio
from fishaudio.exceptions import NotFoundError

from shoal.voices.builtin import BUILTIN_VOICES
from tests.audio_checks import Decoded, decode, median_pitch
from tests.conftest import RunningServer

pytestmark = pytest.mark.e2e

HIGH = next(voice.id for voice in BUILTIN_VOICES if voice.title == "Ava")
LOW = next(voice.id for voice in BUILTIN_VOICES if voice.title == "Walter")
CLIP_TEXT = "My name is on the door, and I have lived on this street for many years."
TURN = "I think we should take the early train into town tomorrow."
APART = 1.5
"""How much higher speaker A must sound than B: seven semitones."""


def key_of(server: RunningServer) -> str:
    response = httpx.post(
        f"{server.base_url}/v1/admin/keys", json={"name": "dialogue", "credits": "5"},
        headers={"Authorization": f"Bearer {admin(server)}"}, timeout=30,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


def admin(server: RunningServer) -> str:
    from tests.conftest import run_cli

    return run_cli(
        "keys", "create", "--name", "adm", "--tier", "admin", data_dir=server.data_dir
    ).stdout.splitlines()[-1]


def test_two_people_two_models_one_dialogue(server: RunningServer) -> None:
    owner, stranger = key_of(server), key_of(server)
    with FishAudio(api_key=owner, base_url=server.base_url) as client:
        # Two "people": recordings made with two very different voices.
        high_clip = client.tts.convert(text=CLIP_TEXT, reference_id=HIGH, format="wav")
        low_clip = client.tts.convert(text=CLIP_TEXT, reference_id=LOW, format="wav")
        first = client.voices.create(title="Neighbour A", voices=[high_clip], texts=[CLIP_TEXT])
        second = client.voices.create(title="Neighbour B", voices=[low_clip])  # transcribed by Shoal
        assert (first.state, second.state) == ("trained", "trained")
        a = decode(client.tts.convert(text=TURN, reference_id=first.id, format="wav"))
        b = decode(client.tts.convert(text=TURN, reference_id=second.id, format="wav"))
    # The built-in voices behind the clips are 2.5× apart in pitch; Piper samples its prosody, so
    # one sentence's median moves by a few semitones from take to take.
    assert median_pitch(a) > APART * median_pitch(b)

    body = {
        "text": f"<|speaker:0|>{TURN} <|speaker:1|>{TURN}",
        "format": "wav",
        "reference_id": [first.id, second.id],
    }
    response = httpx.post(
        f"{server.base_url}/v1/tts", content=msgpack.packb(body),
        headers={"Authorization": f"Bearer {owner}", "content-type": "application/msgpack"}, timeout=120,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    dialogue = decode(response.content)
    half = len(dialogue.samples) // 2
    turn_a, turn_b = (
        Decoded(part, dialogue.sample_rate, dialogue.codec) for part in np.split(dialogue.samples, [half])
    )
    assert median_pitch(turn_a) > APART * median_pitch(turn_b)

    with FishAudio(api_key=stranger, base_url=server.base_url) as client:
        with pytest.raises(NotFoundError):
            client.voices.get(first.id)
        assert first.id not in {voice.id for voice in client.voices.list(page_size=100).items}
        refused = httpx.post(
            f"{server.base_url}/v1/tts", json={"text": "Hello.", "reference_id": first.id},
            headers={"Authorization": f"Bearer {stranger}"}, timeout=60,
        )  # fmt: skip
        assert refused.status_code == 400  # a private voice of someone else does not exist for them
