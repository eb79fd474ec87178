"""What a task does: the synthesis or transcription it describes, run to the end and stored.

A task's request is plain data (msgpack), so any process can run it: the speech or
transcription parameters, the base URL its links are made on, and what its hold priced.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from collections.abc import AsyncGenerator
from typing import Any

from shoal.audio.duration import audio_seconds
from shoal.audio.types import CONTENT_TYPES
from shoal.billing.metering import Charge
from shoal.billing.pricing import Kind, Quote
from shoal.billing.usage import UsageEvent
from shoal.pipeline.synthesize import SpeechParams
from shoal.pipeline.transcribe import TranscriptionParams
from shoal.services import Services
from shoal.tasks.queue import Task


def speech_request(params: SpeechParams, *, base_url: str, units: float, discount_bp: int) -> dict[str, Any]:
    speech = dataclasses.asdict(params)
    speech["voices"] = list(params.voices)
    if params.fish_body is not None:
        speech["fish_body"] = dict(params.fish_body)
    return {"speech": speech, "base_url": base_url, "units": units, "discount_bp": discount_bp}


def transcription_request(
    params: TranscriptionParams, *, base_url: str, units: float, discount_bp: int
) -> dict[str, Any]:
    return {"transcription": dataclasses.asdict(params), "base_url": base_url, "units": units,
            "discount_bp": discount_bp}  # fmt: skip


def quote_of(services: Services, task: Task) -> Quote:
    """What the task's hold was priced at (its key's discount as it was at submission)."""
    kind: Kind = task.kind
    return services.metering.prices.quote(
        kind, task.model, task.request["units"], task.request["discount_bp"]
    )


def _speech_params(task: Task) -> SpeechParams:
    fields = dict(task.request["speech"])
    fields["voices"] = tuple(fields.get("voices") or ())
    fields["references"] = tuple(
        tuple((bytes(audio), str(text)) for audio, text in speaker)
        for speaker in fields.get("references") or ()
    )
    return SpeechParams(**fields)


async def _audio(services: Services, task: Task, params: SpeechParams, charge: Charge | None) -> bytes:
    synthesizer = services.synthesizer
    model = synthesizer.model_for(params)
    audio: AsyncGenerator[bytes, None]
    if services.upstream_speech.serves(model):
        upstream = await services.upstream_speech.open(model, params, task.id)
        try:
            audio = services.upstream_speech.stream(upstream, meter=charge)
            async with contextlib.aclosing(audio):
                return b"".join([piece async for piece in audio])
        finally:
            await upstream.close()
    speakers = None
    if params.voices or params.references:
        speakers = await services.voices.speakers(params.voices, task.account_id, params.references)
        await services.voices.count_uses(speakers)
    plan = synthesizer.plan(params, speakers)
    try:
        audio = synthesizer.stream(plan, meter=charge)
        async with contextlib.aclosing(audio):
            return b"".join([piece async for piece in audio])
    finally:
        plan.release()


async def speak(services: Services, task: Task, charge: Charge | None) -> dict[str, Any]:
    params = _speech_params(task)
    data = await _audio(services, task, params, charge)
    try:
        duration = await asyncio.to_thread(audio_seconds, data, params.format, params.output_rate)
        blob = await services.blobs.put(
            data, CONTENT_TYPES[params.format], owner=task.account_id,
            ttl=services.settings.blobs.retention_seconds,
        )  # fmt: skip
    except BaseException:
        if charge is not None:  # audio nobody can fetch is not charged
            charge.record(UsageEvent("tts", task.model, 0, "utf8_bytes", "failed"))
        raise
    return {
        "audio_url": services.file_links.url(blob, task.request.get("base_url")),
        "expires_at": math.floor(blob.expires_at.timestamp()),
        "format": params.format,
        "sample_rate": params.output_rate,
        "duration": round(duration, 3),
        "usage": {"utf8_bytes": len(params.text.encode())},
    }


async def transcribe(services: Services, task: Task, charge: Charge | None) -> dict[str, Any]:
    params = TranscriptionParams(**task.request["transcription"])
    plan = await services.transcriber.prepare(params, meter=charge)
    transcript = await services.transcriber.run(plan)
    duration = round(transcript.duration, 3)
    return {
        "text": transcript.text,
        "language": transcript.language,
        "duration": duration,
        "segments": [
            {"id": s.id, "start": s.start, "end": s.end, "text": s.text.strip()} for s in transcript.segments
        ],
        "usage": {"audio_seconds": duration},
    }


async def execute(services: Services, task: Task, charge: Charge | None) -> dict[str, Any]:
    if task.kind == "tts":
        return await speak(services, task, charge)
    return await transcribe(services, task, charge)
