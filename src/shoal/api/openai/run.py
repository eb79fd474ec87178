"""``POST /v1/run`` ``{model, inputs}``: every model that is not chat, behind one endpoint.

A text-to-speech model speaks ``inputs.text`` whole and answers with a signed, expiring
``audio_url`` (the audio is stored, not returned); a speech-to-text model transcribes
``inputs.audio`` (base64). Both are billed like their own endpoints.

An unknown model is a 400 (code ``model_not_found``, param ``model``), not the 404 of
``/v1/audio/*``: here the model is one input among others, chosen per request by the
caller, and a wrong one is a bad request like a wrong input.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shoal.api.billing import balance_fields, prepare_transcription, settled_headers
from shoal.api.body import read_object
from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.api.fish.schemas import audio_bytes
from shoal.api.openai.errors import validation_error_response
from shoal.api.openai.speech import voices_for
from shoal.api.stored import synthesize_and_store
from shoal.api.submit import submit_speech, submit_transcription, wants_task
from shoal.audio.types import SAMPLE_RATES
from shoal.auth.keys import ApiKey
from shoal.billing.metering import Balance
from shoal.billing.money import to_credits
from shoal.errors import InvalidRequest
from shoal.pipeline.synthesize import SpeechParams
from shoal.pipeline.transcribe import TranscriptionParams
from shoal.services import Services

router = APIRouter(tags=["OpenAI"])

_SPEECH_FIELDS = "text (or input), voice (or reference_id), format, speed, sample_rate"
_TRANSCRIPTION_FIELDS = "audio (base64), language"


class RunRejected(InvalidRequest):
    """A ``/v1/run`` request that names no usable model or carries no inputs object."""

    def __init__(self, message: str, *, param: str, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.param = param
        self.code = code


class SpeechInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    input: str | None = None
    """OpenAI's name for ``text``."""
    voice: str | None = None
    reference_id: str | list[str] | None = None
    """Fish's name for ``voice``; a list gives ``<|speaker:N|>`` tags their voices."""
    format: Literal["mp3", "wav", "opus", "flac", "aac", "pcm"] = "mp3"
    speed: Annotated[float, Field(ge=0.25, le=4.0)] = 1.0
    sample_rate: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SpeechInputs:
        if self.text is not None and self.input is not None:
            raise ValueError("give the text once, as 'text' or as 'input', not both")
        if not (self.text or self.input):
            raise ValueError('\'text\' is required: the text to speak, e.g. {"text": "Hello"}')
        if self.voice is not None and self.reference_id is not None:
            raise ValueError("give the voice once, as 'voice' or as 'reference_id', not both")
        if self.sample_rate is not None and self.sample_rate not in SAMPLE_RATES[self.format]:
            rates = ", ".join(str(rate) for rate in sorted(SAMPLE_RATES[self.format]))
            raise ValueError(
                f"sample_rate {self.sample_rate} is not available for {self.format}; use {rates}"
            )
        return self

    def params(self, model: str) -> SpeechParams:
        reference = self.reference_id
        voices = (
            voices_for(self.voice) if self.voice is not None
            else tuple(reference) if isinstance(reference, list)
            else (reference,) if reference else ()
        )  # fmt: skip
        return SpeechParams(
            text=self.text or self.input or "", model=model, voices=voices, format=self.format,
            sample_rate=self.sample_rate, speed=self.speed, latency="normal",  # whole: sentences, not bursts
        )  # fmt: skip


class TranscriptionInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audio: Annotated[bytes, BeforeValidator(audio_bytes)]
    language: str | None = None
    """ISO 639-1 hint; omitted means detected."""


def _inputs_errors(errors: list[Any], fields: str) -> list[Any]:
    """Pydantic's errors placed under ``inputs`` and, for unknown fields, naming the known ones."""
    placed = []
    for error in errors:
        error = {**error, "loc": ("inputs", *error.get("loc", ()))}
        if error.get("type") == "value_error":  # our own validators' messages, without pydantic's prefix
            error["msg"] = str(error.get("msg", "")).removeprefix("Value error, ")
        elif error.get("type") == "extra_forbidden":
            error["msg"] = f"not an input of this model; it takes {fields}"
        elif error.get("type") == "missing" and error["loc"][-1] == "audio":
            error["msg"] = (
                "required: the audio to transcribe, base64-encoded (wav, mp3, ogg, flac, m4a, webm)"
            )
        placed.append(error)
    return placed


def _cost_fields(balance: Balance) -> dict[str, Any]:
    return {"cost": float(to_credits(balance.cost_nanos)), **balance_fields(balance)}


async def _speech(
    request: Request, services: Services, key: ApiKey, model: str, inputs: dict[str, Any],
    queued: dict[str, Any] | None,
) -> Response:  # fmt: skip
    try:
        body = SpeechInputs.model_validate(inputs)
    except ValidationError as error:
        errors = error.errors(include_url=False, include_input=False, include_context=False)
        return validation_error_response(_inputs_errors(list(errors), _SPEECH_FIELDS))
    params = body.params(model)
    if queued is not None:
        return await submit_speech(request, services, key, params, surface="run", body=queued)
    stored = await synthesize_and_store(request, services, key, params)
    return JSONResponse(
        {
            "model": stored.plan.model,
            "audio_url": stored.url,
            "expires_at": math.floor(stored.blob.expires_at.timestamp()),
            "format": stored.plan.params.format,
            "sample_rate": stored.plan.params.output_rate,
            "duration": stored.duration,
            "usage": {"utf8_bytes": len(params.text.encode())},
            **_cost_fields(stored.balance),
        }
    )


async def _transcription(
    request: Request, services: Services, key: ApiKey, model: str, inputs: dict[str, Any],
    queued: dict[str, Any] | None,
) -> Response:  # fmt: skip
    try:
        body = TranscriptionInputs.model_validate(inputs)
    except ValidationError as error:
        errors = error.errors(include_url=False, include_input=False, include_context=False)
        return validation_error_response(_inputs_errors(list(errors), _TRANSCRIPTION_FIELDS))
    params = TranscriptionParams(audio=body.audio, model=model, language=body.language)
    if queued is not None:
        return await submit_transcription(request, services, key, params, surface="run", body=queued)
    plan, charge = await prepare_transcription(request, services, key, params)
    transcript = await services.transcriber.run(plan)
    balance = await settled_headers(request, charge)
    duration = round(transcript.duration, 3)
    return JSONResponse(
        {
            "model": plan.engine.name,
            "text": transcript.text,
            "language": transcript.language,
            "duration": duration,
            "segments": [
                {"id": s.id, "start": s.start, "end": s.end, "text": s.text.strip()}
                for s in transcript.segments
            ],
            "usage": {"audio_seconds": duration},
            **_cost_fields(balance),
        }
    )


def _unknown_model(services: Services, name: str) -> RunRejected:
    if services.chat.resolve(name) is not None:
        return RunRejected(
            f"model {name!r} is a chat model; send it to POST /v1/chat/completions "
            "(/v1/run serves text-to-speech and speech-to-text models)",
            param="model", code="unsupported_model",
        )  # fmt: skip
    synthesizer, transcriber = services.synthesizer, services.transcriber
    speech = ", ".join(synthesizer.model_names() + sorted(synthesizer.aliases()))
    transcription = ", ".join(transcriber.model_names() + sorted(transcriber.aliases()))
    return RunRejected(
        f"model {name!r} does not exist; text to speech: {speech}; speech to text: {transcription} "
        "(GET /v1/models lists them)",
        param="model", code="model_not_found",
    )  # fmt: skip


_BODY_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "inputs"],
                    "properties": {
                        "model": {
                            "type": "string",
                            "description": "A text-to-speech or speech-to-text model",
                        },
                        "inputs": {
                            "oneOf": [
                                SpeechInputs.model_json_schema(),
                                TranscriptionInputs.model_json_schema(),
                            ]
                        },
                    },
                }
            }
        },
    }
}


def _body_limit(services: Services) -> int:
    """Room for the largest audio upload once base64 has grown it by a third."""
    upload = services.transcriber.limits.max_upload_bytes
    return max(services.settings.server.max_body_bytes, math.ceil(upload * 4 / 3) + 64 * 1024)


@router.post("/v1/run", summary="Run a text-to-speech or speech-to-text model", openapi_extra=_BODY_SCHEMA)
async def run(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    raw = await read_object(request, _body_limit(services))
    name = raw.get("model")
    if not isinstance(name, str) or not name:
        raise RunRejected(
            "'model' is required: the name of a text-to-speech or speech-to-text model (GET /v1/models)",
            param="model",
        )
    inputs = raw.get("inputs")
    if not isinstance(inputs, dict):
        raise RunRejected(
            '\'inputs\' is required: an object of the model\'s inputs, e.g. {"text": "Hello"} for '
            'text to speech or {"audio": "<base64>"} for speech to text',
            param="inputs",
        )
    queued = wants_task(raw)
    speech_model = services.synthesizer.resolve_model(name)
    if speech_model is not None:
        return await _speech(request, services, principal, speech_model, inputs, raw if queued else None)
    transcriber = services.transcriber
    if name in transcriber.model_names() or name in transcriber.aliases():
        return await _transcription(request, services, principal, name, inputs, raw if queued else None)
    raise _unknown_model(services, name)
