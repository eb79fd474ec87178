"""Speech to text, top to bottom.

``prepare`` does what can fail before a response starts — model lookup, a probe of
the upload, the language code, queue admission, loading a model on first use — so
those failures get a proper status. ``segments`` then streams recognised segments
and meters the audio seconds Shoal decoded when it ends, however the caller formats
the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from shoal.audio.decode import probe
from shoal.billing.usage import Outcome, UsageEvent, UsageRecorder
from shoal.engines.whisper import Segment, TranscriptionJob, WhisperEngine
from shoal.engines.worker import AdmissionTicket, EngineStats
from shoal.errors import EngineFailed, InvalidRequest, ModelNotFound, RequestTooLarge, ShoalError
from shoal.settings import STTSettings

if TYPE_CHECKING:
    from shoal.gateway.routing import Router


class Recognizer(Protocol):
    """A speech-to-text model: a local Whisper, or upstream deployments."""

    name: str

    @property
    def loaded(self) -> bool: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def admit(self) -> AdmissionTicket: ...

    def stats(self) -> EngineStats: ...

    def transcribe(self, job: TranscriptionJob) -> AsyncIterator[Segment]: ...


def _language_codes() -> frozenset[str]:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return frozenset(_LANGUAGE_CODES)


@dataclass(frozen=True, slots=True)
class TranscriptionParams:
    audio: bytes
    model: str | None = None
    language: str | None = None
    task: Literal["transcribe", "translate"] = "transcribe"
    prompt: str | None = None
    temperature: float = 0.0
    word_timestamps: bool = False


@dataclass(slots=True)
class TranscriptionPlan:
    engine: Recognizer
    job: TranscriptionJob
    ticket: AdmissionTicket
    meter: UsageRecorder | None
    expected_seconds: float


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    duration: float
    language: str | None
    segments: tuple[Segment, ...]


def join_text(segments: list[Segment] | tuple[Segment, ...]) -> str:
    return "".join(segment.text for segment in segments).strip()


_LOWEST_BYTES_PER_SECOND = 2000


class Transcriber:
    def __init__(self, settings: STTSettings, *, models_dir: Path, router: Router | None = None) -> None:
        from shoal.gateway.transcribe import UpstreamRecognizer

        self._settings = settings
        self._engines: dict[str, Recognizer] = {}
        for name, model in settings.models.items():
            if model.source is None:
                if router is None:
                    raise ValueError(f"stt.models.{name} is served upstream, but no router was given")
                self._engines[name] = UpstreamRecognizer(name, router)
                continue
            self._engines[name] = WhisperEngine(
                name, model.source, models_dir=models_dir, max_queue=settings.max_queue,
                cpu_threads=settings.cpu_threads, beam_size=settings.beam_size, sha256=model.sha256,
            )  # fmt: skip
        if settings.default_model not in self._engines:
            raise ValueError(f"stt.default_model {settings.default_model!r} is not among stt.models")
        self._languages = _language_codes()

    @property
    def limits(self) -> STTSettings:
        return self._settings

    def aliases(self) -> dict[str, str]:
        return dict(self._settings.aliases)

    def model_names(self) -> list[str]:
        return sorted(self._engines)

    def engines(self) -> list[Recognizer]:
        return list(self._engines.values())

    async def start(self) -> None:
        if self._settings.preload:
            await self._engines[self._settings.default_model].start()

    async def close(self) -> None:
        await asyncio.gather(*(engine.close() for engine in self._engines.values()))

    def engine_for(self, model: str | None) -> Recognizer:
        name = self._settings.aliases.get(model, model) if model else self._settings.default_model
        engine = self._engines.get(name or "")
        if engine is None:
            known = ", ".join(self.model_names() + sorted(self._settings.aliases))
            raise ModelNotFound(f"model {model!r} does not exist; use one of {known}")
        return engine

    async def prepare(
        self, params: TranscriptionParams, meter: UsageRecorder | None = None
    ) -> TranscriptionPlan:
        """Validate and admit a request. Raises before any transcription work is queued."""
        if len(params.audio) > self._settings.max_upload_bytes:
            raise RequestTooLarge(len(params.audio), self._settings.max_upload_bytes)
        engine = self.engine_for(params.model)
        language = params.language.strip().lower() if params.language else None
        if language is not None and language not in self._languages:
            raise InvalidRequest(
                f"language {params.language!r} is not an ISO 639-1 code Whisper knows, e.g. 'en'"
            )
        info = await asyncio.to_thread(probe, params.audio, max_seconds=self._settings.max_audio_seconds)
        ticket = engine.admit()
        try:
            await engine.start()
        except BaseException:
            ticket.release()
            raise
        job = TranscriptionJob(
            audio=params.audio,
            language=language,
            task=params.task,
            prompt=params.prompt,
            temperature=params.temperature,
            word_timestamps=params.word_timestamps,
            window_seconds=self._settings.window_seconds,
            max_seconds=self._settings.max_audio_seconds,
        )
        # What a credit hold covers before decoding: the container's duration, or for a stream
        # that declares none, an upper bound from its size (16 kbit/s is a very low bitrate).
        expected = info.declared_seconds or len(params.audio) / _LOWEST_BYTES_PER_SECOND
        return TranscriptionPlan(engine, job, ticket, meter, min(expected, self._settings.max_audio_seconds))

    async def segments(self, plan: TranscriptionPlan) -> AsyncGenerator[Segment, None]:
        """Recognised segments in order; meters the decoded audio when done."""
        outcome: Outcome = "cancelled"
        try:
            try:
                async for segment in plan.engine.transcribe(plan.job):
                    yield segment
            except ShoalError:
                outcome = "failed"
                raise
            except Exception as error:  # CTranslate2 and PyAV raise anything; name it at the boundary
                outcome = "failed"
                raise EngineFailed(f"speech recognition failed: {error}") from error
            outcome = "completed"
        finally:
            plan.ticket.release()
            if plan.meter is not None:
                seconds = round(plan.job.duration, 3)
                plan.meter.record(UsageEvent("stt", plan.engine.name, seconds, "audio_seconds", outcome))

    async def run(self, plan: TranscriptionPlan) -> Transcript:
        segments = tuple([segment async for segment in self.segments(plan)])
        return Transcript(join_text(segments), plan.job.duration, plan.job.detected_language, segments)
