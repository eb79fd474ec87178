"""Decoding what Shoal returned, to check it is real, non-silent speech of a plausible length."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np


@dataclass
class Decoded:
    samples: np.ndarray  # float32 mono
    sample_rate: int
    codec: str

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def rms_dbfs(self) -> float:
        rms = float(np.sqrt(np.mean(np.square(self.samples)))) if len(self.samples) else 0.0
        return 20 * np.log10(max(rms, 1e-9))


def decode(data: bytes, *, pcm_rate: int | None = None) -> Decoded:
    """Decode any container PyAV knows; headerless PCM needs ``pcm_rate``."""
    if pcm_rate is not None:
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        return Decoded(samples, pcm_rate, "pcm_s16le")
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        codec = stream.codec_context.name
        frames = [frame.to_ndarray() for frame in container.decode(stream)]
        rate = stream.codec_context.sample_rate
    mono = np.concatenate(
        [
            frame.mean(axis=0) if frame.ndim == 2 and frame.shape[0] < 8 else frame.reshape(-1)
            for frame in frames
        ]
    ).astype(np.float32)
    if np.abs(mono).max(initial=0) > 2.0:  # integer sample formats
        mono = mono / 32768.0
    return Decoded(mono, rate, codec)


def assert_speech(decoded: Decoded, *, min_seconds: float, max_seconds: float) -> None:
    assert min_seconds <= decoded.duration <= max_seconds, f"duration {decoded.duration:.2f}s"
    assert decoded.rms_dbfs > -40, f"too quiet: {decoded.rms_dbfs:.1f} dBFS"
    # Speech has pauses and syllables: its short-term energy varies a lot; a tone or noise would not.
    frame = decoded.sample_rate // 50
    energies = [
        float(np.sqrt(np.mean(np.square(decoded.samples[i : i + frame]))) + 1e-9)
        for i in range(0, len(decoded.samples) - frame, frame)
    ]
    assert np.percentile(energies, 90) / np.percentile(energies, 10) > 4, "audio lacks speech-like dynamics"


def median_pitch(decoded: Decoded) -> float:
    """Median F0 (Hz) of the voiced frames, by WORLD's Harvest with a 50 Hz floor: DIO at its
    default floor (71 Hz) now and then follows a low man's voice an octave up."""
    import pyworld

    audio = decoded.samples.astype(np.float64)
    contour, _ = pyworld.harvest(audio, decoded.sample_rate, f0_floor=50.0, f0_ceil=500.0)
    voiced = contour[contour > 0]
    assert len(voiced) > 20, "no voiced speech"
    return float(np.median(voiced))
