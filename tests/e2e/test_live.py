"""``GET /v1/tts/live``, the real-time TTS WebSocket, against a real ``shoal serve``.

Through the official clients (new SDK sync and async, legacy SDK) and through raw
``websockets`` frames, for what the SDKs cannot show: several turns on one socket, frame
sizes, error events, the handshake refusal, the idle timeout, vanishing clients, pings.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
import websockets
from fish_audio_sdk import AsyncWebSocketSession, WebSocketSession
from fish_audio_sdk import TTSRequest as LegacyTTSRequest
from fishaudio import AsyncFishAudio, FishAudio
from fishaudio.exceptions import WebSocketError
from fishaudio.types import FlushEvent, TextEvent, TTSConfig
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from shoal.voices.builtin import BUILTIN_VOICES
from tests.audio_checks import Decoded, assert_speech, decode, median_pitch
from tests.conftest import RunningServer, launch, run_cli, stop

pytestmark = pytest.mark.e2e

PIECES = ["Streaming text ", "arrives in pieces, ", "like the tokens of a language model. ", "Then it ends."]
TEXT = "".join(PIECES)
PCM_RATE = 16000
MIN_FRAME = 1024  # pipecat drops audio events of this size or less
QUIET = 1.5  # seconds without a frame that end a turn, as vellum and pipecat detect it


def sentences(count: int) -> str:
    return " ".join(f"This is sentence number {n}, spoken to test long streams." for n in range(1, count + 1))


LONG_TEXT = sentences(40)  # ~150 s of speech: still being synthesized whatever a test does meanwhile


# -- raw frames ---------------------------------------------------------------


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/v1/tts/live"


def pack(event: dict[str, Any]) -> bytes:
    data: bytes = msgpack.packb(event, use_bin_type=True)
    return data


def start(**request: Any) -> bytes:
    return pack({"event": "start", "request": {"text": "", **request}})


def text(value: str) -> bytes:
    return pack({"event": "text", "text": value})


FLUSH = pack({"event": "flush"})
STOP = pack({"event": "stop"})


@asynccontextmanager
async def live(base_url: str, api_key: str, **headers: str) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(
        ws_url(base_url), additional_headers={"Authorization": f"Bearer {api_key}", **headers}
    ) as ws:
        yield ws


async def next_event(ws: ClientConnection, seconds: float = 30) -> dict[str, Any]:
    frame = await asyncio.wait_for(ws.recv(), seconds)
    assert isinstance(frame, bytes), f"the server sent a text frame: {frame!r}"
    event = msgpack.unpackb(frame, raw=False)
    assert isinstance(event, dict), event
    assert isinstance(event.get("event"), str), event
    return event


async def until_quiet(ws: ClientConnection, gap: float = QUIET) -> list[dict[str, Any]]:
    """Events until none arrives for ``gap`` seconds (the socket stays open)."""
    events: list[dict[str, Any]] = []
    while True:
        try:
            events.append(await next_event(ws, gap))
        except TimeoutError:
            return events


async def until_closed(ws: ClientConnection, seconds: float = 30) -> list[dict[str, Any]]:
    """Every event until the server closes the socket, which it must do within ``seconds``."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(seconds):
        while True:
            try:
                events.append(await next_event(ws, seconds))
            except ConnectionClosed:
                return events


def audio_of(events: list[dict[str, Any]]) -> list[bytes]:
    frames = [event["audio"] for event in events if event["event"] == "audio"]
    assert all(isinstance(frame, bytes) and frame for frame in frames)
    return frames


def finish_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The session's one finish event, which must be its last."""
    finishes = [event for event in events if event["event"] == "finish"]
    assert len(finishes) == 1, f"expected exactly one finish, got {finishes}"
    assert events[-1] is finishes[0], "finish must be the last event"
    return finishes[0]


def assert_error_finish(events: list[dict[str, Any]], *mentions: str) -> str:
    finish = finish_of(events)
    assert finish["reason"] == "error", finish
    message = finish.get("message")
    assert isinstance(message, str) and message.strip(), f"an error finish needs a message: {finish}"
    for mention in mentions:
        assert mention.lower() in message.lower(), message
    return message


def pcm(frames: list[bytes], rate: int = PCM_RATE) -> Decoded:
    return decode(b"".join(frames), pcm_rate=rate)


def post_tts(server: RunningServer, body: dict[str, Any]) -> bytes:
    response = httpx.post(
        f"{server.base_url}/v1/tts",
        json=body,
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.content


# -- a server of its own, with a short idle timeout and a small text limit -------


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("live-data")
    config = data_dir / "shoal.toml"
    config.write_text("[live]\nidle_timeout_seconds = 1.5\nmax_buffered_chars = 2000\n")
    key = run_cli("keys", "create", "--name", "live", data_dir=data_dir).stdout.strip().splitlines()[-1]
    base_url, process, log = launch(data_dir, "--config", str(config))
    yield RunningServer(base_url, key, data_dir, process, log)
    stop(process)


# -- the official clients -------------------------------------------------------

FORMATS = [
    pytest.param(TTSConfig(format="mp3"), None, id="mp3"),
    pytest.param(TTSConfig(format="pcm", sample_rate=PCM_RATE), PCM_RATE, id="pcm-16k"),
]


@pytest.mark.parametrize(("config", "pcm_rate"), FORMATS)
def test_new_sdk_sync_stream_websocket(
    server: RunningServer, config: TTSConfig, pcm_rate: int | None
) -> None:
    with FishAudio(api_key=server.api_key, base_url=server.base_url) as client:
        chunks = list(client.tts.stream_websocket(iter(PIECES), config=config))
    assert len(chunks) >= 2
    streamed = decode(b"".join(chunks), pcm_rate=pcm_rate)
    assert_speech(streamed, min_seconds=2.5, max_seconds=10)
    if pcm_rate is None:
        assert streamed.codec.startswith("mp3")
    # The same text in one POST /v1/tts sounds about as long.
    body = {"text": TEXT, "format": config.format, "sample_rate": config.sample_rate}
    whole = decode(post_tts(server, body), pcm_rate=pcm_rate)
    assert abs(streamed.duration - whole.duration) <= 0.25 * whole.duration, (
        f"live {streamed.duration:.2f}s vs POST {whole.duration:.2f}s"
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(("config", "pcm_rate"), FORMATS)
async def test_new_sdk_async_stream_websocket_with_flush(
    server: RunningServer, config: TTSConfig, pcm_rate: int | None
) -> None:
    async def tokens() -> AsyncIterator[str | TextEvent | FlushEvent]:
        yield "The first sentence, "
        yield TextEvent(text="sent as an event.")
        yield FlushEvent()
        await asyncio.sleep(0.2)
        for piece in PIECES:
            yield piece

    async with AsyncFishAudio(api_key=server.api_key, base_url=server.base_url) as client:
        chunks = [chunk async for chunk in client.tts.stream_websocket(tokens(), config=config)]
    assert len(chunks) >= 2
    assert_speech(decode(b"".join(chunks), pcm_rate=pcm_rate), min_seconds=4, max_seconds=14)


def test_new_sdk_empty_text_stream_finishes_cleanly(server: RunningServer) -> None:
    # The SDK's own integration test (test_websocket_streaming_empty_text) expects no error.
    with FishAudio(api_key=server.api_key, base_url=server.base_url) as client:
        chunks = list(client.tts.stream_websocket(iter([]), format="pcm"))
    assert b"".join(chunks) == b""


def test_new_sdk_sees_an_error_finish_as_websocket_error(server: RunningServer) -> None:
    with (
        FishAudio(api_key=server.api_key, base_url=server.base_url) as client,
        pytest.raises(WebSocketError, match="ended with error"),
    ):
        list(client.tts.stream_websocket(iter(["Hello."]), reference_id="no-such-voice"))


def test_legacy_websocket_session_wav(server: RunningServer) -> None:
    # Sends the model header "speech-1.5" and its 13-field start with nulls (sample_rate, prosody...).
    request = LegacyTTSRequest(text="", format="wav")
    with WebSocketSession(server.api_key, base_url=server.base_url) as session:
        chunks = list(session.tts(request, iter(PIECES)))
    audio = b"".join(chunks)
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    decoded = decode(audio)
    assert decoded.codec == "pcm_s16le"
    assert decoded.sample_rate == 44100
    assert_speech(decoded, min_seconds=2.5, max_seconds=10)


@pytest.mark.asyncio
async def test_legacy_async_websocket_session_mp3(server: RunningServer) -> None:
    async def pieces() -> AsyncIterator[str]:
        for piece in PIECES:
            yield piece

    async with AsyncWebSocketSession(server.api_key, base_url=server.base_url) as session:
        chunks = [chunk async for chunk in session.tts(LegacyTTSRequest(text="", format="mp3"), pieces())]
    assert_speech(decode(b"".join(chunks)), min_seconds=2.5, max_seconds=10)


# -- the protocol, frame by frame ----------------------------------------------------


@pytest.mark.asyncio
async def test_several_turns_on_one_socket(server: RunningServer) -> None:
    turns = [
        "Hello there, this is the first turn.",
        "And here is a second turn, which trails off",
        "The third turn ends the conversation",  # no punctuation: only the flush makes it speakable
    ]
    frames: list[bytes] = []
    async with live(server.base_url, server.api_key, model="s1") as ws:
        await ws.send(start(format="pcm", sample_rate=PCM_RATE))
        for turn in turns:
            await ws.send(text(turn))
            await ws.send(FLUSH)
            events = await until_quiet(ws)
            assert [event["event"] for event in events] == ["audio"] * len(events), "no finish after a flush"
            turn_frames = audio_of(events)
            assert turn_frames, f"no audio for {turn!r}"
            assert_speech(pcm(turn_frames), min_seconds=0.8, max_seconds=6)
            frames += turn_frames
        await ws.send(STOP)
        events = await until_closed(ws)
        assert finish_of(events) == {"event": "finish", "reason": "stop"}
        frames += audio_of(events)  # whatever the last turn still held; may be nothing
        assert ws.protocol.close_rcvd is not None, "the server closes the socket after finish"
        assert ws.protocol.close_rcvd.code == 1000
    assert all(len(frame) > MIN_FRAME for frame in frames[:-1]), [len(frame) for frame in frames]
    assert_speech(pcm(frames), min_seconds=4, max_seconds=15)


@pytest.mark.asyncio
async def test_text_is_spoken_before_stop_or_flush_once_a_sentence_is_complete(server: RunningServer) -> None:
    async with live(server.base_url, server.api_key) as ws:
        await ws.send(start(format="pcm", sample_rate=PCM_RATE))
        await ws.send(text("This sentence is complete. And this one is still"))
        first = await next_event(ws)  # no flush: the complete sentence is spoken on its own
        assert first["event"] == "audio"
        await ws.send(text(" being written."))
        await ws.send(STOP)
        events = [first, *await until_closed(ws)]
    assert finish_of(events)["reason"] == "stop"
    assert_speech(pcm(audio_of(events)), min_seconds=2, max_seconds=8)


@pytest.mark.asyncio
async def test_text_in_the_start_request_is_spoken(server: RunningServer) -> None:
    async with live(server.base_url, server.api_key) as ws:
        await ws.send(pack({"event": "start", "request": {"text": "Hello from the start event."}}))
        await ws.send(STOP)
        events = await until_closed(ws)
    assert finish_of(events)["reason"] == "stop"
    assert_speech(decode(b"".join(audio_of(events))), min_seconds=1, max_seconds=5)


@pytest.mark.asyncio
async def test_empty_session(server: RunningServer) -> None:
    async with live(server.base_url, server.api_key) as ws:
        await ws.send(start(format="pcm"))
        await ws.send(STOP)
        events = await until_closed(ws)
        assert events == [{"event": "finish", "reason": "stop"}]
        assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000


@pytest.mark.asyncio
async def test_start_with_the_new_sdks_nulls(server: RunningServer) -> None:
    request = {
        "text": "", "chunk_length": 200, "format": "pcm", "sample_rate": None, "mp3_bitrate": 128,
        "opus_bitrate": 32, "references": [], "reference_id": None, "normalize": True,
        "latency": "balanced", "prosody": None, "top_p": 0.7, "temperature": 0.7, "max_new_tokens": 1024,
        "repetition_penalty": 1.2, "min_chunk_length": 50, "condition_on_previous_chunks": True,
        "early_stop_threshold": 1.0,
    }  # fmt: skip
    async with live(server.base_url, server.api_key, model="s2-pro") as ws:
        await ws.send(pack({"event": "start", "request": request}))
        await ws.send(text("Nulls mean defaults."))
        await ws.send(STOP)
        events = await until_closed(ws)
    assert finish_of(events)["reason"] == "stop"
    assert_speech(pcm(audio_of(events), rate=44100), min_seconds=0.8, max_seconds=5)


@pytest.mark.asyncio
async def test_unknown_client_events_are_ignored(server: RunningServer) -> None:
    async with live(server.base_url, server.api_key) as ws:
        await ws.send(start(format="pcm", sample_rate=PCM_RATE))
        await ws.send(pack({"event": "keepalive"}))
        await ws.send(text("Unknown events change nothing."))
        await ws.send(pack({"event": "metadata", "payload": {"turn": 1}, "extra": [1, 2, 3]}))
        await ws.send(STOP)
        events = await until_closed(ws)
    assert finish_of(events) == {"event": "finish", "reason": "stop"}
    assert_speech(pcm(audio_of(events)), min_seconds=1, max_seconds=5)


PROTOCOL_ERRORS = [
    pytest.param(["a text frame"], ["binary"], id="text-frame"),
    pytest.param([start(format="pcm"), "a text frame after start"], ["binary"], id="text-frame-later"),
    pytest.param([b"\xc1\xc1\xc1"], ["msgpack"], id="not-msgpack"),
    pytest.param([b"plain bytes"], ["msgpack"], id="not-msgpack-extra-data"),
    pytest.param([pack({"text": "no event key"})], ["event"], id="map-without-event"),
    pytest.param([pack(["start", {}])], ["map"], id="not-a-map"),
    pytest.param([text("Hello.")], ["start", "text"], id="first-event-not-start"),
    pytest.param([pack({"event": "start"})], ["request"], id="start-without-request"),
    pytest.param([start(format="flac")], ["format"], id="start-format-flac"),
    pytest.param([start(chunk_length=5)], ["chunk_length"], id="start-chunk-length-too-small"),
    pytest.param([start(reference_id="no-such-voice")], ["no-such-voice"], id="start-unknown-voice"),
    pytest.param([start(), pack({"event": "text", "text": 5})], ["text"], id="text-not-a-string"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("frames", "mentions"), PROTOCOL_ERRORS)
async def test_protocol_errors_end_with_an_error_finish(
    server: RunningServer, frames: list[bytes | str], mentions: list[str]
) -> None:
    async with live(server.base_url, server.api_key) as ws:
        for frame in frames:
            await ws.send(frame)
        events = await until_closed(ws)
        assert ws.protocol.close_rcvd is not None, "the server closes the socket after an error finish"
    assert audio_of(events) == []
    assert_error_finish(events, *mentions)


@pytest.mark.asyncio
async def test_an_error_mid_session_after_audio(server: RunningServer) -> None:
    async with live(server.base_url, server.api_key) as ws:
        await ws.send(start(format="pcm", sample_rate=PCM_RATE))
        await ws.send(text("A first turn that is spoken."))
        await ws.send(FLUSH)
        assert (await next_event(ws))["event"] == "audio"
        await ws.send("oops, text")
        events = await until_closed(ws)
    assert_error_finish(events, "binary")


# -- the handshake ------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("headers", "mention"),
    [
        pytest.param({"Authorization": "Bearer sk-shoal-wrong"}, "invalid API key", id="wrong-key"),
        pytest.param({}, "missing API key", id="no-key"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, "Bearer", id="not-bearer"),
    ],
)
async def test_bad_key_is_refused_before_the_upgrade(
    server: RunningServer, headers: dict[str, str], mention: str
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(ws_url(server.base_url), additional_headers=headers):
            pytest.fail("the handshake should have been refused")
    response = refused.value.response
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(bytes(response.body or b""))
    assert set(body) == {"status", "message"}
    assert body["status"] == 401
    assert mention in body["message"]


def test_bad_key_handshake_over_plain_http(server: RunningServer) -> None:
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Authorization": "Bearer sk-shoal-wrong",
    }
    response = httpx.get(f"{server.base_url}/v1/tts/live", headers=upgrade, timeout=10)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"status", "message"}
    assert body["status"] == 401
    assert "invalid API key" in body["message"]


# -- idle sockets, limits -------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "frames", [pytest.param([start(format="pcm")], id="after-start"), pytest.param([], id="before-start")]
)
async def test_idle_socket_is_closed_with_an_error_finish(
    live_server: RunningServer, frames: list[bytes]
) -> None:
    async with live(live_server.base_url, live_server.api_key) as ws:
        for frame in frames:
            await ws.send(frame)
        events = await until_closed(ws, seconds=15)
        assert ws.protocol.close_rcvd is not None
    assert audio_of(events) == []
    assert_error_finish(events, "idle")


@pytest.mark.asyncio
async def test_a_socket_whose_text_is_being_spoken_is_not_idle(live_server: RunningServer) -> None:
    # 20 sentences take longer than the 1.5 s idle timeout to synthesize; the client only listens.
    async with live(live_server.base_url, live_server.api_key) as ws:
        await ws.send(start(format="pcm", sample_rate=PCM_RATE))
        for sentence in sentences(20).split(". "):
            await ws.send(text(sentence.rstrip(".") + ". "))
        await ws.send(FLUSH)
        events = await until_closed(ws, seconds=60)
    assert_error_finish(events, "idle")  # once everything was spoken and nothing more arrived
    # All 20 sentences (~3.7 s each) were spoken before the idle timeout ended the session.
    assert pcm(audio_of(events)).duration > 20 * 2.5


@pytest.mark.asyncio
async def test_more_text_than_max_buffered_chars_ends_the_session(live_server: RunningServer) -> None:
    async with live(live_server.base_url, live_server.api_key) as ws:
        await ws.send(start(format="pcm", sample_rate=PCM_RATE))
        await ws.send(text(LONG_TEXT))  # ~2,300 characters, unspoken, against a limit of 2,000
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + 3
        try:
            while time.monotonic() < deadline:
                events.append(await next_event(ws, deadline - time.monotonic()))
                if events[-1]["event"] == "finish":
                    break
        except (TimeoutError, ConnectionClosed):
            pass
    assert events and events[-1]["event"] == "finish", "no finish: all the text is being spoken"
    assert_error_finish(events, "2000")


# -- clients that vanish, pings ------------------------------------------------------


def new_log_lines(log: Path, offset: int) -> str:
    with log.open() as file:
        file.seek(offset)
        return file.read()


@pytest.mark.asyncio
async def test_client_vanishing_mid_synthesis_releases_the_engine(server: RunningServer) -> None:
    log_offset = server.log.stat().st_size
    async with live(server.base_url, server.api_key) as ws:
        await ws.send(start(format="pcm", sample_rate=PCM_RATE))
        await ws.send(text(LONG_TEXT))
        await ws.send(FLUSH)
        assert (await next_event(ws))["event"] == "audio"
        assert ws.transport is not None
        ws.transport.abort()  # no close frame: the TCP connection just drops
    async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:

        async def piper() -> dict[str, int]:
            engines = (await http.get("/health")).json()["engines"]
            stats: dict[str, int] = next(engine for engine in engines if engine["name"] == "piper")
            return stats

        for _ in range(100):  # up to ~10 s
            settled = await piper()
            if settled["admitted"] == 0:
                break
            await asyncio.sleep(0.1)
        assert settled["admitted"] == 0
        await asyncio.sleep(1.0)
        assert (await piper())["pieces"] == settled["pieces"], "synthesis went on for a vanished client"

    # The server still serves new sessions.
    async with live(server.base_url, server.api_key) as ws:
        await ws.send(start(format="pcm", sample_rate=PCM_RATE))
        await ws.send(text("Still serving."))
        await ws.send(STOP)
        events = await until_closed(ws)
    assert finish_of(events)["reason"] == "stop"
    assert_speech(pcm(audio_of(events)), min_seconds=0.5, max_seconds=4)
    assert "Traceback" not in new_log_lines(server.log, log_offset)


@pytest.mark.asyncio
async def test_pings_are_answered_during_synthesis(server: RunningServer) -> None:
    async with live(server.base_url, server.api_key) as ws:
        await ws.send(start(format="pcm", sample_rate=PCM_RATE))
        await ws.send(text(LONG_TEXT))
        await ws.send(FLUSH)
        await asyncio.wait_for(await ws.ping(), 10)  # while the first sentence is synthesized
        assert (await next_event(ws))["event"] == "audio"
        for _ in range(3):
            await asyncio.wait_for(await ws.ping(), 10)
            assert (await next_event(ws))["event"] == "audio"  # still speaking, no finish


# -- voices ---------------------------------------------------------------------


def test_live_speaks_with_voice_models(server: RunningServer) -> None:
    voice = {v.title: v.id for v in BUILTIN_VOICES}
    with FishAudio(api_key=server.api_key, base_url=server.base_url) as client:

        def spoken(reference_id: str) -> Decoded:
            chunks = client.tts.stream_websocket(iter(PIECES[:2]), reference_id=reference_id, format="wav")
            return decode(b"".join(chunks))

        high, low = spoken(voice["Ava"]), spoken(voice["Walter"])
        assert_speech(high, min_seconds=1, max_seconds=6)
        assert median_pitch(high) > 1.5 * median_pitch(low)


@pytest.mark.asyncio
async def test_live_refuses_several_speakers_on_s1(server: RunningServer) -> None:
    voices = [voice.id for voice in BUILTIN_VOICES[:2]]
    async with live(server.base_url, server.api_key, model="s1") as ws:
        await ws.send(start(reference_id=voices))
        events = await until_closed(ws)
    assert audio_of(events) == []
    assert_error_finish(events, "s2-pro")


@pytest.mark.asyncio
async def test_a_speaker_turn_lasts_across_pieces_of_a_stream(server: RunningServer) -> None:
    voice = {v.title: v.id for v in BUILTIN_VOICES}
    turn = "I speak with the low voice here. And this second sentence is mine as well, all of it."

    async def session(reference_id: str | list[str], text_sent: str) -> Decoded:
        async with live(server.base_url, server.api_key) as ws:
            await ws.send(start(reference_id=reference_id, format="pcm", sample_rate=PCM_RATE))
            for word in text_sent.split(" "):  # token by token, as an LLM streams
                await ws.send(text(word + " "))
            await ws.send(STOP)
            events = await until_closed(ws, 60)
        assert finish_of(events)["reason"] == "stop"
        return pcm(audio_of(events))

    dialogue = await session([voice["Ava"], voice["Walter"]], "<|speaker:1|>" + turn)
    walter = await session(voice["Walter"], turn)
    ava = await session(voice["Ava"], turn)
    assert median_pitch(dialogue) == pytest.approx(median_pitch(walter), rel=0.15)
    assert median_pitch(ava) > 1.5 * median_pitch(dialogue)
