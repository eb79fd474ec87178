"""What makes a voice, measured from audio: pitch, vocal-tract length, colour, speaking rate, loudness.

``measure_base`` measures an engine voice once, from a calibration sentence it spoke
(``CALIBRATION_TEXT``); ``analyse`` measures a reference recording the same way and expresses
it relative to the closest base voice (by speaker embedding) as a ``VoiceProfile`` that
``VoiceAdapter`` applies.

Every measurement runs at 16 kHz on WORLD features (pyworld: DIO + StoneMask for F0,
CheapTrick for the spectral envelope), so a reference and a base voice recorded at different
rates compare like for like:

* pitch level and range: median and robust spread of log-F0 over voiced frames;
* vocal-tract length: first the warp that best aligns the two long-term envelopes once their
  tilt is removed; then, within ±15 % of it, the warp that makes the adapted calibration
  sentence most similar to the reference by the d-vector embedder (about six candidates,
  1–2 s). Base stats loaded from JSON have no calibration audio and keep the first estimate;
* colour: what still separates the long-term envelopes after warping, smoothed to third
  octaves, as a tilt in dB per octave plus a residual EQ;
* speaking rate: words (with a transcript) or syllable-like energy peaks per second of speech;
* loudness: integrated loudness (BS.1770, pyloudnorm).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pyloudnorm
import pyworld
import soxr

from shoal.errors import InvalidAudio
from shoal.voices import embedding
from shoal.voices.adapt import EQ_BANDS_HZ, FRAME_PERIOD_MS, VoiceAdapter, smooth_f0, world_analysis
from shoal.voices.profile import VoiceProfile

Float = npt.NDArray[np.float32]
Double = npt.NDArray[np.float64]

CALIBRATION_TEXT = (
    "When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow. "
    "The rainbow is a division of white light into many beautiful colors. These take the shape "
    "of a long round arch, with its path high above, and its two ends apparently beyond the "
    "horizon. There is, according to legend, a boiling pot of gold at one end."
)
"""What each base voice speaks to be measured (the opening of the Rainbow Passage, about 20 s).
Piper samples its prosody: over 8 s its median pitch moves by 0.35 semitones (sd) from one take
to the next, over 20 s by 0.15, so a voice model sounds the same after a restart."""
CALIBRATION_SEARCH_SECONDS = 12.0
"""How much of the calibration sentence the warp search resynthesises per candidate."""

MIN_SECONDS = 1.0
MAX_SECONDS = 300.0
MIN_VOICED_SECONDS = 0.3

RATE = 16000
FFT_SIZE = 1024
"""CheapTrick FFT size at ``RATE``: 513 bins 15.6 Hz apart."""
F0_FLOOR, F0_CEIL = 55.0, 600.0
F0_BLOCK_SECONDS = 30

ENVELOPE_LOW_HZ, ENVELOPE_HIGH_HZ = 250.0, 5500.0
"""The band where formants live, compared when estimating vocal-tract length from envelopes."""
FORMANT_SCALES = np.round(np.arange(0.76, 1.3401, 0.005), 3)
"""Warp factors tried on envelopes (adult vocal tracts span about ±25 % around an average one)."""
SEARCH_SCALES = np.round(np.arange(0.80, 1.3501, 0.05), 3)
"""Warp factors tried on the calibration sentence, refined between neighbours afterwards."""
SEARCH_PRIOR_WEIGHT = 0.15
"""Similarity given up per unit of log-distance from the envelope estimate (0.02 at ±15 %)."""
SEARCH_SPAN = 1.15
"""The search stays within this factor of the envelope estimate."""
TILT_LIMIT_DB = 6.0
EQ_LIMIT_DB = 12.0
BANDWIDTH_FLOOR_DB = 60.0
"""Bands this far below the reference's loudest band are outside its bandwidth: not copied."""
TEMPO_LIMITS = (0.7, 1.4)
TIMBRE_SECONDS = 60.0
"""Envelope and embedding come from the first minute; pitch, rate and loudness from all of it."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """WORLD features of the base voice's calibration sentence at its own rate, to try warps on."""

    rate: int
    f0: Double
    envelope: Double
    aperiodicity: Double


@dataclass(frozen=True, slots=True)
class BaseVoiceStats:
    """The measurements of one engine voice that a reference is compared with."""

    voice: str
    f0_median_hz: float
    f0_spread_semitones: float
    envelope_db: tuple[float, ...]
    """Long-term envelope (dB, ``FFT_SIZE // 2 + 1`` bins at ``RATE``) of the calibration sentence
    after a WORLD round trip, so colour corrections include the vocoder's own colouring."""
    syllables_per_second: float
    words_per_second: float
    loudness_lufs: float | None
    embedding: tuple[float, ...] = field(default=())
    calibration: Calibration | None = field(default=None, compare=False, repr=False)
    """Kept in memory only (``to_json`` drops it); without it the warp comes from envelopes alone."""

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "calibration"}
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> BaseVoiceStats:
        data: dict[str, Any] = json.loads(text)
        data["envelope_db"] = tuple(data["envelope_db"])
        data["embedding"] = tuple(data.get("embedding") or ())
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Measurements:
    """What a clip's audio says about its speaker, before comparison with a base voice."""

    f0_median_hz: float
    f0_spread_semitones: float
    envelope_db: Double
    syllables_per_second: float
    words_per_second: float | None
    speech_seconds: float
    loudness_lufs: float | None
    embedding: Float
    bandwidth_hz: float
    """Up to where the recording carries sound (its sample rate's limit, with the filter's roll-off)."""


def _as_float(samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
    audio = np.asarray(samples)
    if audio.dtype == np.int16:
        return audio.astype(np.float32) / 32768.0
    return audio


def _prepare(samples: npt.NDArray[Any], rate: int) -> Double:
    """Mono float64 at ``RATE``, checked for length and content."""
    audio = np.asarray(_as_float(samples), dtype=np.float64)
    if audio.ndim == 2:  # (frames, channels) as soundfile reads it
        audio = audio.mean(axis=1)
    audio = audio.reshape(-1)
    if rate <= 0:
        raise InvalidAudio("reference audio has no sample rate")
    seconds = len(audio) / rate
    if seconds < MIN_SECONDS:
        raise InvalidAudio(
            f"reference audio is {seconds:.2f} s long; upload at least {MIN_SECONDS:.0f} s of speech"
        )
    if seconds > MAX_SECONDS:
        raise InvalidAudio(
            f"reference audio is {seconds:.0f} s long; upload at most {MAX_SECONDS / 60:.0f} minutes "
            "(10 to 30 s of clear speech is plenty)"
        )
    audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
    if rate != RATE:
        audio = np.asarray(soxr.resample(audio, rate, RATE), dtype=np.float64)
    if float(np.max(np.abs(audio))) < 1e-4:
        raise InvalidAudio("reference audio is silent; upload a clip of someone speaking")
    return audio


def _frame_levels_db(
    audio: Double, rate: int, hop_seconds: float, band: tuple[float, float] | None = None
) -> Double:
    """Level (dB) of 20 ms frames every ``hop_seconds``: RMS, or the energy within ``band`` (Hz).
    Worked out a few thousand frames at a time, so five minutes cost little memory."""
    hop = max(1, round(rate * hop_seconds))
    width = round(rate * 0.02)
    padded = np.pad(audio, (width // 2, width))
    count = 1 + (len(padded) - width) // hop
    frames = np.lib.stride_tricks.sliding_window_view(padded, width)[::hop][:count]
    window = np.hanning(width)
    hz = np.fft.rfftfreq(width, 1 / rate)
    inside = (hz >= band[0]) & (hz <= band[1]) if band else None
    levels = np.empty(count)
    for start in range(0, count, 4096):
        block = frames[start : start + 4096]
        if inside is None:
            power = np.mean(block**2, axis=1)
        else:
            power = (np.abs(np.fft.rfft(block * window, axis=1)[:, inside]) ** 2).sum(axis=1) / width
        levels[start : start + len(block)] = 10 * np.log10(power + 1e-12)
    return levels


def _active(levels_db: Double, hop_seconds: float, bridge_seconds: float = 0.25) -> npt.NDArray[np.bool_]:
    """Frames of speech: well above the noise floor and within 35 dB of the loud frames; pauses
    shorter than ``bridge_seconds`` count as speech (an articulation rate, not a pause rate)."""
    loud = float(np.percentile(levels_db, 95))
    floor = float(np.percentile(levels_db, 10))
    threshold = max(loud - 35.0, min(floor + 8.0, loud - 10.0))
    active = levels_db > threshold
    bridge = round(bridge_seconds / hop_seconds)
    indices = np.flatnonzero(active)
    for start, end in itertools.pairwise(indices):
        if 1 < end - start <= bridge + 1:
            active[start:end] = True
    return active


def _syllable_rate(audio: Double, rate: int, speech_seconds: float) -> float:
    """Syllables per second of speech: peaks of the 300–2500 Hz energy envelope."""
    levels = _frame_levels_db(audio, rate, 0.01, band=(300.0, 2500.0))
    kernel = np.hanning(9)  # about 25 Hz low-pass at 100 frames a second
    smooth = np.convolve(levels, kernel / kernel.sum(), mode="same")
    loud = float(np.percentile(smooth, 95))
    peaks, last_peak = 0, -100
    valley = float(smooth[0])
    for index in range(1, len(smooth) - 1):
        value = float(smooth[index])
        valley = min(valley, value)
        is_peak = value >= smooth[index - 1] and value > smooth[index + 1]
        # A syllable nucleus: a maximum 3 dB above the dip before it, not far below the loudest,
        # at least 80 ms after the previous one.
        if is_peak and value > loud - 25.0 and value - valley >= 3.0 and index - last_peak >= 8:
            peaks, last_peak, valley = peaks + 1, index, value
    return peaks / speech_seconds if speech_seconds > 0 else 0.0


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def count_words(text: str) -> int:
    """Words in a transcript (runs of letters or digits, apostrophes inside words)."""
    return len(_WORD.findall(text))


def long_term_envelope(audio: Double, f0: Double) -> Double:
    """Mean log spectral envelope (dB) of the louder voiced frames of ``audio`` at ``RATE``."""
    voiced = f0 > 0
    times = np.arange(len(f0)) * FRAME_PERIOD_MS / 1000
    spectra = pyworld.cheaptrick(audio, f0, times, RATE, fft_size=FFT_SIZE)
    log_env = 10 * np.log10(np.asarray(spectra)[voiced] + 1e-16)
    level = log_env.mean(axis=1)
    # Quiet voiced frames (onsets, breathy ends) carry more noise than vowel shape.
    loud = log_env[level > np.percentile(level, 30)] if len(level) >= 10 else log_env
    mean: Double = loud.mean(axis=0)
    return mean


def _f0(audio: Double) -> Double:
    """F0 per 5 ms frame at ``RATE`` (DIO + StoneMask), in 30 s blocks: DIO's memory grows
    with the length it is given (about 450 MB for 5 minutes in one piece)."""
    hop = round(RATE * FRAME_PERIOD_MS / 1000)
    block, context = F0_BLOCK_SECONDS * RATE, RATE // 2
    pieces = []
    for start in range(0, len(audio), block):
        begin = max(0, start - context)
        piece = audio[begin : start + block + context]
        f0, times = pyworld.dio(piece, RATE, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_PERIOD_MS)
        f0 = smooth_f0(np.asarray(pyworld.stonemask(piece, f0, times, RATE)))
        first = (start - begin) // hop
        pieces.append(f0[first : first + block // hop])
    frames = 1 + len(audio) // hop
    track = np.concatenate(pieces)[:frames]
    return np.pad(track, (0, frames - len(track)))


def _measure(
    audio: Double, f0: Double, transcript: str | None, envelope_of: Double, rate: int
) -> Measurements:
    voiced = f0[f0 > 0]
    if len(voiced) * FRAME_PERIOD_MS / 1000 < MIN_VOICED_SECONDS:
        raise InvalidAudio(
            "no voiced speech found in the reference audio; upload a clip of one person speaking clearly"
        )
    semitones = 12 * np.log2(voiced)
    # Quartiles: octave errors of the tracker fall outside them.
    q1, median, q3 = np.percentile(semitones, [25, 50, 75])
    hop_seconds = 0.01
    speech_seconds = max(
        float(_active(_frame_levels_db(audio, RATE, hop_seconds), hop_seconds).sum()) * hop_seconds, 0.1
    )
    words = count_words(transcript) if transcript else 0
    # Timbre settles within a minute of speech; beyond it, envelopes only cost memory (~50 MB a minute).
    head = round(TIMBRE_SECONDS * RATE)
    head_frames = 1 + round(TIMBRE_SECONDS * 1000 / FRAME_PERIOD_MS)
    loudness = float(pyloudnorm.Meter(RATE).integrated_loudness(audio))
    return Measurements(
        f0_median_hz=float(2 ** (median / 12)),
        f0_spread_semitones=float((q3 - q1) / 1.349),
        envelope_db=long_term_envelope(envelope_of[:head], f0[:head_frames]),
        syllables_per_second=_syllable_rate(audio, RATE, speech_seconds),
        words_per_second=words / speech_seconds if words else None,
        speech_seconds=speech_seconds,
        loudness_lufs=loudness if math.isfinite(loudness) else None,
        embedding=embedding.embed(audio[:head].astype(np.float32), RATE),
        bandwidth_hz=0.45 * min(rate, RATE),
    )


def measure(samples: npt.NDArray[Any], rate: int, *, transcript: str | None = None) -> Measurements:
    """Measure a clip of one speaker. Raises ``InvalidAudio`` when it cannot be used."""
    audio = _prepare(samples, rate)
    f0 = _f0(audio)
    return _measure(audio, f0, transcript, audio, rate)


def measure_base(
    voice: str, samples: npt.NDArray[Any], rate: int, *, transcript: str = CALIBRATION_TEXT
) -> BaseVoiceStats:
    """Measure an engine voice from PCM (int16 or float) it synthesised for ``transcript``."""
    audio = _prepare(samples, rate)
    # The round trip runs at the engine's rate, as the adapter will: its colouring depends on it.
    native = np.asarray(_as_float(samples), dtype=np.float64).reshape(-1)
    features = world_analysis(native, rate, F0_FLOOR, F0_CEIL, int(pyworld.get_cheaptrick_fft_size(rate)))
    round_trip = np.asarray(pyworld.synthesize(*features, rate, FRAME_PERIOD_MS))
    if rate != RATE:
        round_trip = np.asarray(soxr.resample(round_trip, rate, RATE), dtype=np.float64)
    round_trip = np.resize(round_trip, len(audio))
    measured = _measure(audio, _f0(audio), transcript, round_trip, rate)
    search_frames = 1 + round(CALIBRATION_SEARCH_SECONDS * 1000 / FRAME_PERIOD_MS)
    return BaseVoiceStats(
        voice=voice,
        f0_median_hz=measured.f0_median_hz,
        f0_spread_semitones=measured.f0_spread_semitones,
        envelope_db=tuple(float(value) for value in measured.envelope_db),
        syllables_per_second=measured.syllables_per_second,
        words_per_second=measured.words_per_second or 0.0,
        loudness_lufs=measured.loudness_lufs,
        embedding=tuple(float(value) for value in measured.embedding),
        calibration=Calibration(rate, *(feature[:search_frames].copy() for feature in features)),
    )


_BIN_HZ = np.arange(FFT_SIZE // 2 + 1) * RATE / FFT_SIZE
_BAND = (_BIN_HZ >= ENVELOPE_LOW_HZ) & (_BIN_HZ <= ENVELOPE_HIGH_HZ)
_OCTAVES = np.log2(np.maximum(_BIN_HZ, 1.0) / 1000.0)
_EQ_OCTAVES = np.log2(np.asarray(EQ_BANDS_HZ) / 1000.0)


def warp_envelope_db(envelope_db: Double, scale: float) -> Double:
    """The envelope with every frequency multiplied by ``scale`` (formants move up when > 1)."""
    warped: Double = np.interp(_BIN_HZ / scale, _BIN_HZ, envelope_db)
    return warped


def _detrend(envelope_db: Double) -> Double:
    """The formant band of an envelope with its tilt (a line in dB per octave) removed."""
    x, y = _OCTAVES[_BAND], envelope_db[_BAND]
    slope, intercept = np.polyfit(x, y, 1)
    residual: Double = y - (slope * x + intercept)
    return residual


def envelope_formant_scale(reference_db: Double, base_db: Double) -> float:
    """The warp of ``base_db`` whose formant pattern correlates best with ``reference_db``'s."""
    target = _detrend(reference_db)
    scores = [
        float(np.corrcoef(_detrend(warp_envelope_db(base_db, s)), target)[0, 1]) for s in FORMANT_SCALES
    ]
    return float(FORMANT_SCALES[int(np.argmax(scores))])


def _third_octave_db(envelope_db: Double) -> Double:
    """An envelope averaged over a third of an octave around each ``EQ_BANDS_HZ`` centre."""
    bands = np.empty(len(_EQ_OCTAVES))
    for index, centre in enumerate(_EQ_OCTAVES):
        inside = np.abs(_OCTAVES - centre) <= 1 / 6
        bands[index] = (
            envelope_db[inside].mean() if inside.any() else np.interp(centre, _OCTAVES, envelope_db)
        )
    return bands


def colour_correction(
    reference_db: Double, base_db: Double, scale: float, bandwidth_hz: float = RATE / 2
) -> tuple[float, tuple[float, ...]]:
    """Tilt (dB per octave) and residual third-octave EQ (dB) from the warped base to the reference.

    Bands outside the reference's bandwidth (above ``bandwidth_hz``, or far below its loudest
    band) copy their neighbour, so a narrow-band recording does not make the voice muffled.
    """
    reference = _third_octave_db(reference_db)
    difference = reference - _third_octave_db(warp_envelope_db(base_db, scale))
    upper_edges = np.asarray(EQ_BANDS_HZ) * 2 ** (1 / 6)
    inside = np.flatnonzero(
        (reference > reference.max() - BANDWIDTH_FLOOR_DB) & (upper_edges <= bandwidth_hz)
    )
    if not len(inside):
        return 0.0, ()
    difference = np.interp(np.arange(len(difference)), inside, difference[inside])
    slope, intercept = np.polyfit(_EQ_OCTAVES, difference, 1)
    tilt = float(np.clip(slope, -TILT_LIMIT_DB, TILT_LIMIT_DB))
    residual = np.clip(difference - (tilt * _EQ_OCTAVES + intercept), -EQ_LIMIT_DB, EQ_LIMIT_DB)
    return tilt, tuple(round(float(value), 2) for value in residual)


def closest_base(reference: Float, bases: Sequence[BaseVoiceStats]) -> BaseVoiceStats:
    """The base voice whose embedding is most similar to the reference's."""
    if not bases:
        raise ValueError("no base voices to match against")
    with_embedding = [base for base in bases if base.embedding]
    if not with_embedding:
        return bases[0]
    return max(with_embedding, key=lambda base: embedding.similarity(reference, base.embedding))


def _candidate(measured: Measurements, base: BaseVoiceStats, scale: float) -> VoiceProfile:
    tilt, eq = colour_correction(
        measured.envelope_db, np.asarray(base.envelope_db), scale, measured.bandwidth_hz
    )
    return VoiceProfile(
        base_voice=base.voice,
        f0_median_hz=round(measured.f0_median_hz, 2),
        f0_spread_semitones=round(measured.f0_spread_semitones, 3),
        formant_scale=round(scale, 3),
        tilt_db_per_octave=round(tilt, 2),
        eq_db=eq,
    )


def _similarity_after(candidate: VoiceProfile, base: BaseVoiceStats, target: Float) -> float:
    """How close the calibration sentence, adapted to ``candidate``, comes to the reference."""
    calibration = base.calibration
    assert calibration is not None
    adapter = VoiceAdapter(candidate, base, calibration.rate)
    audio = adapter.resynthesize(calibration.f0, calibration.envelope, calibration.aperiodicity)
    return embedding.similarity(target, embedding.embed(audio.astype(np.float32), calibration.rate))


def searched_formant_scale(measured: Measurements, base: BaseVoiceStats, prior: float) -> float:
    """The warp whose adapted calibration sentence the d-vector finds closest to the reference.

    Tried within ±15 % of ``prior`` (the envelope estimate, which is right to a few per cent on
    a voice warped from the base itself and runs 5–10 % high on other men): the d-vector's
    curve can have a second hump far away (a male reference scoring as well at 1.35 as at
    1.05) that the envelopes rule out. Inside the range a small penalty for straying from
    ``prior`` settles near-ties."""
    scales = [float(s) for s in SEARCH_SCALES if prior / SEARCH_SPAN <= s <= prior * SEARCH_SPAN]
    if len(scales) < 3:
        nearest = int(np.argmin(np.abs(SEARCH_SCALES - prior)))
        scales = [float(s) for s in SEARCH_SCALES[max(0, nearest - 1) : nearest + 2]]
    scores = [
        _similarity_after(_candidate(measured, base, s), base, measured.embedding)
        - SEARCH_PRIOR_WEIGHT * abs(math.log(s / prior))
        for s in scales
    ]
    best = int(np.argmax(scores))
    if 0 < best < len(scores) - 1:
        # The peak of the parabola through the best score and its neighbours.
        left, middle, right = scores[best - 1], scores[best], scores[best + 1]
        curvature = left - 2 * middle + right
        offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
        step = scales[1] - scales[0]
        return scales[best] + float(np.clip(offset, -0.5, 0.5)) * step
    return scales[best]


def profile_from(measured: Measurements, base: BaseVoiceStats) -> VoiceProfile:
    """Express measurements of a reference relative to ``base``."""
    scale = envelope_formant_scale(measured.envelope_db, np.asarray(base.envelope_db))
    if base.calibration is not None:
        scale = searched_formant_scale(measured, base, prior=scale)
    if measured.words_per_second and base.words_per_second:
        tempo = measured.words_per_second / base.words_per_second
    elif measured.syllables_per_second and base.syllables_per_second:
        tempo = measured.syllables_per_second / base.syllables_per_second
    else:
        tempo = 1.0
    return replace(
        _candidate(measured, base, round(scale / 0.005) * 0.005),
        tempo=round(float(np.clip(tempo, *TEMPO_LIMITS)), 3),
        loudness_lufs=None if measured.loudness_lufs is None else round(measured.loudness_lufs, 2),
        embedding=tuple(round(float(value), 5) for value in measured.embedding),
    )


def analyse(
    samples: npt.NDArray[Any],
    rate: int,
    base: BaseVoiceStats | Sequence[BaseVoiceStats],
    *,
    transcript: str | None = None,
) -> VoiceProfile:
    """A profile of the speaker in ``samples`` over the closest of the ``base`` voices.

    ``samples``: mono floats in [-1, 1] (or int16 PCM) at ``rate``; ``transcript``: what is said,
    if known (the speaking rate is then counted in words rather than syllable peaks).
    Raises ``InvalidAudio`` for clips shorter than 1 s or longer than 5 minutes, silence, or
    audio without voiced speech.
    """
    measured = measure(samples, rate, transcript=transcript)
    bases = [base] if isinstance(base, BaseVoiceStats) else list(base)
    return profile_from(measured, closest_base(measured.embedding, bases))
