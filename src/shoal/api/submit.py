"""Submitting a request as an asynchronous task: ``callback_url`` (or ``async: true``) in
``POST /v1/tts``, ``POST /v1/fish/tts`` and ``POST /v1/run`` answers ``{task_id, started_at}`` at
once; the work runs on a worker, and its result is POSTed to the callback and kept for polling.

Everything that can be refused is refused here, before the answer: a bad callback URL, a
request the synchronous path would refuse, credits (held now, settled when the task ends).
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse

from shoal.auth.keys import ApiKey
from shoal.errors import EngineBusy, InvalidRequest
from shoal.pipeline.synthesize import SpeechParams
from shoal.pipeline.transcribe import TranscriptionParams
from shoal.services import Services
from shoal.tasks.queue import Submission, Task, check_idempotency_key
from shoal.tasks.webhooks import vet_callback_url
from shoal.tasks.work import speech_request, transcription_request
from shoal.timestamps import iso_z

ASYNC_FIELDS = ("callback_url", "async")
"""Fields of a request body that ask for a task; they are not part of the work (nor forwarded)."""


def wants_task(body: dict[str, Any]) -> bool:
    """Whether a request body asks to run as a task."""
    value = body.get("async")
    if value is not None and not isinstance(value, bool):
        raise InvalidRequest("'async' must be true or false")
    return body.get("callback_url") is not None or value is True


def without_async_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in ASYNC_FIELDS}


async def _callback(services: Services, body: dict[str, Any]) -> str | None:
    url = body.get("callback_url")
    if url is None:
        return None
    if not isinstance(url, str):
        raise InvalidRequest("callback_url must be a string: the http(s) URL to POST the result to")
    await vet_callback_url(url, services.settings.tasks.callback_allow_networks)
    return url


def accepted(task: Task) -> JSONResponse:
    started = iso_z(task.created_at, "milliseconds")
    return JSONResponse({"task_id": task.id, "started_at": started})


async def _submit(
    request: Request, services: Services, key: ApiKey, *, kind: Literal["tts", "stt"], surface: str,
    model: str, work: dict[str, Any], units: float, callback_url: str | None,
) -> JSONResponse:  # fmt: skip
    submission = Submission(
        account_id=key.account_id, key_id=key.id, kind=kind, surface=surface, model=model,
        request=work, callback_url=callback_url,
        idempotency_key=check_idempotency_key(request.headers.get("idempotency-key")),
    )  # fmt: skip
    existing = await services.tasks.existing(submission)
    if existing is not None:
        return accepted(existing)
    charge = await services.metering.open(
        key, kind, model, units=units, request_id=f"task-hold:{submission.fingerprint()[:16]}",
        hold_ttl_seconds=services.settings.tasks.hold_ttl_seconds,
    )  # fmt: skip
    try:
        task = await services.tasks.submit(submission, hold_id=charge.hold.id)
    except BaseException:
        await charge.settle()  # not queued: nothing to pay for
        raise
    if services.worker is not None:
        services.worker.wake()
    return accepted(task)


async def submit_speech(
    request: Request, services: Services, key: ApiKey, params: SpeechParams, *, surface: str,
    body: dict[str, Any],
) -> JSONResponse:  # fmt: skip
    """Queue ``params`` (validated now as a synchronous request would be) as a speech task."""
    callback_url = await _callback(services, body)
    synthesizer = services.synthesizer
    model = synthesizer.model_for(params)
    if services.upstream_speech.serves(model):
        synthesizer.check_length(params)
    else:
        # Voices, text, languages: refused now, not later. Busy now is no reason to refuse
        # work that waits in a queue.
        speakers = None
        if params.voices or params.references:
            speakers = await services.voices.speakers(params.voices, key.account_id, params.references)
        with contextlib.suppress(EngineBusy):
            synthesizer.plan(params, speakers).release()
    units = len(params.text.encode())
    work = speech_request(params, base_url=str(request.base_url), units=units, discount_bp=key.discount_bp)
    return await _submit(
        request, services, key, kind="tts", surface=surface, model=model, work=work, units=units,
        callback_url=callback_url,
    )  # fmt: skip


async def submit_transcription(
    request: Request, services: Services, key: ApiKey, params: TranscriptionParams, *, surface: str,
    body: dict[str, Any],
) -> JSONResponse:  # fmt: skip
    """Queue a transcription, held for the audio's declared length."""
    callback_url = await _callback(services, body)
    plan = await services.transcriber.prepare(params)
    plan.ticket.release()
    units = plan.expected_seconds
    work = transcription_request(
        params, base_url=str(request.base_url), units=units, discount_bp=key.discount_bp
    )
    return await _submit(
        request, services, key, kind="stt", surface=surface, model=plan.engine.name, work=work, units=units,
        callback_url=callback_url,
    )  # fmt: skip
