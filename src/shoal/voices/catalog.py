"""Where a voice id leads, and the adapter that makes the local engine sound like it.

A voice id in a TTS request is an engine voice (``joe``) or a voice model the caller may use
(the built-in voices are public voice models); inline ``references`` are analysed on the fly
(cached by content hash). Anything else is ``VoiceNotFound`` — never a silent fallback to the default voice.

Voice matching needs each base voice's own measurements; they are taken once, on first use,
from a calibration sentence the engine speaks.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from shoal.audio import dsp
from shoal.audio.decode import windows
from shoal.engines.base import SynthesisRequest, TTSEngine
from shoal.engines.registry import EngineRegistry
from shoal.errors import InvalidRequest, Unavailable, VoiceNotFound
from shoal.storage.db.database import Database
from shoal.voices import analysis
from shoal.voices.adapt import VoiceAdapter
from shoal.voices.models import count_use, find_voice
from shoal.voices.profile import VoiceProfile

_CACHE_SIZE = 128
LOUDNESS_OFFSET_DB = (-30.0, 12.0)
"""Bounds of the level a voice keeps from its recording; louder than +12 dB would clip."""


@dataclass(frozen=True, slots=True)
class Speaker:
    """One speaker of a request: the engine and its voice, and how to adapt its output."""

    engine: TTSEngine
    voice: str | None
    profile: VoiceProfile | None = None
    model_id: str | None = None
    """The voice model spoken with (its uses are counted)."""


def clip_samples(data: bytes) -> dsp.Float:
    """A reference clip as float32 mono at the analysis rate (blocking)."""
    parts = [w.samples for w in windows(data, rate=analysis.RATE, window_seconds=60.0, max_seconds=math.inf)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


class VoiceCatalog:
    def __init__(self, db: Database, engines: EngineRegistry) -> None:
        self._db = db
        self._engines = engines
        self._bases: dict[str, analysis.BaseVoiceStats] = {}
        self._calibrating = asyncio.Lock()
        self._references: OrderedDict[str, VoiceProfile] = OrderedDict()
        self._adapters: OrderedDict[tuple[VoiceProfile, int], VoiceAdapter] = OrderedDict()

    def _base_engine(self, voice: str) -> TTSEngine:
        found = self._engines.find_voice(voice)
        if found is None:
            raise VoiceNotFound(voice)
        return found[0]

    async def base_stats(self, voice: str) -> analysis.BaseVoiceStats:
        """The base voice's own measurements (taken once, from a calibration sentence)."""
        if voice in self._bases:
            return self._bases[voice]
        async with self._calibrating:
            if voice not in self._bases:
                engine = self._base_engine(voice)
                request = SynthesisRequest(analysis.CALIBRATION_TEXT, "en", voice)
                with engine.admit():
                    pieces = [pcm async for pcm in engine.synthesize(request)]
                pcm = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
                self._bases[voice] = await asyncio.to_thread(
                    analysis.measure_base, voice, pcm, engine.sample_rate
                )
        return self._bases[voice]

    async def _bases_for_matching(self) -> list[analysis.BaseVoiceStats]:
        voices = [
            voice.id
            for engine in self._engines
            for voice in engine.voices()
            if voice.matchable and "en" in voice.languages
        ]
        if not voices:
            raise Unavailable("voice matching needs a neural local voice (Piper); this server loads none")
        return [await self.base_stats(voice) for voice in voices[:4]]

    async def analyse_clips(self, clips: Sequence[bytes], texts: Sequence[str]) -> VoiceProfile:
        """A profile from reference clips (their audio joined), over the closest base voice.
        Raises InvalidAudio for clips that hold no usable speech."""
        bases = await self._bases_for_matching()

        def work() -> VoiceProfile:
            samples = np.concatenate([clip_samples(clip) for clip in clips])
            transcript = " ".join(text for text in texts if text) or None
            return analysis.analyse(samples, analysis.RATE, bases, transcript=transcript)

        return await asyncio.to_thread(work)

    async def from_references(self, references: Sequence[tuple[bytes, str]]) -> VoiceProfile:
        """A zero-shot reference's profile, analysed once per distinct content."""
        digest = hashlib.sha256()
        for audio, text in references:
            digest.update(hashlib.sha256(audio).digest() + hashlib.sha256(text.encode()).digest())
        key = digest.hexdigest()
        if key in self._references:
            self._references.move_to_end(key)
            return self._references[key]
        profile = await self.analyse_clips(
            [audio for audio, _ in references], [text for _, text in references]
        )
        self._references[key] = profile
        if len(self._references) > _CACHE_SIZE:
            self._references.popitem(last=False)
        return profile

    async def speaker(self, voice_id: str, account_id: str) -> Speaker:
        found = self._engines.find_voice(voice_id)
        if found is not None:
            return Speaker(found[0], found[1].id)
        model = await find_voice(self._db, account_id, voice_id)
        if model is None:
            raise VoiceNotFound(voice_id)
        if model.profile is None:
            reason = f": {model.state_reason}" if model.state_reason else ""
            raise InvalidRequest(f"voice model {voice_id!r} is {model.state}, not trained{reason}")
        base = model.profile.base_voice
        return Speaker(self._base_engine(base), base, model.profile, model.id)

    async def speakers(
        self, voice_ids: Sequence[str], account_id: str,
        references: Sequence[Sequence[tuple[bytes, str]]] = (),
    ) -> list[Speaker]:  # fmt: skip
        """Speakers by index: ``voice_ids[N]`` (or, where given, ``references[N]``) speaks
        ``<|speaker:N|>``. Raises VoiceNotFound for an id that leads nowhere."""
        speakers: list[Speaker] = []
        for index in range(max(len(voice_ids), len(references))):
            if index < len(references) and references[index]:
                profile = await self.from_references(references[index])
                base = profile.base_voice
                speakers.append(Speaker(self._base_engine(base), base, profile))
            else:
                speakers.append(await self.speaker(voice_ids[index], account_id))
        return speakers

    async def count_uses(self, speakers: Sequence[Speaker]) -> None:
        for model_id in {speaker.model_id for speaker in speakers if speaker.model_id}:
            await count_use(self._db, model_id)

    async def loudness_offset_db(self, profile: VoiceProfile | None, voice: str) -> float:
        """How much louder (dB) the reference was recorded than the base voice speaks: applied
        when a request turns loudness normalisation off, so the voice keeps its recording's level."""
        if profile is None or profile.loudness_lufs is None:
            return 0.0
        base = await self.base_stats(voice)
        if base.loudness_lufs is None:
            return 0.0
        low, high = LOUDNESS_OFFSET_DB
        return max(low, min(high, profile.loudness_lufs - base.loudness_lufs))

    async def adapter(
        self, profile: VoiceProfile | None, voice: str, sample_rate: int, pitch_semitones: float = 0.0
    ) -> VoiceAdapter | None:
        """The adapter for a speaker's chunk (an expression's pitch on top of its profile); None
        when nothing needs changing."""
        if profile is None and not pitch_semitones:
            return None
        base = await self.base_stats(voice)
        if profile is None:
            profile = VoiceProfile(voice, base.f0_median_hz, base.f0_spread_semitones)
        if pitch_semitones:
            profile = replace(profile, f0_median_hz=profile.f0_median_hz * 2 ** (pitch_semitones / 12))
        key = (profile, sample_rate)
        adapter = self._adapters.get(key)
        if adapter is None:
            adapter = self._adapters[key] = VoiceAdapter(profile, base, sample_rate)
            if len(self._adapters) > _CACHE_SIZE:
                self._adapters.popitem(last=False)
        return None if adapter.identity else adapter
