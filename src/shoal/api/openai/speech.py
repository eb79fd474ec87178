"""OpenAI ``POST /v1/audio/speech`` on Shoal's engines: raw audio chunks or SSE deltas.

OpenAI's voice names (alloy … cedar) have no counterpart here: they all speak with the
model's default voice, as documented; a Shoal voice id picks that voice. Audio is 24 kHz,
OpenAI's rate, in every format.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncGenerator
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from shoal.api.billing import prepare_speech
from shoal.api.body import read_object
from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.api.middleware import on_request_end
from shoal.api.openai.errors import validation_error_response
from shoal.audio.types import CONTENT_TYPES
from shoal.errors import ModelNotFound
from shoal.pipeline.synthesize import SpeechParams, Synthesizer

router = APIRouter(tags=["OpenAI"])

OPENAI_VOICES = frozenset(
    {
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "nova",
        "onyx",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
    }
)
OPENAI_RATE = 24_000


_CUE_CHARS = 80


def with_cue(instructions: str | None, text: str) -> str:
    """``instructions`` as a leading S2-Pro bracket cue (one line, at most 80 characters, no brackets)."""
    cue = " ".join((instructions or "").replace("[", "(").replace("]", ")").split())[:_CUE_CHARS].strip()
    return f"[{cue}] {text}" if cue else text


def voices_for(voice: str) -> tuple[str, ...]:
    """OpenAI's voice names speak with the model's default voice; anything else names a voice."""
    return () if voice in OPENAI_VOICES else (voice,)


class VoiceRef(BaseModel):
    id: str


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str
    input: Annotated[str, Field(min_length=1)]
    voice: str | VoiceRef
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: Annotated[float, Field(ge=0.25, le=4.0)] = 1.0
    instructions: str | None = None
    """Becomes an S2-Pro cue ``[…]`` before the text: upstream Fish models follow it; local voices
    read it as an expression tag (never spoken)."""
    stream_format: Literal["audio", "sse"] = "audio"


def to_params(body: SpeechRequest, synthesizer: Synthesizer) -> SpeechParams:
    model = synthesizer.resolve_model(body.model)
    if model is None:
        known = ", ".join(synthesizer.model_names() + sorted(synthesizer.aliases()))
        raise ModelNotFound(f"model {body.model!r} does not exist; use one of {known}")
    voice = body.voice.id if isinstance(body.voice, VoiceRef) else body.voice
    return SpeechParams(
        text=with_cue(body.instructions, body.input), model=model, voices=voices_for(voice),
        format=body.response_format, sample_rate=OPENAI_RATE, speed=body.speed, latency="balanced",
    )  # fmt: skip


def _sse(event: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(event)}\n\n".encode()


async def _events(audio: AsyncGenerator[bytes, None], characters: int) -> AsyncGenerator[bytes, None]:
    """``speech.audio.delta`` per encoded piece, then ``speech.audio.done``."""
    async for data in audio:
        if data:
            yield _sse({"type": "speech.audio.delta", "audio": base64.b64encode(data).decode()})
    # OpenAI counts tokens; Shoal bills characters, reported as input tokens one for one.
    yield _sse(
        {"type": "speech.audio.done", "usage": {"input_tokens": characters, "output_tokens": 0,
                                                "total_tokens": characters}}
    )  # fmt: skip


@router.post("/v1/audio/speech", summary="Text to speech (OpenAI)", response_class=StreamingResponse)
async def speech(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    raw = await read_object(request, services.settings.server.max_body_bytes)
    try:
        body = SpeechRequest.model_validate(raw)
    except ValidationError as error:
        return validation_error_response(error.errors(include_url=False, include_input=False))
    _, audio = await prepare_speech(request, services, principal, to_params(body, services.synthesizer))
    if body.stream_format == "sse":
        events = _events(audio, len(body.input))
        on_request_end(request, events.aclose)
        return StreamingResponse(
            events, media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )  # fmt: skip
    return StreamingResponse(
        audio, media_type=CONTENT_TYPES[body.response_format], headers={"Cache-Control": "no-store"}
    )
