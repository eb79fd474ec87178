"""OpenAI ``POST /v1/chat/completions``: chat models go to their upstream deployments; a speech
model (``fish-audio-s2-pro``, ``tts-1`` …) speaks the last user message and answers in OpenAI's
audio output shape."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from shoal.api.billing import balance_fields, open_charge, settled_headers
from shoal.api.body import read_object
from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.api.middleware import on_request_end, request_id
from shoal.api.openai.chat_audio import ChatAudio, speak
from shoal.api.openai.errors import validation_error_response
from shoal.billing.usage import Outcome, UsageEvent
from shoal.errors import ModelNotFound
from shoal.gateway.chat import ChatStream, estimate_tokens, output_limit, usage_of

router = APIRouter(tags=["OpenAI"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """What Shoal checks; every other field is passed to the upstream as sent."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: Annotated[list[dict[str, Any]], Field(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    audio: ChatAudio | None = None


@router.post("/v1/chat/completions", summary="Chat completions (OpenAI)")
async def chat_completions(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    raw = await read_object(request, services.settings.chat.max_body_bytes)
    try:
        body = ChatRequest.model_validate(raw)
    except ValidationError as error:
        return validation_error_response(error.errors(include_url=False, include_input=False))
    gateway = services.chat
    model = gateway.resolve(body.model)
    if model is None:
        if services.synthesizer.resolve_model(body.model) is not None:
            return await speak(
                request, services, principal, body.model, body.messages, body.audio, body.stream
            )
        names = gateway.model_names() + sorted(gateway.aliases()) + services.synthesizer.model_names()
        raise ModelNotFound(
            f"model {body.model!r} does not exist; use one of {', '.join(names)} (GET /v1/models lists them)"
        )

    input_estimate = estimate_tokens(len(json.dumps(body.messages, ensure_ascii=False).encode()))
    charge = await open_charge(
        request, services, principal, "chat", model, input_estimate, output_units=output_limit(raw)
    )
    rid = request_id(request)
    if not body.stream:
        answer = await gateway.complete(model, raw, rid, shown_as=body.model)
        tokens = usage_of(answer, input_estimate)
        charge.record(
            UsageEvent("chat", model, tokens.input, "tokens", "completed", output_quantity=tokens.output)
        )
        balance = await settled_headers(request, charge)
        return JSONResponse({**answer, **balance_fields(balance)})

    opening = asyncio.ensure_future(gateway.open_stream(model, raw, rid))
    # An upstream that answers quickly lets failures keep their real status; a slow one gets
    # the stream started with keep-alive comments, and any failure becomes an error event.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(opening), gateway.keepalive_seconds)
    relay = ChatStream(
        opening,
        model=body.model,
        keepalive=gateway.keepalive_seconds,
        wants_usage=bool(body.stream_options and body.stream_options.include_usage),
    )
    events = relay.events()

    async def bill() -> None:
        await events.aclose()
        if relay.usage is not None:
            tokens = relay.usage
        else:  # cut short: bill the input and what was streamed
            tokens = usage_of({"choices": []}, input_estimate)
            tokens.output = estimate_tokens(relay.output_chars) if relay.output_chars else 0
        outcome: Outcome = "completed" if relay.finished else "cancelled"
        unanswered = opening.done() and not opening.cancelled() and opening.exception() is not None
        if unanswered and relay.usage is None and not relay.output_chars:
            outcome = "failed"  # no deployment answered: nothing to pay for
        charge.record(
            UsageEvent("chat", model, tokens.input, "tokens", outcome, output_quantity=tokens.output)
        )

    on_request_end(request, bill)
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
