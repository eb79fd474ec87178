"""POST /v1/tts through the app in-process: formats, parameters, and every error shape."""

from __future__ import annotations

import httpx
import msgpack
import pytest

from shoal.services import Services
from tests.audio_checks import assert_speech, decode

pytestmark = pytest.mark.asyncio

HELLO = "Hello from Shoal. This is a short test."


async def tts(client: httpx.AsyncClient, body: dict[str, object], **headers: str) -> httpx.Response:
    return await client.post("/v1/tts", json=body, headers=headers)


@pytest.mark.parametrize(
    ("audio_format", "content_type", "codec", "rate"),
    [
        ("mp3", "audio/mpeg", "mp3", 44100),
        ("wav", "audio/wav", "pcm_s16le", 44100),
        ("opus", "audio/ogg", "opus", 48000),
    ],
)
async def test_each_format_is_real_speech(
    client: httpx.AsyncClient, audio_format: str, content_type: str, codec: str, rate: int
) -> None:
    response = await tts(client, {"text": HELLO, "format": audio_format})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == content_type
    decoded = decode(response.content)
    assert decoded.codec.startswith(codec)
    assert decoded.sample_rate == rate
    assert_speech(decoded, min_seconds=1.2, max_seconds=6)


async def test_pcm_is_headerless_s16le_at_the_requested_rate(client: httpx.AsyncClient) -> None:
    response = await tts(client, {"text": HELLO, "format": "pcm", "sample_rate": 16000})
    assert response.status_code == 200
    assert not response.content.startswith(b"RIFF")
    assert len(response.content) % 2 == 0
    assert_speech(decode(response.content, pcm_rate=16000), min_seconds=1.2, max_seconds=6)


async def test_wav_stream_header_and_requested_rate(client: httpx.AsyncClient) -> None:
    response = await tts(client, {"text": HELLO, "format": "wav", "sample_rate": 24000})
    assert response.content[:4] == b"RIFF"
    assert decode(response.content).sample_rate == 24000


async def test_msgpack_body_with_sdk_defaults_and_nulls(client: httpx.AsyncClient) -> None:
    # What the legacy SDK sends: nulls for unset fields, opus_bitrate in kbps even for mp3.
    body = {
        "text": HELLO, "chunk_length": 200, "format": "mp3", "sample_rate": None, "mp3_bitrate": 128,
        "opus_bitrate": 32, "references": [], "reference_id": None, "normalize": True, "latency": "balanced",
        "prosody": None, "top_p": 0.7, "temperature": 0.7, "unknown_future_field": 1,
    }  # fmt: skip
    response = await client.post(
        "/v1/tts",
        content=msgpack.packb(body, use_bin_type=True),
        headers={"Content-Type": "application/msgpack", "model": "speech-1.5"},
    )
    assert response.status_code == 200, response.text
    assert_speech(decode(response.content), min_seconds=1.2, max_seconds=6)


@pytest.mark.parametrize("model", ["s1", "s2-pro", "no-such-model", ""])
async def test_model_header_never_rejected(client: httpx.AsyncClient, model: str) -> None:
    response = await tts(client, {"text": "Hi there.", "format": "pcm"}, model=model)
    assert response.status_code == 200


async def test_speed_changes_tempo(client: httpx.AsyncClient) -> None:
    text = "Speed changes the tempo but keeps the pitch of the voice."
    normal = decode((await tts(client, {"text": text, "format": "wav"})).content)
    fast = decode((await tts(client, {"text": text, "format": "wav", "prosody": {"speed": 1.6}})).content)
    assert fast.duration < normal.duration * 0.8


async def test_volume_is_a_db_gain(client: httpx.AsyncClient) -> None:
    text = "Volume is a gain in decibels."
    base = {"text": text, "format": "wav", "prosody": {"volume": 0, "normalize_loudness": False}}
    loud = decode((await tts(client, base)).content)
    quiet = decode(
        (await tts(client, {**base, "prosody": {"volume": -12, "normalize_loudness": False}})).content
    )
    assert loud.rms_dbfs - quiet.rms_dbfs == pytest.approx(12, abs=1.5)


async def test_normalize_loudness_reaches_the_target(client: httpx.AsyncClient, services: Services) -> None:
    import pyloudnorm

    response = await tts(client, {"text": HELLO + " It should sound level.", "format": "wav"})
    decoded = decode(response.content)
    loudness = pyloudnorm.Meter(decoded.sample_rate).integrated_loudness(decoded.samples.astype("float64"))
    assert loudness == pytest.approx(services.settings.tts.loudness_target_lufs, abs=2.5)


async def test_chinese_text_is_spoken_not_dropped(client: httpx.AsyncClient) -> None:
    response = await tts(client, {"text": "你好，世界。今天天气很好。", "format": "wav"})
    assert response.status_code == 200
    assert_speech(decode(response.content), min_seconds=1.0, max_seconds=8)


async def test_tags_are_not_spoken(client: httpx.AsyncClient) -> None:
    plain = decode((await tts(client, {"text": "Good morning to you.", "format": "wav"})).content)
    tagged = decode((await tts(client, {
        "text": "<|speaker:0|>(happy) [whispering, slowly] Good morning to you.", "format": "wav"
    })).content)  # fmt: skip
    assert tagged.duration == pytest.approx(plain.duration, abs=0.35)


async def test_builtin_voice_by_reference_id(client: httpx.AsyncClient) -> None:
    response = await tts(
        client, {"text": "Bonjour tout le monde.", "reference_id": "espeak-fr", "format": "wav"}
    )
    assert response.status_code == 200
    assert_speech(decode(response.content), min_seconds=0.6, max_seconds=5)


async def test_request_id_on_every_response(client: httpx.AsyncClient) -> None:
    ok = await tts(client, {"text": "Hi.", "format": "pcm"}, **{"x-request-id": "abc-123"})
    assert ok.headers["x-request-id"] == "abc-123"
    bad = await client.post("/v1/tts", json={})
    assert len(bad.headers["x-request-id"]) == 32


# -- errors -------------------------------------------------------------------------------


def assert_fish_error(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "message"}, body
    assert body["status"] == status
    for word in words:
        assert word in body["message"], body["message"]


async def test_missing_and_invalid_keys(client: httpx.AsyncClient) -> None:
    missing = await client.post("/v1/tts", json={"text": "x"}, headers={"Authorization": ""})
    assert_fish_error(missing, 401, "Authorization")
    wrong = await client.post(
        "/v1/tts", json={"text": "x"}, headers={"Authorization": "Bearer sk-shoal-nope"}
    )
    assert_fish_error(wrong, 401, "invalid API key")
    scheme = await client.post("/v1/tts", json={"text": "x"}, headers={"Authorization": "Basic abc"})
    assert_fish_error(scheme, 401, "Bearer")


async def test_malformed_bodies(client: httpx.AsyncClient) -> None:
    bad_json = await client.post(
        "/v1/tts", content=b"{text: nope", headers={"Content-Type": "application/json"}
    )
    assert_fish_error(bad_json, 400, "not valid JSON")
    bad_msgpack = await client.post(
        "/v1/tts", content=b"\xc1\xc1", headers={"Content-Type": "application/msgpack"}
    )
    assert_fish_error(bad_msgpack, 400, "msgpack")
    not_object = await client.post("/v1/tts", json=["text"])
    assert_fish_error(not_object, 400, "object")
    empty = await client.post("/v1/tts", content=b"", headers={"Content-Type": "application/json"})
    assert_fish_error(empty, 400, "empty")
    form = await client.post("/v1/tts", data={"text": "hi"})
    assert_fish_error(form, 415, "application/json")


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["text"]),
        ({"text": ""}, ["text"]),
        ({"text": 42}, ["text"]),
        ({"text": "hi", "format": "flac"}, ["format"]),
        ({"text": "hi", "mp3_bitrate": 96}, ["mp3_bitrate"]),
        ({"text": "hi", "opus_bitrate": 33}, ["opus_bitrate"]),
        ({"text": "hi", "chunk_length": 5}, ["chunk_length"]),
        ({"text": "hi", "latency": "instant"}, ["latency"]),
        ({"text": "hi", "prosody": {"speed": 9}}, ["prosody", "speed"]),
        ({"text": "hi", "temperature": "hot"}, ["temperature"]),
    ],
)
async def test_validation_errors_are_kui_arrays(
    client: httpx.AsyncClient, body: dict[str, object], loc: list[str]
) -> None:
    response = await tts(client, body)
    assert response.status_code == 422
    items = response.json()
    assert isinstance(items, list) and items
    assert items[0]["loc"] == loc
    assert items[0]["in"] == "body"
    assert items[0]["msg"] and items[0]["type"]


async def test_sample_rate_must_suit_the_format(client: httpx.AsyncClient) -> None:
    response = await tts(client, {"text": "hi", "format": "opus", "sample_rate": 44100})
    assert response.status_code == 422
    assert "48000" in response.json()[0]["msg"]


async def test_semantic_errors(client: httpx.AsyncClient, services: Services) -> None:
    limit = services.settings.tts.max_text_chars
    too_long = await tts(client, {"text": "a" * (limit + 1)})
    assert_fish_error(too_long, 400, str(limit))
    nothing = await tts(client, {"text": "(happy) [laughing] ... "})
    assert_fish_error(nothing, 400, "nothing to speak")
    voice = await tts(client, {"text": "hi", "reference_id": "no-such-voice"})
    assert_fish_error(voice, 400, "no-such-voice")


async def test_body_size_limit(client: httpx.AsyncClient, services: Services) -> None:
    limit = services.settings.server.max_body_bytes
    response = await client.post(
        "/v1/tts", content=b"x" * (limit + 1), headers={"Content-Type": "application/json"}
    )
    assert_fish_error(response, 413, str(limit))


async def test_busy_engine_answers_503_with_retry_after(
    client: httpx.AsyncClient, services: Services
) -> None:
    engine = services.engines.get("piper")
    assert engine is not None
    held = []
    try:
        while True:
            held.append(engine.admit())
    except Exception:
        pass
    try:
        response = await tts(client, {"text": "hi"})
        assert_fish_error(response, 503, "capacity")
        assert int(response.headers["retry-after"]) >= 1
    finally:
        for ticket in held:
            ticket.release()
    assert (await tts(client, {"text": "hi", "format": "pcm"})).status_code == 200


async def test_unknown_route_and_method_use_fish_shape(client: httpx.AsyncClient) -> None:
    assert_fish_error(await client.get("/v1/nope"), 404, "not found")
    assert_fish_error(await client.get("/v1/tts"), 405, "method")


async def test_public_endpoints(client: httpx.AsyncClient) -> None:
    anonymous = {"Authorization": ""}
    health = await client.get("/health", headers=anonymous)
    assert health.status_code == 200
    assert {engine["name"] for engine in health.json()["engines"]} >= {"piper", "espeak"}
    spec = await client.get("/openapi.json", headers=anonymous)
    assert "/v1/tts" in spec.json()["paths"]
    assert (await client.get("/docs", headers=anonymous)).status_code == 200
