"""Speech to text through upstream deployments: Fish's ``/v1/asr`` or OpenAI's
``/audio/transcriptions``. It stands where a local Whisper engine would, so both API surfaces
use it unchanged; the audio is measured here, and that is what is billed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgpack

from shoal.audio.duration import audio_seconds
from shoal.engines.whisper import Segment, TranscriptionJob
from shoal.engines.worker import AdmissionTicket, EngineStats
from shoal.gateway.routing import Router, Target, UpstreamFailure
from shoal.gateway.upstream import send


def _segments(answer: dict[str, Any]) -> list[Segment]:
    found = answer.get("segments") or []
    segments = [
        Segment(
            index, float(item.get("start") or 0), float(item.get("end") or 0), str(item.get("text") or "")
        )
        for index, item in enumerate(found)
        if isinstance(item, dict)
    ]
    if not segments and answer.get("text"):
        duration = float(answer.get("duration") or 0)
        segments = [Segment(0, 0.0, duration, str(answer["text"]))]
    return segments


class UpstreamRecognizer:
    """One speech-to-text model served by upstream deployments."""

    loaded = True

    def __init__(self, name: str, router: Router) -> None:
        self.name = name
        self._router = router
        self._served = 0

    async def start(self) -> None:
        """Nothing to load."""

    async def close(self) -> None:
        """The router owns the connections."""

    def admit(self) -> AdmissionTicket:
        return AdmissionTicket(None)  # the upstream has its own queue; Shoal's limits still apply

    def stats(self) -> EngineStats:
        return EngineStats(admitted=0, capacity=0, pieces=self._served)

    async def _ask(self, target: Target, job: TranscriptionJob) -> dict[str, Any]:
        if target.upstream.kind == "fish":
            fields = {"audio": job.audio, "language": job.language, "ignore_timestamps": False}
            body = msgpack.packb({k: v for k, v in fields.items() if v is not None}, use_bin_type=True)
            headers = {"content-type": "application/msgpack"}
            response = await send(target, "/v1/asr", content=body, headers=headers)
        else:
            form = {"model": target.upstream_model, "response_format": "verbose_json"}
            if job.language:
                form["language"] = job.language
            if job.prompt:
                form["prompt"] = job.prompt
            path = "/audio/translations" if job.task == "translate" else "/audio/transcriptions"
            response = await send(target, path, files={"file": ("audio", job.audio)}, data=form)
        try:
            answer = response.json()
        except ValueError as error:
            raise UpstreamFailure("answered with a body that is not JSON") from error
        if not isinstance(answer, dict):
            raise UpstreamFailure("answered with JSON that is not an object")
        return answer

    async def transcribe(self, job: TranscriptionJob) -> AsyncIterator[Segment]:
        # Measured before sending: the bill follows the audio, whatever the upstream reports.
        job.duration = await asyncio.to_thread(audio_seconds, job.audio, "auto", 16_000)
        answer = await self._router.call("stt", self.name, lambda target: self._ask(target, job))
        language = answer.get("language")
        job.detected_language = language if isinstance(language, str) else job.language
        for segment in _segments(answer):
            self._served += 1
            job.segments.append(segment)
            yield segment
