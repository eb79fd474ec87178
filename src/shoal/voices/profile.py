"""A voice profile: what the local engine's output is adapted toward to sound like a reference.

Computed once from a voice model's clips (or an inline reference, cached by content hash) and
stored as JSON, so a TTS request with ``reference_id`` costs no analysis.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class VoiceProfile:
    base_voice: str
    """The engine voice the adaptation starts from (the closest one when several exist)."""
    f0_median_hz: float
    """Pitch level of the reference (median F0 of voiced frames)."""
    f0_spread_semitones: float
    """Pitch range: standard deviation of log-F0, in semitones."""
    formant_scale: float = 1.0
    """Vocal-tract length as a warp factor of the spectral envelope (> 1: shorter tract, brighter)."""
    tilt_db_per_octave: float = 0.0
    """Spectral tilt correction applied to the base voice (positive: brighter)."""
    tempo: float = 1.0
    """Speaking-rate factor relative to the base voice (multiplies the request's speed)."""
    loudness_lufs: float | None = None
    embedding: tuple[float, ...] = field(default=())
    """Speaker embedding of the reference (for choosing a base voice and reporting similarity)."""
    eq_db: tuple[float, ...] = field(default=())
    """Colour correction on top of the tilt: dB at the third-octave centres ``adapt.EQ_BANDS_HZ``."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> VoiceProfile:
        data: dict[str, Any] = json.loads(text)
        data["embedding"] = tuple(data.get("embedding") or ())
        data["eq_db"] = tuple(data.get("eq_db") or ())
        return cls(**data)
