"""``POST /v1/asr``: Fish Audio speech to text (multipart, msgpack, or JSON with base64 audio)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shoal.api.billing import prepare_transcription, settled_headers
from shoal.api.body import MULTIPART_TYPES, media_type, open_form, read_object, upload_bytes
from shoal.api.deps import PrincipalDep, ServicesDep, TranscriberDep
from shoal.api.fish.errors import validation_error_response
from shoal.api.fish.schemas import audio_bytes
from shoal.pipeline.transcribe import TranscriptionParams

router = APIRouter(tags=["Fish Audio"])


class ASRRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    audio: Annotated[bytes, BeforeValidator(audio_bytes)]
    language: str | None = None
    """ISO 639-1 hint; omitted means detected."""
    ignore_timestamps: bool | None = None
    """Default true: no segments. False adds segments with start and end in seconds."""


class ASRSegment(BaseModel):
    text: str
    start: float
    end: float


class ASRResponse(BaseModel):
    text: str
    duration: float
    """Seconds of audio."""
    segments: list[ASRSegment]


_BODY_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            kind: {"schema": ASRRequest.model_json_schema()}
            for kind in ("multipart/form-data", "application/msgpack", "application/json")
        },
    }
}


async def _fields(request: Request, limit: int) -> dict[str, Any]:
    if media_type(request) in MULTIPART_TYPES:
        async with open_form(request, limit) as form:
            fields: dict[str, Any] = {key: value for key, value in form.items() if key != "audio"}
            fields["audio"] = await upload_bytes(form.get("audio"), field="audio", limit=limit)
        return {key: (None if value == "" else value) for key, value in fields.items()}
    return await read_object(request, limit)


@router.post("/v1/asr", summary="Speech to text", response_model=ASRResponse, openapi_extra=_BODY_SCHEMA)
async def speech_to_text(
    request: Request, principal: PrincipalDep, services: ServicesDep, transcriber: TranscriberDep
) -> Response:
    fields = await _fields(request, transcriber.limits.max_upload_bytes)
    try:
        body = ASRRequest.model_validate(fields)
    except ValidationError as error:
        return validation_error_response(error.errors(include_url=False, include_input=False))
    plan, charge = await prepare_transcription(
        request, services, principal, TranscriptionParams(audio=body.audio, language=body.language)
    )
    transcript = await transcriber.run(plan)
    await settled_headers(request, charge)
    with_segments = body.ignore_timestamps is False
    response = ASRResponse(
        text=transcript.text,
        duration=round(transcript.duration, 3),
        segments=[ASRSegment(text=s.text.strip(), start=s.start, end=s.end) for s in transcript.segments]
        if with_segments
        else [],
    )
    return JSONResponse(response.model_dump())
