"""Streaming signal processing: resampling, gain, loudness. Pure functions and small stateful helpers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyloudnorm
import soxr

from shoal.audio.types import Pcm

Float = npt.NDArray[np.float32]

_MIN_LOUDNESS_SECONDS = 0.4  # BS.1770 gating blocks are 400 ms long


def to_float(pcm: Pcm) -> Float:
    return pcm.astype(np.float32) / 32768.0


def to_pcm(samples: Float) -> Pcm:
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)


def apply_gain_db(pcm: Pcm, db: float) -> Pcm:
    """``pcm`` louder or softer by ``db`` decibels, clipped to 16 bits (unchanged at 0 dB)."""
    if not db:
        return pcm
    scaled = pcm.astype(np.float32) * np.float32(db_to_gain(db))
    clipped: Pcm = np.clip(scaled, -32768, 32767).astype(np.int16)
    return clipped


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


class Resampler:
    """One continuous resampler per output stream, so chunk joins stay seamless."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="HQ")

    def process(self, samples: Float, *, last: bool = False) -> Float:
        if self.in_rate == self.out_rate:
            return samples
        out: Float = self._stream.resample_chunk(samples, last=last)
        return out


class LoudnessLeveler:
    """Fixed gain towards a loudness target, measured on the first ≥ 0.4 s of speech.

    A streamed response cannot be measured as a whole before it is sent, so the gain
    is decided once, early, and then held: the level never pumps between chunks.
    Audio is buffered only until enough has arrived to measure (usually the first
    engine chunk already is). Peaks are limited to -1 dBFS.
    """

    def __init__(self, sample_rate: int, target_lufs: float) -> None:
        self._meter = pyloudnorm.Meter(sample_rate)
        self._rate = sample_rate
        self._target = target_lufs
        self._gain: float | None = None
        self._pending: list[Float] = []

    def process(self, samples: Float, *, last: bool = False) -> Float:
        """Levelled samples; ``last`` releases what is held even if it is too short to measure."""
        if self._gain is None:
            self._pending.append(samples)
            pending = np.concatenate(self._pending)
            if len(pending) < _MIN_LOUDNESS_SECONDS * self._rate:
                if not last:
                    return np.empty(0, dtype=np.float32)
                # Too short to measure: send it as it is, and keep measuring what follows.
                self._pending.clear()
                return _limit(pending)
            self._pending.clear()
            self._gain = self._measure(pending)
            samples = pending
        return _limit(samples * self._gain)

    def _measure(self, samples: Float) -> float:
        loudness = float(self._meter.integrated_loudness(samples.astype(np.float64)))
        if not np.isfinite(loudness):
            return 1.0  # silence: nothing to level
        return db_to_gain(self._target - loudness)


_PEAK = db_to_gain(-1.0)


def _limit(samples: Float) -> Float:
    """Soft-clip above -1 dBFS so a large gain never wraps or hard-clips."""
    over = np.abs(samples) > _PEAK
    if not over.any():
        return samples.astype(np.float32, copy=False)
    out = samples.copy()
    headroom = 1.0 - _PEAK
    excess = (np.abs(out[over]) - _PEAK) / headroom
    out[over] = np.sign(out[over]) * (_PEAK + headroom * np.tanh(excess))
    return out.astype(np.float32, copy=False)
