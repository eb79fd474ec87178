"""Text to speech, top to bottom.

``Synthesizer.plan`` does everything that can fail before a response starts — voice
lookup, text front end, engine admission — so those failures get a proper status.
``stream`` then runs the engines one chunk ahead of the encoder and yields encoded
bytes as soon as each piece is ready, through one continuous encoder.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from shoal.audio import dsp
from shoal.audio.output import AudioOutput
from shoal.audio.types import DEFAULT_SAMPLE_RATE, AudioFormat, Pcm
from shoal.billing.usage import Outcome, UsageEvent, UsageRecorder
from shoal.engines.base import AdmissionTicket, SynthesisRequest, TTSEngine
from shoal.engines.registry import EngineRegistry
from shoal.errors import EngineFailed, NothingToSpeak, ShoalError, TextTooLong, VoiceNotFound
from shoal.settings import TTSSettings
from shoal.text.frontend import ChunkingOptions, TextChunk, prepare
from shoal.voices.expression import prosody_of
from shoal.voices.profile import VoiceProfile

if TYPE_CHECKING:
    from shoal.voices.catalog import Speaker, VoiceCatalog

Latency = Literal["normal", "balanced", "low"]

FIRST_CHUNK_CHARS: dict[str, int | None] = {"normal": None, "balanced": 24, "low": 16}
"""Longest first chunk per latency mode. Piper needs ~3 ms per character of text, so
24 characters put first audio near 70 ms; "normal" keeps whole sentences."""


@dataclass(frozen=True, slots=True)
class SpeechParams:
    """A synthesis request in Shoal's terms, whatever API surface it came from."""

    text: str
    model: str | None = None
    voices: tuple[str, ...] = ()
    """Voice ids by speaker: ``<|speaker:N|>`` text uses ``voices[N]``; untagged text uses the first."""
    format: AudioFormat = "mp3"
    sample_rate: int | None = None
    mp3_bitrate_kbps: int = 128
    opus_bitrate_bps: int | None = None
    speed: float = 1.0
    volume_db: float = 0.0
    normalize_loudness: bool = True
    normalize: bool = True
    chunk_length: int = 200
    min_chunk_length: int = 50
    latency: Latency = "balanced"
    fish_body: Mapping[str, Any] | None = None
    """The Fish request as received, forwarded verbatim when the model is served by a Fish upstream."""
    references: tuple[tuple[tuple[bytes, str], ...], ...] = ()
    """Zero-shot references per speaker: ``references[N]`` is ``(audio, transcript)`` clips of speaker N."""

    @property
    def output_rate(self) -> int:
        return self.sample_rate or DEFAULT_SAMPLE_RATE[self.format]


@dataclass(slots=True)
class _Job:
    chunk: TextChunk
    engine: TTSEngine
    voice: str | None
    profile: VoiceProfile | None = None
    """The voice the engine's output is adapted toward (voice matching), if any."""


@dataclass(slots=True)
class SynthesisPlan:
    params: SpeechParams
    model: str
    """The configured model serving the request (unknown names fall back to the default)."""
    jobs: list[_Job]
    tickets: list[AdmissionTicket] = field(default_factory=list)
    jobs_done: int = 0
    meter: UsageRecorder | None = None
    """Where the usage goes (the request's charge), once billing has opened one."""

    def release(self) -> None:
        for ticket in self.tickets:
            ticket.release()
        self.tickets.clear()


class PlaybackClock:
    """When a listener runs out of audio: the first delivery's time plus the seconds delivered.

    Its ``deadline`` orders engine work across requests (earliest first), so a stream
    that is about to run dry goes ahead of one with seconds of audio in hand.
    """

    def __init__(self) -> None:
        self._created = time.monotonic()
        self._first: float | None = None
        self._seconds = 0.0

    def delivered(self, seconds: float) -> None:
        if self._first is None:
            self._first = time.monotonic()
        self._seconds += seconds

    def deadline(self) -> float:
        return (self._created if self._first is None else self._first) + self._seconds


Progress = Callable[[int, int], None]
"""Called with (chunks done, chunks in total)."""


class Synthesizer:
    def __init__(self, engines: EngineRegistry, settings: TTSSettings) -> None:
        self._engines = engines
        self._settings = settings
        self.voices: VoiceCatalog | None = None
        """Adapts engine output toward voice profiles and expression pitch (set by Services)."""

    def model_names(self) -> list[str]:
        return sorted(self._settings.models)

    def resolve_model(self, name: str | None) -> str | None:
        """The configured model a name or alias stands for; None when it names none."""
        name = self._settings.aliases.get(name, name) if name else None
        return name if name in self._settings.models else None

    def aliases(self) -> dict[str, str]:
        return dict(self._settings.aliases)

    def model_for(self, params: SpeechParams) -> str:
        """The configured model serving ``params`` (unknown names fall back to the default, as Fish does)."""
        return self.resolve_model(params.model) or self._settings.default_model

    def refuses_dialogue(self, params: SpeechParams) -> bool:
        """Several speakers (a ``reference_id`` list, or references per speaker) on ``s1``, which
        speaks with one voice: Fish refuses it, and so does every Shoal surface."""
        return max(len(params.voices), len(params.references)) > 1 and self.model_for(params) == "s1"

    def check_length(self, params: SpeechParams) -> None:
        if len(params.text) > self._settings.max_text_chars:
            raise TextTooLong(len(params.text), self._settings.max_text_chars)

    def plan(self, params: SpeechParams, speakers: Sequence[Speaker] | None = None) -> SynthesisPlan:
        """Validate, chunk and admit a request. Raises before any audio is produced.

        ``speakers`` are the request's voices resolved by the voice catalog (built-in voices,
        voice models, references); without them, ``params.voices`` must name engine voices."""
        self.check_length(params)
        model = self.model_for(params)
        route = self._settings.models[model]
        primary = self._engines.get(route.engine)
        if primary is None:
            raise EngineFailed(f"engine {route.engine!r} is not running")
        resolved = (
            [(s.engine, s.voice, s.profile) for s in speakers] if speakers
            else [(engine, voice, None) for engine, voice in self.speakers(params)]
        )  # fmt: skip
        chosen = resolved or [(primary, route.voice, None)]

        chunks = prepare(
            params.text,
            ChunkingOptions(
                chunk_length=params.chunk_length,
                min_chunk_length=params.min_chunk_length,
                first_chunk_chars=FIRST_CHUNK_CHARS[params.latency],
                normalize=params.normalize,
                default_language=next(iter(sorted(chosen[0][0].languages())), "en"),
            ),
        )
        if not chunks:
            raise NothingToSpeak()

        def speaker(chunk: TextChunk) -> tuple[TTSEngine, str | None, VoiceProfile | None]:
            known = chunk.speaker is not None and chunk.speaker < len(chosen)
            return chosen[chunk.speaker if known and chunk.speaker is not None else 0]

        jobs = [self._route(chunk, *speaker(chunk)) for chunk in chunks]

        plan = SynthesisPlan(params, model, jobs)
        try:
            for engine in {id(job.engine): job.engine for job in jobs}.values():
                plan.tickets.append(engine.admit())
        except ShoalError:
            plan.release()
            raise
        return plan

    def speakers(self, params: SpeechParams) -> list[tuple[TTSEngine, str | None]]:
        """The engine and voice of each speaker ``params.voices`` names; raises VoiceNotFound."""
        speakers: list[tuple[TTSEngine, str | None]] = []
        for voice_id in params.voices:
            found = self._engines.find_voice(voice_id)
            if found is None:
                raise VoiceNotFound(voice_id)
            speakers.append((found[0], found[1].id))
        return speakers

    def _route(
        self, chunk: TextChunk, primary: TTSEngine, voice: str | None, profile: VoiceProfile | None
    ) -> _Job:
        speaks = primary.languages()
        if "*" in speaks or chunk.language in speaks or not self._settings.fallback_engine:
            return _Job(chunk, primary, voice, profile)
        fallback = self._engines.get(self._settings.fallback_engine)
        if fallback is None:
            return _Job(chunk, primary, voice, profile)
        return _Job(chunk, fallback, None)

    def output_for(self, params: SpeechParams) -> AudioOutput:
        """The mastering and encoding chain a request's audio goes through."""
        return AudioOutput(
            params.format,
            sample_rate=params.output_rate,
            mp3_bitrate_kbps=params.mp3_bitrate_kbps,
            opus_bitrate_bps=params.opus_bitrate_bps,
            loudness_target_lufs=self._settings.loudness_target_lufs if params.normalize_loudness else None,
            volume_db=params.volume_db,
        )

    async def stream(
        self, plan: SynthesisPlan, progress: Progress | None = None, meter: UsageRecorder | None = None
    ) -> AsyncGenerator[bytes, None]:
        """Encoded audio for ``plan``, piece by piece, through one continuous encoder."""
        output = self.output_for(plan.params)
        async with contextlib.aclosing(self.samples(plan, progress, meter)) as pieces:
            async for samples in pieces:
                data = output.write(samples)
                if data:
                    yield data
        yield output.finish()

    async def samples(
        self,
        plan: SynthesisPlan,
        progress: Progress | None = None,
        meter: UsageRecorder | None = None,
        clock: PlaybackClock | None = None,
    ) -> AsyncGenerator[dsp.Float, None]:
        """Float samples at the plan's output rate, the engines running a chunk ahead.

        ``clock`` may be shared by several plans that play back to back (a live turn).
        Releases the plan's engine tickets and reports the text spoken to ``meter`` when
        done: all of it, or, if the client went away, the share of chunks synthesized.
        """
        params = plan.params
        clock = clock or PlaybackClock()
        pieces: asyncio.Queue[tuple[int, Pcm] | None] = asyncio.Queue(maxsize=8)
        producer = asyncio.create_task(self._produce(plan, pieces, progress, clock))
        resampler: dsp.Resampler | None = None
        outcome: Outcome = "cancelled"
        try:
            while (item := await pieces.get()) is not None:
                rate, pcm = item
                if resampler is None or resampler.in_rate != rate:
                    if resampler is not None:  # engine changed: drain the old rate's filter
                        yield resampler.process(np.empty(0, np.float32), last=True)
                    resampler = dsp.Resampler(rate, params.output_rate)
                clock.delivered(len(pcm) / rate)
                yield resampler.process(dsp.to_float(pcm))
            await producer  # re-raises an engine failure
            if resampler is not None:
                yield resampler.process(np.empty(0, np.float32), last=True)
            outcome = "completed"
        except ShoalError:
            outcome = "failed"
            raise
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await producer
            plan.release()
            if meter is not None:
                meter.record(
                    UsageEvent("tts", plan.model, _spoken_bytes(plan, outcome), "utf8_bytes", outcome)
                )

    async def _produce(
        self,
        plan: SynthesisPlan,
        pieces: asyncio.Queue[tuple[int, Pcm] | None],
        progress: Progress | None,
        clock: PlaybackClock,
    ) -> None:
        try:
            for done, job in enumerate(plan.jobs):
                prosody = prosody_of(job.chunk.expressions)
                tempo = job.profile.tempo if job.profile is not None else 1.0
                request = SynthesisRequest(
                    job.chunk.text, job.chunk.language, job.voice, plan.params.speed * prosody.rate * tempo,
                    deadline=clock.deadline,
                )  # fmt: skip
                rate = job.engine.sample_rate
                if prosody.pause_seconds:
                    await pieces.put((rate, np.zeros(round(prosody.pause_seconds * rate), dtype=np.int16)))
                adapter = None
                level_db = prosody.energy_db
                voice = job.voice or next((v.id for v in job.engine.voices()), None)
                if self.voices is not None and voice is not None:
                    adapter = await self.voices.adapter(job.profile, voice, rate, prosody.pitch_semitones)
                    if not plan.params.normalize_loudness:
                        level_db += await self.voices.loudness_offset_db(job.profile, voice)
                try:
                    async for pcm in job.engine.synthesize(request):
                        if adapter is not None:  # WORLD resynthesis: CPU work, off the event loop
                            adapted = await asyncio.to_thread(adapter.process, dsp.to_float(pcm))
                            pcm = dsp.to_pcm(adapted)
                        await pieces.put((rate, dsp.apply_gain_db(pcm, level_db)))
                except ShoalError:
                    raise
                except Exception as error:  # engine libraries raise anything; name it at the boundary
                    raise EngineFailed(f"engine {job.engine.name!r} failed: {error}") from error
                plan.jobs_done = done + 1
                if progress is not None:
                    progress(done + 1, len(plan.jobs))
        except BaseException:
            # Failed or cancelled: the stream is over, so queued audio may go. Never block here —
            # a consumer that is gone would never make room, and the task would hang.
            while not pieces.empty():
                pieces.get_nowait()
            pieces.put_nowait(None)
            raise
        await pieces.put(None)


def _spoken_bytes(plan: SynthesisPlan, outcome: Outcome) -> int:
    """UTF-8 bytes of the request text that were spoken (pro rata by chunk when cut short)."""
    total = len(plan.params.text.encode())
    if outcome == "completed":
        return total
    if outcome == "failed" or not plan.jobs:
        return 0
    chars = [len(job.chunk.text) for job in plan.jobs]
    return total * sum(chars[: plan.jobs_done]) // max(1, sum(chars))
