"""Speech synthesized whole and stored, answered with a signed link instead of the audio itself
(``POST /v1/run`` and ``POST /v1/fish/tts``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.requests import Request

from shoal.api.billing import SpeechPlan, charge_of, prepare_speech, settled_headers
from shoal.audio.duration import audio_seconds
from shoal.audio.types import CONTENT_TYPES
from shoal.auth.keys import ApiKey
from shoal.billing.metering import Balance
from shoal.billing.usage import UsageEvent
from shoal.pipeline.synthesize import SpeechParams
from shoal.services import Services
from shoal.storage.blobs import BlobInfo


@dataclass(frozen=True, slots=True)
class StoredSpeech:
    plan: SpeechPlan
    blob: BlobInfo
    url: str
    duration: float
    """Seconds, measured from the stored audio."""
    balance: Balance
    """What the request cost, and the balance after (settled before answering)."""


async def synthesize_and_store(
    request: Request, services: Services, key: ApiKey, params: SpeechParams
) -> StoredSpeech:
    """Synthesize ``params`` to the end (billed like any synthesis), store the audio for the
    configured retention and settle the charge. Audio that could not be stored is not charged."""
    plan, audio = await prepare_speech(request, services, key, params)
    charge = charge_of(plan)
    data = b"".join([piece async for piece in audio])
    audio_format = plan.params.format
    try:
        duration = await asyncio.to_thread(audio_seconds, data, audio_format, plan.params.output_rate)
        blob = await services.blobs.put(
            data, CONTENT_TYPES[audio_format], owner=key.account_id,
            ttl=services.settings.blobs.retention_seconds,
        )  # fmt: skip
    except BaseException:
        charge.record(UsageEvent("tts", plan.model, 0, "utf8_bytes", "failed"))
        raise
    balance = await settled_headers(request, charge)
    url = services.file_links.url(blob, str(request.base_url))
    return StoredSpeech(plan, blob, url, round(duration, 3), balance)
