"""Audio value types shared by engines, DSP and encoders."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]
"""Mono signed 16-bit samples."""

AudioFormat = Literal["wav", "pcm", "mp3", "opus", "flac", "aac"]

CONTENT_TYPES: dict[str, str] = {
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "flac": "audio/flac",
    "aac": "audio/aac",
}

SAMPLE_RATES: dict[str, frozenset[int]] = {
    "wav": frozenset({8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000}),
    "pcm": frozenset({8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000}),
    "mp3": frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000}),
    "opus": frozenset({8000, 12000, 16000, 24000, 48000}),
    "flac": frozenset({8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000}),
    "aac": frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000}),
}
"""Output rates each format supports."""

DEFAULT_SAMPLE_RATE: dict[str, int] = {
    "wav": 44100, "pcm": 44100, "mp3": 44100, "opus": 48000, "flac": 44100, "aac": 44100,
}  # fmt: skip
