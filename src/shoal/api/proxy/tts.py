"""``POST /v1/fish/tts``: Fish's TTS body, answered with a link to the stored audio.

As the proxy documents it: the ``model`` header picks s1 or s2-pro, ``latency`` defaults to
``normal`` when omitted, and the answer is ``{"audio_url", "latency_ms"}`` rather than the
audio itself. With ``callback_url`` (or ``async: true``) it answers ``{task_id, started_at}`` at once
and POSTs the result to the callback when the task is done.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shoal.api.body import read_object
from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.api.fish.schemas import TTSRequest
from shoal.api.fish.tts import to_params
from shoal.api.proxy.errors import BAD_PARAMETERS, error_response, validation_error_response
from shoal.api.stored import synthesize_and_store
from shoal.api.submit import submit_speech, wants_task, without_async_fields

router = APIRouter(tags=["Fish proxy"])

_BODY_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": TTSRequest.model_json_schema()},
            "application/msgpack": {"schema": TTSRequest.model_json_schema()},
        },
    }
}


@router.post(
    "/v1/fish/tts",
    summary="Text to speech, answered with an audio URL",
    responses={200: {"description": '`{"audio_url": …, "latency_ms": …}`'}},
    openapi_extra=_BODY_SCHEMA,
)
async def text_to_speech_url(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    model: Annotated[str | None, Header(description="s1 or s2-pro (the default)")] = None,
) -> Response:
    started = time.perf_counter()
    raw = await read_object(request, services.settings.server.max_body_bytes)
    queued = wants_task(raw)
    work = {**without_async_fields(raw), "latency": raw.get("latency") or "normal"}
    try:
        body = TTSRequest.model_validate(work)
    except ValidationError as error:
        return validation_error_response(
            request, error.errors(include_url=False, include_input=False, include_context=False)
        )
    params = to_params(body, model, work)
    if services.synthesizer.refuses_dialogue(params):
        return error_response(
            request, 400, BAD_PARAMETERS,
            "several speakers (a reference_id list or references per speaker) need an S2 model, e.g. s2-pro",
        )  # fmt: skip
    if queued:
        return await submit_speech(request, services, principal, params, surface="proxy", body=raw)
    stored = await synthesize_and_store(request, services, principal, params)
    latency_ms = round((time.perf_counter() - started) * 1000)
    return JSONResponse({"audio_url": stored.url, "latency_ms": latency_ms})
