"""``GET /v1/tts/live``: Fish Audio's real-time TTS over a MessagePack WebSocket.

Client: ``start{request}``, then ``text{text}``*, ``flush``*, ``stop``. Server:
``audio{audio}``*, then exactly one ``finish{reason: "stop" | "error", message?}``, then
close. Every frame is a binary msgpack map with an ``event`` key. Text is spoken as
soon as a sentence or clause of it is complete, while more text is still arriving; a
``flush`` speaks what is held and keeps the session open for the next turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from typing import Any

import msgpack
from fastapi import APIRouter
from pydantic import Field, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from shoal.api.deps import admit
from shoal.api.fish.errors import domain_error_response
from shoal.api.fish.schemas import TTSRequest
from shoal.api.fish.tts import to_params
from shoal.api.middleware import request_id
from shoal.audio.output import AudioOutput
from shoal.auth.keys import ApiKey
from shoal.billing.metering import Charge
from shoal.errors import InsufficientCredit, NothingToSpeak, ShoalError
from shoal.pipeline.synthesize import PlaybackClock, SpeechParams
from shoal.services import Services
from shoal.text import markup
from shoal.text.incremental import TextBuffer
from shoal.voices.catalog import Speaker

log = logging.getLogger("shoal.live")
router = APIRouter(tags=["Fish Audio"])


class LiveStartRequest(TTSRequest):
    """The ``start`` event's request: a TTSRequest whose text is usually empty."""

    text: str = Field("", description="Usually empty; the text comes in text events.")


class ProtocolError(Exception):
    """The client broke the protocol; the session ends with finish{reason: "error"}."""


_FLUSH = object()
_STOP = object()


class _FrameSender:
    """Coalesces encoded audio into frames of at least ``min_bytes`` (pipecat drops smaller ones)."""

    def __init__(self, websocket: WebSocket, min_bytes: int) -> None:
        self._websocket = websocket
        self._min_bytes = min_bytes
        self._pending = bytearray()

    async def add(self, data: bytes) -> None:
        self._pending += data
        if len(self._pending) >= self._min_bytes:
            await self._send(bytes(self._pending))
            self._pending.clear()

    async def last(self, data: bytes) -> None:
        self._pending += data
        if self._pending:
            await self._send(bytes(self._pending))
            self._pending.clear()

    async def _send(self, audio: bytes) -> None:
        await self._websocket.send_bytes(msgpack.packb({"event": "audio", "audio": audio}, use_bin_type=True))


class LiveSession:
    def __init__(self, websocket: WebSocket, services: Services, principal: ApiKey) -> None:
        self._websocket = websocket
        self._services = services
        self._settings = services.settings.live
        self._principal = principal
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._unspoken = 0
        """Characters released for speech but not spoken yet (queued or being spoken)."""
        self._speaking = asyncio.Event()
        self._speakers: list[Speaker] | None = None

    async def run(self) -> None:
        try:
            params = await self._start()
            buffer = TextBuffer(chunk_length=params.chunk_length)
            async with asyncio.TaskGroup() as group:
                speaker = group.create_task(self._speak(params))
                await self._listen(buffer)
                await speaker
            await self._finish("stop")
        except* (WebSocketDisconnect, OSError):
            log.debug("live client went away")  # its synthesis was cancelled with the task group
        except* ProtocolError as group:
            await self._finish("error", str(group.exceptions[0]))
        except* ShoalError as group:
            error = group.exceptions[0]
            await self._finish("error", error.message if isinstance(error, ShoalError) else str(error))

    # -- receiving ----------------------------------------------------------------
    async def _receive(self) -> dict[str, Any]:
        """The next event; idle sockets (nothing received, nothing being spoken) time out."""
        while True:
            try:
                message = await asyncio.wait_for(
                    self._websocket.receive(), self._settings.idle_timeout_seconds
                )
            except TimeoutError:
                if self._speaking.is_set() or not self._queue.empty():
                    continue
                raise ProtocolError(
                    f"no events for {self._settings.idle_timeout_seconds:g} s; closing the idle session"
                ) from None
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            if message.get("bytes") is None:
                raise ProtocolError("frames must be binary msgpack maps; a text frame was received")
            try:
                event = msgpack.unpackb(message["bytes"], raw=False)
            except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as error:
                detail = str(error) or type(error).__name__
                raise ProtocolError(
                    f"a frame is not valid msgpack ({detail}); send binary msgpack maps"
                ) from None
            if not isinstance(event, dict) or not isinstance(event.get("event"), str):
                raise ProtocolError("each frame must be a msgpack map with an 'event' key")
            return event

    async def _start(self) -> SpeechParams:
        event = await self._receive()
        if event["event"] != "start":
            raise ProtocolError(f"the first event must be 'start', not {event['event']!r}")
        request = event.get("request")
        if not isinstance(request, dict):
            raise ProtocolError("'start' needs a 'request' map (a TTSRequest)")
        try:
            body = LiveStartRequest.model_validate(request)
        except ValidationError as error:
            first = error.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "request"
            raise ProtocolError(f"invalid start request: {where}: {first['msg']}") from None
        params = to_params(body, self._websocket.headers.get("model"))
        if self._services.synthesizer.refuses_dialogue(params):
            raise ProtocolError("several speakers need an S2 model such as s2-pro; s1 speaks with one voice")
        if params.voices or params.references:
            # Resolved once (a voice model, built-in voice or inline reference: analysed here, not
            # per turn); an unknown voice fails the start, not the first turn.
            self._speakers = await self._services.voices.speakers(
                params.voices, self._principal.account_id, params.references
            )
            await self._services.voices.count_uses(self._speakers)
        if body.text.strip():
            await self._enqueue(body.text)
        return dataclasses.replace(params, text="")

    async def _listen(self, buffer: TextBuffer) -> None:
        while True:
            event = await self._receive()
            kind = event["event"]
            if kind == "text":
                text = event.get("text")
                if not isinstance(text, str):
                    raise ProtocolError("a 'text' event needs a string 'text'")
                for piece in buffer.push(text):
                    await self._enqueue(piece)
                if len(buffer) + self._unspoken > self._settings.max_buffered_chars:
                    raise ProtocolError(
                        f"more than {self._settings.max_buffered_chars} characters are waiting to be spoken; "
                        "send text no faster than it can be spoken"
                    )
            elif kind in ("flush", "stop"):
                if rest := buffer.flush():
                    await self._enqueue(rest)
                await self._queue.put(_FLUSH if kind == "flush" else _STOP)
                if kind == "stop":
                    return
            # Unknown events are ignored, as the protocol asks of both sides.

    async def _enqueue(self, text: str) -> None:
        self._unspoken += len(text)
        await self._queue.put(text)

    # -- speaking -----------------------------------------------------------------
    async def _speak(self, template: SpeechParams) -> None:
        synthesizer = self._services.synthesizer
        output: AudioOutput = synthesizer.output_for(template)
        frames = _FrameSender(self._websocket, self._settings.min_frame_bytes)
        clock = PlaybackClock()  # one per turn: a turn's pieces play back to back
        in_force = ""
        while (item := await self._queue.get()) is not _STOP:
            if item is _FLUSH:
                await frames.add(output.drain())
                clock = PlaybackClock()
                continue
            assert isinstance(item, str)
            # A turn's later pieces keep its speaker and expressions: the tags are carried over
            # (and, being tags, not billed).
            spoken, in_force = in_force + item, markup.in_force_after(in_force + item)
            try:
                plan = synthesizer.plan(dataclasses.replace(template, text=spoken), self._speakers)
            except NothingToSpeak:
                self._unspoken -= len(item)
                continue  # punctuation or tags alone: nothing to say
            # Each piece of text is billed on its own: a session runs only as long as credit lasts.
            try:
                charge = await self._charge(plan.model, item)
            except BaseException:
                plan.release()
                raise
            self._speaking.set()
            try:
                async for samples in synthesizer.samples(plan, meter=charge, clock=clock):
                    await frames.add(output.write(samples))
            finally:
                self._speaking.clear()
                self._unspoken -= len(item)
                await charge.settle()
        await frames.last(output.finish())

    async def _charge(self, model: str, text: str) -> Charge:
        try:
            return await self._services.metering.open(
                self._principal,
                "tts",
                model,
                units=len(text.encode()),
                request_id=request_id(self._websocket),
            )
        except InsufficientCredit as error:
            raise InsufficientCredit(f"out of credit, the session ends here: {error.message}") from None

    async def _finish(self, reason: str, message: str | None = None) -> None:
        event: dict[str, Any] = {"event": "finish", "reason": reason}
        if message is not None:
            event["message"] = message
        with contextlib.suppress(Exception):
            if self._websocket.application_state == WebSocketState.CONNECTED:
                await self._websocket.send_bytes(msgpack.packb(event, use_bin_type=True))
                await self._websocket.close(1000 if reason == "stop" else 1008)


@router.websocket("/v1/tts/live")
async def live_tts(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    try:
        # The concurrency slot taken here is held until the socket closes.
        principal = await admit(websocket, services)
    except ShoalError as error:
        # Refused before the upgrade: the client sees the HTTP status (401, 429, …) in Fish's format.
        await websocket.send_denial_response(domain_error_response(error))
        return
    await websocket.accept()
    await LiveSession(websocket, services, principal).run()
