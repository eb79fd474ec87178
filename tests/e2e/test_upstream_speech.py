"""Speech routed to upstreams: Shoal A serves ``s2-pro`` and ``whisper-base`` from Shoal B over Fish's
wire format (and models from B's OpenAI surface), while the official SDKs talk to A as they would to
Fish or OpenAI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import msgpack
import pytest
from fish_audio_sdk import ASRRequest, ReferenceAudio, Session, TTSRequest
from fishaudio import FishAudio
from fishaudio.exceptions import FishAudioError
from openai import OpenAI

from tests.audio_checks import assert_speech, decode
from tests.conftest import RunningServer, free_port, launch, run_cli, stop

pytestmark = pytest.mark.e2e

TEXT = "Routed through a second server."


@dataclass
class Chain:
    base_url: str
    key: str
    """A prepaid key on Shoal A with 1 credit."""
    admin_key: str
    b: RunningServer


def _b_requests(b: RunningServer, path: str) -> int:
    """How many requests Shoal B's access log shows for ``path``."""
    return len(re.findall(rf'"POST {re.escape(path)} HTTP/1.1" \d+', b.log.read_text()))


@pytest.fixture(scope="module")
def chain(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    data_dir = tmp_path_factory.mktemp("shoal-a")
    config = data_dir / "shoal.toml"
    config.write_text(
        f"""
[upstreams.b]
kind = "fish"
base_url = "{server.base_url}"
api_key_env = "SHOAL_TEST_B_KEY"

[upstreams.b-openai]
kind = "openai"
base_url = "{server.base_url}/v1"
api_key_env = "SHOAL_TEST_B_KEY"

[upstreams.nowhere]
kind = "fish"
base_url = "http://127.0.0.1:{free_port()}"
connect_timeout_seconds = 0.5
max_retries = 0
failure_threshold = 1
cooldown_seconds = 600

[tts.models.s2-pro]
deployments = [{{upstream = "b", model = "s2-pro"}}]

[tts.models.s1]
deployments = [{{upstream = "nowhere", model = "s1", weight = 1000}}, {{upstream = "b", model = "s1"}}]

[tts.models.b-openai]
deployments = [{{upstream = "b-openai", model = "tts-1"}}]

[stt.models.whisper-base]
deployments = [{{upstream = "b", model = "whisper-base"}}]

[stt.models.b-openai-stt]
deployments = [{{upstream = "b-openai", model = "whisper-1"}}]
"""
    )
    key = run_cli("keys", "create", "--name", "a", "--credits", "1", data_dir=data_dir).stdout.splitlines()[
        -1
    ]
    admin = run_cli("keys", "create", "--name", "adm", "--tier", "admin", data_dir=data_dir)
    base_url, process, _ = launch(data_dir, "--config", str(config), env={"SHOAL_TEST_B_KEY": server.api_key})
    yield Chain(base_url, key, admin.stdout.splitlines()[-1], server)
    stop(process)


def test_fish_sdk_reaches_b_through_a(chain: Chain) -> None:
    before = _b_requests(chain.b, "/v1/tts")
    with FishAudio(api_key=chain.key, base_url=chain.base_url) as client:
        audio = client.tts.convert(text=TEXT, format="wav", model="s2-pro")
    assert_speech(decode(audio), min_seconds=1.0, max_seconds=6)
    assert _b_requests(chain.b, "/v1/tts") == before + 1


def test_billed_at_a_by_utf8_bytes(chain: Chain) -> None:
    text = "Grüße aus A."  # 14 UTF-8 bytes, 12 characters
    response = httpx.post(
        f"{chain.base_url}/v1/tts",
        json={"text": text, "format": "pcm"},
        headers={"Authorization": f"Bearer {chain.key}", "model": "s2-pro"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-shoal-billed-units"] == "14"
    assert Decimal(response.headers["x-shoal-cost"]) == Decimal(14) * Decimal(15) / Decimal(1_000_000)
    assert len(response.content) > 8000


def test_legacy_session_references_and_dialogue_pass_through(chain: Chain, tmp_path: Path) -> None:
    """Inline references (bytes in msgpack) and a reference_id list with speaker tags reach B intact:
    B answers with speech, which it could not if the body arrived mangled."""
    reference_text = "This is a reference clip, long enough for the voice to be measured."
    with FishAudio(api_key=chain.b.api_key, base_url=chain.b.base_url) as direct:
        clip = direct.tts.convert(text=reference_text, format="wav")
    request = TTSRequest(
        text="<|speaker:0|>First voice. <|speaker:1|>Second voice.",
        format="mp3",
        references=[ReferenceAudio(audio=clip, text=reference_text)],
    )
    with Session(chain.key, base_url=chain.base_url) as session:
        audio = b"".join(session.tts(request, backend="s2-pro"))
    assert_speech(decode(audio), min_seconds=1.0, max_seconds=8)


def test_upstream_refusal_keeps_its_message_and_costs_nothing(chain: Chain) -> None:
    body = msgpack.packb({"text": "Hello.", "reference_id": "no-such-voice"})
    headers = {
        "Authorization": f"Bearer {chain.key}",
        "content-type": "application/msgpack",
        "model": "s2-pro",
    }
    response = httpx.post(f"{chain.base_url}/v1/tts", content=body, headers=headers, timeout=60)
    assert response.status_code == 400
    assert "no-such-voice" in response.json()["message"]
    with FishAudio(api_key=chain.key, base_url=chain.base_url) as client, pytest.raises(FishAudioError):
        client.tts.convert(text="Hello.", reference_id="no-such-voice", model="s2-pro")


def test_failover_and_breaker(chain: Chain) -> None:
    with FishAudio(api_key=chain.key, base_url=chain.base_url) as client:
        for _ in range(2):  # the heavy deployment is down: the first request fails over, the second skips it
            assert_speech(
                decode(client.tts.convert(text="Failing over.", format="wav", model="s1")),
                min_seconds=0.5,
                max_seconds=5,
            )
    health = httpx.get(
        f"{chain.base_url}/v1/admin/upstreams", headers={"Authorization": f"Bearer {chain.admin_key}"}
    ).json()["data"]
    states = {(row["model"], row["upstream"]): row for row in health}
    assert states["s1", "nowhere"]["state"] == "open"
    assert states["s1", "nowhere"]["consecutive_failures"] == 1
    assert "unreachable" in states["s1", "nowhere"]["last_error"]
    assert states["s1", "b"]["state"] == "closed"


@pytest.mark.parametrize("response_format", ["flac", "aac", "mp3"])
def test_openai_sdk_through_a(chain: Chain, response_format: str) -> None:
    """FLAC and AAC are not Fish formats: A asks B for PCM and encodes them itself."""
    with OpenAI(api_key=chain.key, base_url=f"{chain.base_url}/v1", max_retries=0) as client:
        data = client.audio.speech.create(
            model="fish-audio-s2-pro",
            voice="alloy",
            input=TEXT,
            response_format=response_format,  # type: ignore[arg-type]
        ).read()
    decoded = decode(data)
    assert decoded.sample_rate == 24000
    assert_speech(decoded, min_seconds=1.0, max_seconds=6)


def test_openai_compatible_tts_upstream(chain: Chain) -> None:
    before = _b_requests(chain.b, "/v1/audio/speech")
    with OpenAI(api_key=chain.key, base_url=f"{chain.base_url}/v1", max_retries=0) as client:
        data = client.audio.speech.create(
            model="b-openai", voice="alloy", input=TEXT, response_format="wav"
        ).read()
    assert_speech(decode(data), min_seconds=1.0, max_seconds=6)
    assert _b_requests(chain.b, "/v1/audio/speech") == before + 1


def test_audio_streams_through_in_pieces(chain: Chain) -> None:
    text = " ".join(["This sentence is spoken while the next one is still being made."] * 4)
    with httpx.stream(
        "POST", f"{chain.base_url}/v1/tts", json={"text": text, "format": "pcm", "latency": "balanced"},
        headers={"Authorization": f"Bearer {chain.key}", "model": "s2-pro"}, timeout=120,
    ) as response:  # fmt: skip
        assert response.status_code == 200
        pieces = [piece for piece in response.iter_raw() if piece]
    assert len(pieces) > 3  # relayed as B produced it, not gathered first


def test_instructions_travel_as_a_cue(chain: Chain) -> None:
    """OpenAI's ``instructions`` become an S2-Pro ``[cue]`` ahead of the text, which is what reaches the
    Fish upstream (and what is billed); brackets inside cannot break out of it."""
    response = httpx.post(
        f"{chain.base_url}/v1/audio/speech",
        json={"model": "s2-pro", "input": "Hi.", "voice": "alloy", "response_format": "pcm",
              "instructions": "  Speak [warmly]\n and slowly. "},
        headers={"Authorization": f"Bearer {chain.key}"}, timeout=60,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["x-shoal-billed-units"] == str(len(b"[Speak (warmly) and slowly.] Hi."))
    assert len(response.content) > 4000


@pytest.fixture(scope="module")
def spoken(chain: Chain) -> bytes:
    with FishAudio(api_key=chain.b.api_key, base_url=chain.b.base_url) as direct:
        return direct.tts.convert(text="The weather is lovely today.", format="wav")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def test_fish_asr_through_a(chain: Chain, spoken: bytes) -> None:
    before = _b_requests(chain.b, "/v1/asr")
    with Session(chain.key, base_url=chain.base_url) as session:
        result = session.asr(ASRRequest(audio=spoken, language="en", ignore_timestamps=False))
    assert _b_requests(chain.b, "/v1/asr") == before + 1
    assert _words(result.text) == ["the", "weather", "is", "lovely", "today"]
    assert result.segments and result.segments[-1].end <= result.duration + 0.5
    assert result.duration == pytest.approx(decode(spoken).duration, abs=0.05)


def test_openai_transcription_through_a_is_billed_by_measured_seconds(chain: Chain, spoken: bytes) -> None:
    before = _b_requests(chain.b, "/v1/audio/transcriptions")
    with httpx.Client(
        base_url=f"{chain.base_url}/v1", headers={"Authorization": f"Bearer {chain.key}"}
    ) as http:
        response = http.post(
            "/audio/transcriptions",
            files={"file": ("clip.wav", spoken, "audio/wav")},
            data={"model": "b-openai-stt", "response_format": "json"},
            timeout=120,
        )
    assert response.status_code == 200, response.text
    assert _b_requests(chain.b, "/v1/audio/transcriptions") == before + 1
    assert _words(response.json()["text"]) == ["the", "weather", "is", "lovely", "today"]
    seconds = decode(spoken).duration
    assert float(response.headers["x-shoal-billed-units"]) == pytest.approx(seconds, abs=0.01)
    assert Decimal(response.headers["x-shoal-cost"]) > 0
