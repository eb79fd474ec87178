"""A speech model asked for through chat completions: the last user message is spoken and returned
as ``choices[0].message.audio`` (OpenAI's audio output shape), whole or streamed as deltas."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncGenerator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from shoal.api.billing import balance_fields, charge_of, prepare_speech, settled_headers
from shoal.api.middleware import on_request_end
from shoal.api.openai.speech import OPENAI_RATE, VoiceRef, voices_for
from shoal.audio.types import AudioFormat
from shoal.auth.keys import ApiKey
from shoal.errors import InvalidRequest
from shoal.pipeline.synthesize import SpeechParams
from shoal.services import Services

ChatAudioFormat = Literal["wav", "mp3", "flac", "opus", "aac", "pcm16"]

_FORMATS: dict[str, AudioFormat] = {"pcm16": "pcm"}
_AUDIO_TTL_SECONDS = 3600


class ChatAudio(BaseModel):
    model_config = ConfigDict(extra="allow")

    voice: str | VoiceRef = "alloy"
    format: ChatAudioFormat = "wav"


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message (a string, or its text parts joined)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            text = content
        elif isinstance(content, list):
            text = " ".join(
                str(part.get("text", ""))
                for part in content
                if isinstance(part, dict) and part.get("type") in ("text", "input_text")
            )
        else:
            text = ""
        if text.strip():
            return text
        break
    raise InvalidRequest("a speech model speaks the last user message; send one with text content")


def _chunk(completion_id: str, created: int, model: str, delta: dict[str, Any], finish: str | None) -> bytes:
    event = {
        "id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }  # fmt: skip
    return b"data: " + json.dumps(event).encode() + b"\n\n"


async def speak(
    request: Request,
    services: Services,
    principal: ApiKey,
    model: str,
    messages: list[dict[str, Any]],
    audio_options: ChatAudio | None,
    stream: bool,
) -> Response:
    options = audio_options or ChatAudio()
    text = last_user_text(messages)
    voice = options.voice.id if isinstance(options.voice, VoiceRef) else options.voice
    params = SpeechParams(
        text=text, model=services.synthesizer.resolve_model(model), voices=voices_for(voice),
        format=_FORMATS.get(options.format, options.format),  # type: ignore[arg-type]
        sample_rate=OPENAI_RATE, latency="balanced",
    )  # fmt: skip
    plan, audio = await prepare_speech(request, services, principal, params)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    audio_id = f"audio_{uuid.uuid4().hex}"
    created = int(time.time())
    expires_at = created + _AUDIO_TTL_SECONDS
    size = len(text.encode())
    usage = {"prompt_tokens": size, "completion_tokens": 0, "total_tokens": size}

    if stream:

        async def events() -> AsyncGenerator[bytes, None]:
            yield _chunk(completion_id, created, model, {"role": "assistant", "content": None}, None)
            async for data in audio:
                if data:
                    delta = {"audio": {"id": audio_id, "data": base64.b64encode(data).decode()}}
                    yield _chunk(completion_id, created, model, delta, None)
            final = {"audio": {"id": audio_id, "expires_at": expires_at, "transcript": text}}
            yield _chunk(completion_id, created, model, final, "stop")
            yield b"data: [DONE]\n\n"

        stream_events = events()
        on_request_end(request, stream_events.aclose)
        return StreamingResponse(
            stream_events, media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )  # fmt: skip

    data = b"".join([piece async for piece in audio])
    await audio.aclose()  # reports the usage before the charge settles
    balance = await settled_headers(request, charge_of(plan))
    message = {
        "role": "assistant", "content": None, "refusal": None,
        "audio": {"id": audio_id, "data": base64.b64encode(data).decode(), "expires_at": expires_at,
                  "transcript": text},
    }  # fmt: skip
    answer = {
        "id": completion_id, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": usage,
    }  # fmt: skip
    return JSONResponse({**answer, **balance_fields(balance)})
