"""Voice matching: the base voice's output re-voiced toward a ``VoiceProfile`` with the WORLD vocoder.

Each chunk the engine speaks (a sentence or clause) is analysed with pyworld (DIO + StoneMask
for F0, CheapTrick for the spectral envelope, D4C for aperiodicity, 5 ms frames), changed, and
resynthesised:

* F0 is mapped log-linearly from the base voice's level and range to the profile's, so the
  melody keeps its shape;
* the spectral envelope (and the aperiodicity with it) is warped in frequency by the profile's
  formant scale — a shorter or longer vocal tract;
* a colour correction brightens or darkens it: a tilt in dB per octave pivoting at 1 kHz, plus
  the profile's smooth third-octave EQ (``EQ_BANDS_HZ``) when it has one.

Only voiced frames take the vocoder's output. Unvoiced ones (fricatives, bursts, pauses) keep
the chunk's own waveform with the same warp and colour applied to its short-time spectrum,
cross-faded over 10 ms: the vocoder smears consonants, which costs intelligibility.

The chunk's level is kept. Tempo is not applied here: the engine speaks at the profile's tempo.
Chunks are independent, so the adapter keeps no state between them and may serve many streams
at once. Cost: RTF about 0.05 on one core (``bench/voices.py`` measures it); DIO rather than
Harvest for F0, which would add about 0.13 without helping Whisper's word error rate.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyworld

from shoal.voices.profile import VoiceProfile

if TYPE_CHECKING:
    from shoal.voices.analysis import BaseVoiceStats

Float = npt.NDArray[np.float32]
Double = npt.NDArray[np.float64]

FRAME_PERIOD_MS = 5.0
MIN_CHUNK_SECONDS = 0.05
"""Shorter chunks pass through: too short for a pitch period or two."""
SILENCE_PEAK = 1e-4
SPREAD_RATIO_LIMITS = (0.5, 2.0)
COLOUR_LIMIT_DB = 15.0
TILT_PIVOT_HZ = 1000.0
PEAK_LIMIT = 0.98
F0_SMOOTHING_FRAMES = 5

EQ_BANDS_HZ: tuple[float, ...] = tuple(1000.0 * 2 ** (k / 3) for k in range(-10, 9))
"""Centres of the profile's EQ bands: third octaves from 99 Hz to 6.3 kHz. Above, references
are often band-limited (16 kHz recordings roll off before 8 kHz), so the correction is held."""


def colour_gain_db(hz: Double, tilt_db_per_octave: float, eq_db: tuple[float, ...] = ()) -> Double:
    """The colour correction in dB at frequencies ``hz``: tilt plus the EQ interpolated in
    log-frequency, held constant below 125 Hz and above the last EQ band."""
    octaves = np.log2(np.clip(hz, 125.0, EQ_BANDS_HZ[-1]) / TILT_PIVOT_HZ)
    gain = tilt_db_per_octave * octaves
    if eq_db:
        band_octaves = np.log2(np.asarray(EQ_BANDS_HZ[: len(eq_db)]) / TILT_PIVOT_HZ)
        gain = gain + np.interp(octaves, band_octaves, eq_db)
    limited: Double = np.clip(gain, -COLOUR_LIMIT_DB, COLOUR_LIMIT_DB)
    return limited


def smooth_f0(f0: Double, frames: int = F0_SMOOTHING_FRAMES) -> Double:
    """F0 with each voiced frame replaced by the median of the voiced frames around it.

    DIO + StoneMask on neural TTS output alternates by one or two semitones from one 5 ms frame
    to the next (and now and then by an octave); resynthesised as it is, that is a rough, shaky
    voice. Unvoiced frames stay unvoiced."""
    voiced = f0 > 0
    if voiced.sum() < 2 or frames < 2:
        return f0
    half = frames // 2
    logs = np.pad(np.where(voiced, np.log(np.where(voiced, f0, 1.0)), np.nan), half, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(logs, frames)[voiced]
    smoothed = f0.copy()
    smoothed[voiced] = np.exp(np.nanmedian(windows, axis=1))
    return smoothed


def world_analysis(
    audio: Double, rate: int, f0_floor: float, f0_ceil: float, fft_size: int
) -> tuple[Double, Double, Double]:
    """WORLD features of ``audio``: F0 (0 = unvoiced), spectral envelope, aperiodicity, per 5 ms."""
    f0, times = pyworld.dio(audio, rate, f0_floor=f0_floor, f0_ceil=f0_ceil, frame_period=FRAME_PERIOD_MS)
    f0 = smooth_f0(np.asarray(pyworld.stonemask(audio, f0, times, rate)))
    envelope = pyworld.cheaptrick(audio, f0, times, rate, fft_size=fft_size)
    aperiodicity = pyworld.d4c(audio, f0, times, rate, fft_size=fft_size)
    return np.asarray(f0), np.asarray(envelope), np.asarray(aperiodicity)


class VoiceAdapter:
    """Re-voices chunks of one base voice's output (float32 mono at ``sample_rate``) toward a profile."""

    def __init__(self, profile: VoiceProfile, base: BaseVoiceStats, sample_rate: int) -> None:
        self.profile = profile
        self.sample_rate = sample_rate
        self.fft_size = int(pyworld.get_cheaptrick_fft_size(sample_rate))
        base_f0 = max(base.f0_median_hz, 1.0)
        self.f0_floor = max(40.0, base_f0 / 2.5)
        self.f0_ceil = min(1000.0, base_f0 * 3.5)
        self._log_base = math.log(base_f0)
        self._log_target = math.log(max(profile.f0_median_hz, 1.0))
        spread = base.f0_spread_semitones
        ratio = profile.f0_spread_semitones / spread if spread > 0 else 1.0
        self._spread_ratio = float(np.clip(ratio, *SPREAD_RATIO_LIMITS))
        bins = np.arange(self.fft_size // 2 + 1, dtype=np.float64)
        self._source_bins = np.minimum(bins / profile.formant_scale, bins[-1])
        hz = bins * sample_rate / self.fft_size
        gain_db = colour_gain_db(hz, profile.tilt_db_per_octave, profile.eq_db)
        self._colour = 10 ** (gain_db / 10)  # on a power spectrum
        self._stft_size = 1 << max(8, round(math.log2(0.023 * sample_rate)))
        stft_bins = np.arange(self._stft_size // 2 + 1, dtype=np.float64)
        stft_source = np.minimum(stft_bins / profile.formant_scale, stft_bins[-1])
        stft_low = np.floor(stft_source).astype(np.intp)
        self._stft_warp = (stft_low, stft_source - stft_low, np.round(stft_source).astype(np.intp))
        stft_hz = stft_bins * sample_rate / self._stft_size
        self._stft_colour = 10 ** (colour_gain_db(stft_hz, profile.tilt_db_per_octave, profile.eq_db) / 20)
        self._stft_window = np.sqrt(np.hanning(self._stft_size + 1)[:-1])
        self.identity = (
            abs(self._log_target - self._log_base) < 0.01
            and abs(self._spread_ratio - 1) < 0.02
            and abs(profile.formant_scale - 1) < 0.005
            and float(np.max(np.abs(gain_db))) < 0.25
        )
        """True when the profile asks for (almost) nothing: chunks pass through untouched."""

    def map_f0(self, f0: Double) -> Double:
        """Base-voice F0 (0 = unvoiced) moved to the profile's level and range."""
        voiced = f0 > 0
        mapped = np.zeros_like(f0)
        logs = np.log(f0[voiced])
        mapped[voiced] = np.exp((logs - self._log_base) * self._spread_ratio + self._log_target)
        return mapped

    def warp(self, spectra: Double) -> Double:
        """Frames of a spectrum (frames, bins) with every frequency multiplied by the formant scale."""
        if abs(self.profile.formant_scale - 1) < 1e-6:
            return spectra
        low = np.floor(self._source_bins).astype(np.intp)
        high = np.minimum(low + 1, spectra.shape[1] - 1)
        weight = self._source_bins - low
        warped: Double = spectra[:, low] * (1 - weight) + spectra[:, high] * weight
        return warped

    def resynthesize(self, f0: Double, envelope: Double, aperiodicity: Double) -> Double:
        """Speech from the base voice's WORLD features, changed toward the profile."""
        envelope = np.ascontiguousarray(self.warp(envelope) * self._colour)
        aperiodicity = np.ascontiguousarray(np.clip(self.warp(aperiodicity), 0.0, 1.0))
        return np.asarray(
            pyworld.synthesize(self.map_f0(f0), envelope, aperiodicity, self.sample_rate, FRAME_PERIOD_MS)
        )

    def process(self, samples: Float) -> Float:
        """One chunk re-voiced; the same length as ``samples``."""
        audio = np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1), posinf=0.0, neginf=0.0)
        if self.identity or len(audio) < MIN_CHUNK_SECONDS * self.sample_rate:
            return audio
        if float(np.max(np.abs(audio))) < SILENCE_PEAK:
            return audio
        x = audio.astype(np.float64)
        f0, envelope, aperiodicity = world_analysis(
            x, self.sample_rate, self.f0_floor, self.f0_ceil, self.fft_size
        )
        if not np.any(f0 > 0):
            return audio  # nothing voiced (a breath, a hiss): leave it alone
        y = self.resynthesize(f0, envelope, aperiodicity)
        y = y[: len(x)] if len(y) >= len(x) else np.pad(y, (0, len(x) - len(y)))
        return match_level(self.mix(x, y, f0), x)

    def mix(self, x: Double, y: Double, f0: Double) -> Double:
        """The vocoder's output ``y`` in voiced frames; in unvoiced ones (fricatives, bursts, pauses)
        the chunk ``x`` itself, with the same warp and colour applied to its short-time spectrum
        (phase kept). WORLD smears consonants: on ``bench/voices.py``'s text a plain round trip
        takes Whisper's word error rate from about 0.6 % to 1.6 %; through this mix it stays
        near the original."""
        n = self._stft_size
        hop = n // 4
        source, vocoded = self._stft(x), self._stft(y)
        if abs(self.profile.formant_scale - 1) > 1e-6:
            low, weight, nearest = self._stft_warp
            magnitude = np.abs(source)
            warped = magnitude[:, low] * (1 - weight) + magnitude[:, np.minimum(low + 1, n // 2)] * weight
            source = warped * np.exp(1j * np.angle(source[:, nearest]))
        source = source * self._stft_colour
        # Voicing at each STFT frame's centre (frame i covers samples [i·hop − n, i·hop)).
        centres = (np.arange(len(source)) * hop - n // 2) / (self.sample_rate * FRAME_PERIOD_MS / 1000)
        voiced = np.interp(centres, np.arange(len(f0)), (f0 > 0).astype(np.float64))
        level = np.sum(np.abs(source[voiced > 0.5]) ** 2) / max(
            float(np.sum(np.abs(vocoded[voiced > 0.5]) ** 2)), 1e-12
        )
        vocoded = vocoded * math.sqrt(level) if level > 0 else vocoded
        keep = (1 - voiced)[:, None]
        return self._istft(keep * source + (1 - keep) * vocoded, len(x))

    def _stft(self, x: Double) -> npt.NDArray[np.complex128]:
        n = self._stft_size
        padded = np.pad(x, (n, n + n // 4))
        count = 1 + (len(padded) - n) // (n // 4)
        frames = np.lib.stride_tricks.sliding_window_view(padded, n)[:: n // 4][:count]
        return np.fft.rfft(frames * self._stft_window, axis=1)

    def _istft(self, spectra: npt.NDArray[np.complex128], length: int) -> Double:
        n, hop = self._stft_size, self._stft_size // 4
        pieces = np.fft.irfft(spectra, n, axis=1) * self._stft_window
        out = np.zeros(len(spectra) * hop + n)
        norm = np.zeros_like(out)
        for index, piece in enumerate(pieces):
            out[index * hop : index * hop + n] += piece
            norm[index * hop : index * hop + n] += self._stft_window**2
        result: Double = (out / np.maximum(norm, 1e-9))[n : n + length]
        return result


def match_level(output: Double, source: Double) -> Float:
    """``output`` at ``source``'s RMS level, peaks above ``PEAK_LIMIT`` softly limited."""
    out_rms = float(np.sqrt(np.mean(output**2)))
    if out_rms > 0:
        output = output * (float(np.sqrt(np.mean(source**2))) / out_rms)
    over = np.abs(output) > PEAK_LIMIT
    if over.any():
        # Only the excess is bent (tanh knee into the last 2 %), so the rest stays linear.
        headroom = 1.0 - PEAK_LIMIT
        excess = (np.abs(output[over]) - PEAK_LIMIT) / headroom
        output = output.copy()
        output[over] = np.sign(output[over]) * (PEAK_LIMIT + headroom * np.tanh(excess))
    result: Float = output.astype(np.float32)
    return result
