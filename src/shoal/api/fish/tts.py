"""``POST /v1/tts``: Fish Audio text to speech, streamed as raw audio."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from shoal.api.billing import prepare_speech
from shoal.api.body import read_object
from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.api.fish.errors import validation_error_response
from shoal.api.fish.schemas import TTSRequest
from shoal.api.submit import submit_speech, wants_task, without_async_fields
from shoal.audio.types import CONTENT_TYPES
from shoal.pipeline.synthesize import SpeechParams, Synthesizer

router = APIRouter(tags=["Fish Audio"])

_BODY_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": TTSRequest.model_json_schema()},
            "application/msgpack": {"schema": TTSRequest.model_json_schema()},
        },
    }
}


def to_params(body: TTSRequest, model: str | None, raw: dict[str, Any] | None = None) -> SpeechParams:
    """Fish's request in Shoal's terms. Unset fields take the SDK's defaults. ``raw`` is the body as
    received, forwarded verbatim when the model is served by a Fish upstream."""
    prosody = body.prosody
    reference = body.reference_id
    voices = tuple(reference) if isinstance(reference, list) else (reference,) if reference else ()
    # A voice id wins over inline references (Fish's rule); with a list of ids, references[N]
    # (when given) is speaker N's voice and the ids are labels.
    references = () if isinstance(reference, str) else references_of(body)
    return SpeechParams(
        text=body.text,
        model=model,
        voices=voices,
        format=body.format or "mp3",
        sample_rate=body.sample_rate,
        mp3_bitrate_kbps=body.mp3_bitrate or 128,
        opus_bitrate_bps=body.opus_bitrate_bps,
        speed=(prosody.speed if prosody and prosody.speed is not None else 1.0),
        volume_db=(prosody.volume if prosody and prosody.volume is not None else 0.0),
        normalize_loudness=not (prosody and prosody.normalize_loudness is False),
        normalize=body.normalize is not False,
        chunk_length=body.chunk_length or 200,
        min_chunk_length=body.min_chunk_length if body.min_chunk_length is not None else 50,
        latency=body.latency or "balanced",
        fish_body=raw,
        references=references,
    )


def references_of(body: TTSRequest) -> tuple[tuple[tuple[bytes, str], ...], ...]:
    """Inline references per speaker: a flat list is one speaker's clips, a list of lists one per speaker."""
    found = body.references or []
    if not found:
        return ()
    if isinstance(found[0], list):
        return tuple(tuple((ref.audio, ref.text) for ref in speaker) for speaker in found)
    return (tuple((ref.audio, ref.text) for ref in found),)


def refuse_dialogue_on_s1(params: SpeechParams, synthesizer: Synthesizer) -> Response | None:
    """Several speakers need an S2 model: Fish answers a list with ``s1`` with 422, and so does Shoal."""
    if synthesizer.refuses_dialogue(params):
        return validation_error_response(
            [{"loc": ("body", "reference_id"), "type": "value_error",
              "msg": "several speakers (a reference_id list or references per speaker) need an S2 model such "
                     "as s2-pro; s1 speaks with one voice"}]
        )  # fmt: skip
    return None


@router.post(
    "/v1/tts",
    summary="Text to speech",
    response_class=StreamingResponse,
    responses={
        200: {"content": {ct: {} for ct in CONTENT_TYPES.values()}, "description": "Raw audio, chunked."}
    },
    openapi_extra=_BODY_SCHEMA,
)
async def text_to_speech(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    model: Annotated[str | None, Header(description="s1 or s2-pro; anything else uses the default")] = None,
) -> Response:
    raw = await read_object(request, services.settings.server.max_body_bytes)
    try:
        body = TTSRequest.model_validate(raw)
    except ValidationError as error:
        return validation_error_response(error.errors(include_url=False, include_input=False))
    params = to_params(body, model, without_async_fields(raw))
    refused = refuse_dialogue_on_s1(params, services.synthesizer)
    if refused is not None:
        return refused
    if wants_task(raw):
        return await submit_speech(request, services, principal, params, surface="fish", body=raw)
    plan, audio = await prepare_speech(request, services, principal, params)
    return StreamingResponse(
        audio, media_type=CONTENT_TYPES[plan.params.format], headers={"Cache-Control": "no-store"}
    )
