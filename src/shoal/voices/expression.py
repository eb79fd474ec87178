"""Expression tags as prosody on the local engines.

Fish's S1 parenthesis tags ``(happy)`` and S2-Pro's free-form cues ``[sad, slowly]`` steer how
a line is said and are never spoken. Local voices cannot act, but they can change how fast,
how high, how loud and how breathy they speak; this table is that mapping, covering Fish's
emotion list. Several tags combine (rates multiply, pitch and energy add, breathiness takes the
strongest); unknown tags change nothing; upstream engines receive the tags verbatim instead.
Sounds a TTS voice cannot make (laughing, sighing, sobbing …) change nothing; ``break`` and
``long-break`` are pauses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Prosody:
    rate: float = 1.0
    """Tempo factor (multiplies the request's speed)."""
    pitch_semitones: float = 0.0
    energy_db: float = 0.0
    breathiness: float = 0.0
    """0 (voiced as usual) to 1 (a whisper: no voicing at all)."""
    pause_seconds: float = 0.0
    """Silence before the line."""

    @property
    def neutral(self) -> bool:
        return self == NEUTRAL

    def combine(self, other: Prosody) -> Prosody:
        return Prosody(
            self.rate * other.rate,
            self.pitch_semitones + other.pitch_semitones,
            self.energy_db + other.energy_db,
            max(self.breathiness, other.breathiness),
            self.pause_seconds + other.pause_seconds,
        )

    def clamped(self) -> Prosody:
        return Prosody(
            min(max(self.rate, 0.6), 1.6),
            min(max(self.pitch_semitones, -6.0), 7.0),
            min(max(self.energy_db, -14.0), 10.0),
            min(max(self.breathiness, 0.0), 1.0),
            min(max(self.pause_seconds, 0.0), 3.0),
        )


NEUTRAL = Prosody()


def _p(rate: float, pitch: float, energy: float, breath: float = 0.0) -> Prosody:
    return Prosody(rate, pitch, energy, breath)


TAGS: dict[str, Prosody] = {
    # Fish's emotion list (S1 tags; S2-Pro understands the same words inside [...]).
    "happy": _p(1.08, 2, 2), "sad": _p(0.88, -2, -3), "angry": _p(1.08, 1, 4), "excited": _p(1.15, 3, 3),
    "calm": _p(0.92, -1, -2), "nervous": _p(1.12, 1.5, -1), "confident": _p(1.0, -0.5, 2),
    "surprised": _p(1.05, 3.5, 2), "satisfied": _p(0.97, 0.5, 0), "delighted": _p(1.08, 2.5, 2),
    "scared": _p(1.12, 2.5, -2), "worried": _p(0.97, 1, -2), "upset": _p(1.02, 1, 1),
    "frustrated": _p(1.03, 0, 2), "depressed": _p(0.82, -3, -5), "empathetic": _p(0.93, -0.5, -2),
    "embarrassed": _p(0.95, 1, -3), "disgusted": _p(0.92, -1.5, 1), "moved": _p(0.9, 1, -2),
    "proud": _p(0.98, 0.5, 2), "relaxed": _p(0.9, -1, -3), "grateful": _p(0.95, 1, 0),
    "curious": _p(1.02, 2, 0), "sarcastic": _p(0.93, 0.5, 1), "disdainful": _p(0.92, -1.5, 0),
    "unhappy": _p(0.9, -1.5, -2), "anxious": _p(1.1, 1.5, -1), "hysterical": _p(1.25, 5, 5),
    "indifferent": _p(0.95, -1, -2), "uncertain": _p(0.92, 0.5, -2), "doubtful": _p(0.93, 0, -1),
    "confused": _p(0.93, 1, -1), "disappointed": _p(0.9, -2, -2), "regretful": _p(0.88, -2, -3),
    "guilty": _p(0.9, -1.5, -3), "ashamed": _p(0.88, -2, -4), "jealous": _p(1.0, 0, 1),
    "envious": _p(1.0, 0, 0), "hopeful": _p(1.0, 1.5, 0), "optimistic": _p(1.05, 1.5, 1),
    "pessimistic": _p(0.9, -1.5, -2), "nostalgic": _p(0.88, -0.5, -2), "lonely": _p(0.87, -2, -3),
    "bored": _p(0.85, -2, -3), "contemptuous": _p(0.92, -1.5, 1), "sympathetic": _p(0.93, 0, -2),
    "compassionate": _p(0.92, 0, -2), "determined": _p(1.02, 0, 3), "resigned": _p(0.88, -2, -3),
    "impatient": _p(1.15, 1, 2), "scornful": _p(0.93, -1, 1), "panicked": _p(1.25, 4, 3),
    "furious": _p(1.1, 2, 6), "reluctant": _p(0.88, -1, -2), "keen": _p(1.08, 1.5, 1),
    "disapproving": _p(0.95, -1, 1), "negative": _p(0.95, -1, 0), "denying": _p(1.0, 0, 1),
    "astonished": _p(1.05, 4, 2), "serious": _p(0.95, -1, 1), "conciliative": _p(0.93, 0, -2),
    "comforting": _p(0.9, -0.5, -3), "sincere": _p(0.95, 0, 0), "sneering": _p(0.95, -1, 1),
    "hesitating": _p(0.82, 0, -2), "yielding": _p(0.92, -1, -2), "painful": _p(0.85, -1, -1),
    "awkward": _p(0.93, 0.5, -2), "amused": _p(1.05, 2, 1),
    # Tones and volume.
    "shouting": _p(1.05, 3, 8), "screaming": _p(1.1, 5, 10), "whispering": _p(0.95, 0, -10, 1.0),
    "soft tone": _p(0.95, 0, -5, 0.3), "in a hurry tone": _p(1.3, 1, 1), "crying loudly": _p(0.9, 2, 4),
    # Pauses.
    "break": Prosody(pause_seconds=0.35), "long-break": Prosody(pause_seconds=0.9),
}  # fmt: skip

# Words S2-Pro's free-form cues use for delivery, matched inside a cue such as [sad, speaking slowly].
MODIFIERS: tuple[tuple[re.Pattern[str], Prosody], ...] = tuple(
    (re.compile(rf"\b(?:{words})\b"), prosody)
    for words, prosody in (
        ("slowly|slow|slower", _p(0.8, 0, 0)),
        ("quickly|fast|faster|rapidly|hurried", _p(1.25, 0, 0)),
        ("loudly|loud|louder", _p(1.0, 1, 6)),
        ("softly|quietly|quiet|gently", _p(1.0, 0, -5)),
        ("whisper|whispers|whispered|whispering", _p(0.95, 0, -10, 1.0)),
        ("breathy|breathless", _p(1.0, 0, -2, 0.5)),
        ("high|higher|high-pitched", _p(1.0, 3, 0)),
        ("low(?! volume| voice)|lower|deep|deeper", _p(1.0, -3, 0)),
        ("volume up|emphasis|emphasized", _p(1.0, 0.5, 5)),
        ("volume down|low volume|low voice", _p(1.0, 0, -6)),
        ("pause|short pause", Prosody(pause_seconds=0.35)),
    )
)


def prosody_of(expressions: tuple[str, ...]) -> Prosody:
    """The prosody a line's tags ask for (NEUTRAL for none or unknown ones)."""
    result = NEUTRAL
    for tag in expressions:
        known = TAGS.get(tag)
        if known is not None:
            result = result.combine(known)
            continue
        words = re.findall(r"[a-z-]+", tag)
        for word in words:  # a cue made of emotion words: "[very happy]"
            if word in TAGS:
                result = result.combine(TAGS[word])
        for pattern, prosody in MODIFIERS:
            if pattern.search(tag):
                result = result.combine(prosody)
    return result.clamped()
