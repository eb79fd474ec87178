"""Shoal's built-in voices: presets over the packaged base voice, matched like any voice model.

Each is a ``VoiceProfile`` far enough from the others in pitch level, pitch range, vocal-tract
length (formant scale), brightness and tempo to be told apart: a young and an older woman, a
young and an older man. They are public voice models owned by "shoal", listed by ``GET /model``
and usable by id, so a dialogue works out of the box.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shoal.voices.profile import VoiceProfile

_NAMESPACE = uuid.UUID("6f1e0a52-5b7e-4d07-9a53-2c4bde0f7a11")


def builtin_id(name: str) -> str:
    """A stable 32-hex id, shaped like every Fish voice model id."""
    return uuid.uuid5(_NAMESPACE, name).hex


@dataclass(frozen=True, slots=True)
class BuiltinVoice:
    id: str
    title: str
    description: str
    tags: tuple[str, ...]
    languages: tuple[str, ...]
    profile: VoiceProfile


def _voice(
    name: str, title: str, description: str, tags: tuple[str, ...], *, f0_median_hz: float,
    f0_spread_semitones: float, formant_scale: float, tilt_db_per_octave: float, tempo: float,
) -> BuiltinVoice:  # fmt: skip
    profile = VoiceProfile("joe", f0_median_hz, f0_spread_semitones, formant_scale, tilt_db_per_octave, tempo)
    return BuiltinVoice(builtin_id(name), title, description, tags, ("en",), profile)


BUILTIN_VOICES: tuple[BuiltinVoice, ...] = (
    _voice(
        "ava", "Ava", "A young woman's voice: bright, lively and quick.", ("female", "young", "shoal"),
        f0_median_hz=215.0, f0_spread_semitones=3.2, formant_scale=1.18, tilt_db_per_octave=1.0, tempo=1.06,
    ),
    _voice(
        "ruth", "Ruth", "An older woman's voice: warm, lower and unhurried.", ("female", "older", "shoal"),
        f0_median_hz=172.0, f0_spread_semitones=2.2, formant_scale=1.11, tilt_db_per_octave=-0.8, tempo=0.92,
    ),
    _voice(
        "leo", "Leo", "A young man's voice: light and energetic.", ("male", "young", "shoal"),
        f0_median_hz=138.0, f0_spread_semitones=2.8, formant_scale=1.05, tilt_db_per_octave=0.6, tempo=1.05,
    ),
    _voice(
        "walter", "Walter", "An older man's voice: deep, dark and slow.", ("male", "older", "shoal"),
        f0_median_hz=88.0, f0_spread_semitones=1.7, formant_scale=0.92, tilt_db_per_octave=-1.2, tempo=0.9,
    ),
)  # fmt: skip
