"""Shoal's built-in public voices: profiles over the Piper ``joe`` base voice.

They are not recordings of anyone: each is a set of voice-matching parameters (pitch level and
range, vocal-tract length, colour, tempo) chosen to sound like a different kind of speaker —
a younger and an older woman, a younger and an older man — so a dialogue works out of the box.
Pitch levels sit at least four semitones apart and formant scales at least 0.08 apart, so
that each pair stays distinct: the d-vector puts every pair at 0.8 or less (one voice against
itself scores 0.94–0.98; ``tests/unit/test_voice_adapt.py`` checks it).

Ids are 32 lowercase hex characters, like Fish Audio model ids (so clients that store or
validate Fish ids take them), fixed here forever; ``slug`` is a readable name for each.
"""

from __future__ import annotations

from dataclasses import dataclass

from shoal.voices.profile import VoiceProfile

BASE_VOICE = "joe"


@dataclass(frozen=True, slots=True)
class BuiltinVoice:
    id: str
    slug: str
    title: str
    description: str
    profile: VoiceProfile
    languages: tuple[str, ...] = ("en",)
    tags: tuple[str, ...] = ()


def _voice(
    id: str, slug: str, title: str, description: str, tags: tuple[str, ...], **profile: float
) -> BuiltinVoice:
    return BuiltinVoice(
        id=id,
        slug=slug,
        title=title,
        description=description + " A Shoal voice: Piper's joe, voice-matched on the CPU (not a clone).",
        profile=VoiceProfile(base_voice=BASE_VOICE, **profile),  # type: ignore[arg-type]
        tags=("shoal", "built-in", *tags),
    )


BUILTIN_VOICES: tuple[BuiltinVoice, ...] = (
    _voice(
        "5f0c3b8e2a7d4c61b9e4a1d7c3f28e01", "ava", "Ava",
        "A young woman: bright, lively, a little quick.",
        ("female", "young", "bright"),
        f0_median_hz=225.0, f0_spread_semitones=3.6, formant_scale=1.22, tilt_db_per_octave=1.0, tempo=1.06,
    ),
    _voice(
        "a3e91d4b7c2f48e0b61d5a9c8e7f3b02", "ruth", "Ruth",
        "An older woman: lower, warm and unhurried.",
        ("female", "older", "warm", "calm"),
        f0_median_hz=172.0, f0_spread_semitones=2.4, formant_scale=1.12, tilt_db_per_octave=-2.5, tempo=0.9,
    ),
    _voice(
        "c7b24e9f1a5d43c8a0e6f2b9d4c81a03", "leo", "Leo",
        "A young man: clear, light and energetic.",
        ("male", "young", "clear"),
        f0_median_hz=125.0, f0_spread_semitones=3.2, formant_scale=1.04, tilt_db_per_octave=1.0, tempo=1.05,
    ),
    _voice(
        "e2d85a1c9b4f47e3a8c0d6b2f5e91c04", "walter", "Walter",
        "An older man: deep, dark and measured.",
        ("male", "older", "deep", "calm"),
        f0_median_hz=90.0, f0_spread_semitones=2.2, formant_scale=0.92, tilt_db_per_octave=-2.5, tempo=0.9,
    ),
)  # fmt: skip


def builtin_voices() -> list[BuiltinVoice]:
    """Every built-in voice, in a stable order."""
    return list(BUILTIN_VOICES)


def find_builtin(id_or_slug: str) -> BuiltinVoice | None:
    """The built-in voice with this id (or readable slug), if any."""
    for voice in BUILTIN_VOICES:
        if id_or_slug in (voice.id, voice.slug):
            return voice
    return None
