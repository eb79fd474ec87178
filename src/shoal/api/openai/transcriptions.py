"""OpenAI ``POST /v1/audio/transcriptions`` and ``/v1/audio/translations`` on local Whisper."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import AsyncGenerator
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from shoal.api.billing import balance_fields, prepare_transcription, settled_headers
from shoal.api.body import open_form, upload_bytes
from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.api.middleware import on_request_end
from shoal.api.openai.errors import validation_error_response
from shoal.api.openai.languages import language_name
from shoal.auth.keys import ApiKey
from shoal.engines.whisper import Segment
from shoal.errors import ShoalError
from shoal.pipeline.transcribe import Transcriber, Transcript, TranscriptionParams, TranscriptionPlan
from shoal.services import Services
from shoal.text.subtitles import srt, vtt

router = APIRouter(tags=["OpenAI"])

ResponseFormat = Literal["json", "text", "srt", "verbose_json", "vtt"]


class TranscriptionForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    language: str | None = None
    prompt: str | None = None
    temperature: float = Field(0.0, ge=0.0, le=1.0)
    response_format: ResponseFormat = "json"
    timestamp_granularities: list[Literal["word", "segment"]] = Field(default_factory=list)
    stream: bool = False


def _form_schema(task: str) -> dict[str, Any]:
    properties = {
        "file": {"type": "string", "format": "binary"},
        **TranscriptionForm.model_json_schema()["properties"],
    }
    if task == "translate":
        for name in ("language", "timestamp_granularities"):
            properties.pop(name, None)
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def _usage(duration: float) -> dict[str, Any]:
    return {"type": "duration", "seconds": math.ceil(duration)}


def _segment_json(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "seek": 0,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "tokens": list(segment.tokens),
        "temperature": segment.temperature,
        "avg_logprob": segment.avg_logprob,
        "compression_ratio": segment.compression_ratio,
        "no_speech_prob": segment.no_speech_prob,
    }


def render(
    transcript: Transcript, form: TranscriptionForm, task: str, extra: dict[str, Any] | None = None
) -> Response:
    """The transcript in the response format asked for; ``extra`` joins JSON bodies (balance fields)."""
    if form.response_format == "text":
        return PlainTextResponse(transcript.text + "\n")
    if form.response_format == "srt":
        return PlainTextResponse(srt(transcript.segments), media_type="application/x-subrip")
    if form.response_format == "vtt":
        return PlainTextResponse(vtt(transcript.segments), media_type="text/vtt")
    if form.response_format == "json":
        return JSONResponse({"text": transcript.text, "usage": _usage(transcript.duration), **(extra or {})})
    body: dict[str, Any] = {
        "task": task,
        "language": language_name(transcript.language),
        "duration": round(transcript.duration, 3),
        "text": transcript.text,
    }
    granularities = set(form.timestamp_granularities) or {"segment"}
    if "segment" in granularities:
        body["segments"] = [_segment_json(segment) for segment in transcript.segments]
    if "word" in granularities:
        body["words"] = [
            {"word": word.word.strip(), "start": word.start, "end": word.end}
            for segment in transcript.segments
            for word in segment.words
        ]
    body["usage"] = _usage(transcript.duration)
    return JSONResponse({**body, **(extra or {})})


def _sse(event: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


async def _events(transcriber: Transcriber, plan: TranscriptionPlan) -> AsyncGenerator[bytes, None]:
    """``transcript.text.delta`` per segment, then ``transcript.text.done``; an error event if it breaks."""
    texts: list[str] = []
    try:
        async with contextlib.aclosing(transcriber.segments(plan)) as segments:
            async for segment in segments:
                delta = segment.text if texts else segment.text.lstrip()
                texts.append(delta)
                yield _sse({"type": "transcript.text.delta", "delta": delta})
    except ShoalError as error:
        yield _sse({"type": "error", "error": {"message": error.message, "type": "server_error"}})
        return
    yield _sse(
        {"type": "transcript.text.done", "text": "".join(texts).strip(), "usage": _usage(plan.job.duration)}
    )


async def _handle(request: Request, principal: ApiKey, services: Services, task: str) -> Response:
    transcriber = services.transcriber
    limit = transcriber.limits.max_upload_bytes
    async with open_form(request, limit) as form_data:
        audio = await upload_bytes(form_data.get("file"), field="file", limit=limit)
        fields: dict[str, Any] = {
            key: value
            for key, value in form_data.items()
            if not isinstance(value, UploadFile) and value != ""
        }
        granularities = [
            *form_data.getlist("timestamp_granularities[]"),
            *form_data.getlist("timestamp_granularities"),
        ]
        fields["timestamp_granularities"] = [value for value in granularities if isinstance(value, str)]
    try:
        form = TranscriptionForm.model_validate(fields)
    except ValidationError as error:
        return validation_error_response(error.errors(include_url=False, include_input=False))
    plan, charge = await prepare_transcription(
        request,
        services,
        principal,
        TranscriptionParams(
            audio=audio,
            model=form.model,
            language=form.language if task == "transcribe" else None,
            task="translate" if task == "translate" else "transcribe",
            prompt=form.prompt,
            temperature=form.temperature,
            word_timestamps="word" in form.timestamp_granularities,
        ),
    )
    if form.stream:
        events = _events(transcriber, plan)
        on_request_end(request, events.aclose)  # a reader that left mid-stream is billed what was decoded
        return StreamingResponse(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            background=BackgroundTask(plan.ticket.release),
        )
    transcript = await transcriber.run(plan)
    return render(transcript, form, task, balance_fields(await settled_headers(request, charge)))


@router.post("/v1/audio/transcriptions", summary="Transcribe audio", openapi_extra=_form_schema("transcribe"))
async def transcriptions(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    return await _handle(request, principal, services, "transcribe")


@router.post(
    "/v1/audio/translations", summary="Translate audio into English", openapi_extra=_form_schema("translate")
)
async def translations(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    return await _handle(request, principal, services, "translate")
