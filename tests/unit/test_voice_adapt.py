"""The voice adapter on real speech (Piper's joe): pitch, formants and colour move as asked,
odd chunks are handled, it is fast enough to stream, and the built-in voices differ."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest
import pyworld

from shoal.audio.dsp import to_float
from shoal.engines.base import SynthesisRequest
from shoal.engines.piper import PiperEngine
from shoal.voices import analysis, embedding
from shoal.voices.adapt import EQ_BANDS_HZ, VoiceAdapter, colour_gain_db, smooth_f0
from shoal.voices.analysis import BaseVoiceStats, envelope_formant_scale, measure, measure_base
from shoal.voices.builtin import BUILTIN_VOICES, builtin_voices, find_builtin
from shoal.voices.profile import VoiceProfile

Float = npt.NDArray[np.float32]

SENTENCE = "The birch canoe slid on the smooth planks, and the old clock in the hall struck nine."


@pytest.fixture(scope="module")
def piper() -> PiperEngine:
    engine = PiperEngine()
    engine.load()
    return engine


def speak(engine: PiperEngine, text: str) -> Float:
    return np.concatenate([to_float(pcm) for pcm in engine.synthesize_blocking(SynthesisRequest(text, "en"))])


@pytest.fixture(scope="module")
def base(piper: PiperEngine) -> BaseVoiceStats:
    return measure_base("joe", speak(piper, analysis.CALIBRATION_TEXT), piper.sample_rate)


@pytest.fixture(scope="module")
def sentence(piper: PiperEngine) -> Float:
    return speak(piper, SENTENCE)


@pytest.fixture(scope="module")
def rate(piper: PiperEngine) -> int:
    return piper.sample_rate


def identity(base: BaseVoiceStats) -> VoiceProfile:
    return VoiceProfile("joe", base.f0_median_hz, base.f0_spread_semitones)


def f0_track(samples: Float, rate: int) -> npt.NDArray[np.float64]:
    x = samples.astype(np.float64)
    f0, times = pyworld.dio(x, rate, f0_floor=50.0, f0_ceil=600.0, frame_period=5.0)
    return smooth_f0(np.asarray(pyworld.stonemask(x, f0, times, rate)))


def median_f0(samples: Float, rate: int) -> float:
    f0 = f0_track(samples, rate)
    return float(np.median(f0[f0 > 0]))


def f0_shift(before: Float, after: Float, rate: int) -> float:
    """Median pitch change in semitones over the frames voiced in both (the tracker's voicing
    decisions differ a little between a clip and its resynthesis, which moves plain medians)."""
    a, b = f0_track(before, rate), f0_track(after, rate)
    both = (a > 0) & (b > 0)
    return float(np.median(12 * np.log2(b[both] / a[both])))


def band_db(samples: Float, rate: int, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64))) ** 2
    hz = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(10 * np.log10(spectrum[(hz >= low) & (hz < high)].sum()))


def rms_db(samples: Float) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(samples.astype(np.float64) ** 2))))


def test_f0_moves_to_the_target(base: BaseVoiceStats, piper: PiperEngine, sentence: Float, rate: int) -> None:
    calibration = speak(piper, analysis.CALIBRATION_TEXT)  # sits at the base voice's median
    for target in (95.0, 230.0):
        adapter = VoiceAdapter(replace(identity(base), f0_median_hz=target), base, rate)
        assert 12 * np.log2(median_f0(adapter.process(calibration), rate) / target) == pytest.approx(
            0.0, abs=1.0
        )
        # Any other sentence moves by the same interval, frame by frame.
        expected = 12 * np.log2(target / base.f0_median_hz)
        assert f0_shift(sentence, adapter.process(sentence), rate) == pytest.approx(expected, abs=0.5)


def test_pitch_range_is_scaled(base: BaseVoiceStats, sentence: Float, rate: int) -> None:
    flat = VoiceAdapter(replace(identity(base), f0_spread_semitones=base.f0_spread_semitones / 2), base, rate)
    before, after = measure(sentence, rate), measure(flat.process(sentence), rate)
    assert after.f0_spread_semitones / before.f0_spread_semitones == pytest.approx(0.5, abs=0.15)


def test_formant_warp_moves_the_envelope(base: BaseVoiceStats, sentence: Float, rate: int) -> None:
    before = measure(sentence, rate).envelope_db
    for scale in (0.88, 1.2):
        adapted = VoiceAdapter(replace(identity(base), formant_scale=scale), base, rate).process(sentence)
        after = measure(adapted, rate)
        assert envelope_formant_scale(after.envelope_db, before) == pytest.approx(scale, abs=0.04)
        assert f0_shift(sentence, adapted, rate) == pytest.approx(0.0, abs=0.3)


def test_tilt_brightens_or_darkens(base: BaseVoiceStats, sentence: Float, rate: int) -> None:
    def balance(samples: Float) -> float:  # 3–6 kHz against 375–750 Hz: three octaves apart
        return band_db(samples, rate, 3000, 6000) - band_db(samples, rate, 375, 750)

    plain = balance(
        VoiceAdapter(replace(identity(base), tilt_db_per_octave=0.01), base, rate).process(sentence)
    )
    for tilt in (-3.0, 3.0):
        adapted = VoiceAdapter(replace(identity(base), tilt_db_per_octave=tilt), base, rate).process(sentence)
        assert balance(adapted) - plain == pytest.approx(3 * tilt, abs=3.0)


def test_eq_bands_shape_the_spectrum() -> None:
    hz = np.asarray(EQ_BANDS_HZ)
    eq = tuple(6.0 if 900 < f < 1100 else 0.0 for f in EQ_BANDS_HZ)
    gains = colour_gain_db(hz, 0.0, eq)
    assert gains[list(hz).index(1000.0)] == pytest.approx(6.0)
    assert np.count_nonzero(gains) == 1
    held = colour_gain_db(np.array([20.0, 125.0, 9000.0, 11000.0]), 2.0, ())
    assert held[0] == held[1] and held[2] == held[3]  # held outside 125 Hz … last band


def test_length_and_level_are_kept(base: BaseVoiceStats, sentence: Float, rate: int) -> None:
    profile = replace(identity(base), f0_median_hz=210.0, formant_scale=1.2, tilt_db_per_octave=2.0)
    adapted = VoiceAdapter(profile, base, rate).process(sentence)
    assert adapted.dtype == np.float32 and len(adapted) == len(sentence)
    assert rms_db(adapted) == pytest.approx(rms_db(sentence), abs=1.0)


def test_an_identity_profile_passes_through(base: BaseVoiceStats, sentence: Float, rate: int) -> None:
    adapter = VoiceAdapter(identity(base), base, rate)
    assert adapter.identity
    assert np.array_equal(adapter.process(sentence), sentence)


def test_silence_short_chunks_and_bad_samples(base: BaseVoiceStats, sentence: Float, rate: int) -> None:
    adapter = VoiceAdapter(replace(identity(base), f0_median_hz=220.0), base, rate)
    silence = np.zeros(rate, dtype=np.float32)
    assert np.array_equal(adapter.process(silence), silence)
    short = sentence[rate // 2 : rate // 2 + round(0.04 * rate)]
    assert np.array_equal(adapter.process(short), short)
    assert len(adapter.process(np.zeros(0, dtype=np.float32))) == 0
    hiss = np.random.default_rng(2).normal(0, 0.01, rate // 2).astype(np.float32)
    assert len(adapter.process(hiss)) == len(hiss)
    broken = sentence.copy()
    broken[1000:1010] = np.nan
    assert np.isfinite(adapter.process(broken)).all()


def test_loud_input_does_not_clip(base: BaseVoiceStats, sentence: Float, rate: int) -> None:
    loud = (sentence / np.abs(sentence).max()).astype(np.float32)  # peaks at full scale
    profile = replace(identity(base), f0_median_hz=220.0, tilt_db_per_octave=4.0)
    adapted = VoiceAdapter(profile, base, rate).process(loud)
    assert np.abs(adapted).max() <= 1.0
    assert np.mean(np.abs(adapted) > 0.99) < 0.001


def test_fast_enough_to_stream(base: BaseVoiceStats, sentence: Float, rate: int) -> None:
    adapter = VoiceAdapter(replace(identity(base), f0_median_hz=220.0, formant_scale=1.2), base, rate)
    adapter.process(sentence)  # warm caches
    start = time.perf_counter()
    adapter.process(sentence)
    rtf = (time.perf_counter() - start) / (len(sentence) / rate)
    assert rtf < 0.3, f"real-time factor {rtf:.3f}"  # about 0.05 on an idle core


def test_chunks_are_processed_independently(base: BaseVoiceStats, sentence: Float, rate: int) -> None:
    adapter = VoiceAdapter(replace(identity(base), f0_median_hz=200.0), base, rate)
    first = adapter.process(sentence)
    adapter.process(sentence[::-1].copy())
    assert np.array_equal(adapter.process(sentence), first)


# -- built-in voices ------------------------------------------------------------------------------


def test_builtin_voices_are_well_formed() -> None:
    voices = builtin_voices()
    assert len(voices) >= 4
    assert len({v.id for v in voices}) == len(voices) and len({v.title for v in voices}) == len(voices)
    for voice in voices:
        assert re.fullmatch(r"[0-9a-f]{32}", voice.id)
        assert voice.languages == ("en",) and "shoal" in voice.tags
        assert find_builtin(voice.id) is voice and find_builtin(voice.slug) is voice
        assert VoiceProfile.from_json(voice.profile.to_json()) == voice.profile
    tags = {tag for voice in voices for tag in voice.tags}
    assert {"female", "male", "young", "older"} <= tags
    assert find_builtin("nobody") is None


def test_builtin_voices_sound_different(base: BaseVoiceStats, piper: PiperEngine) -> None:
    """Each pair is further apart, by the d-vector, than one voice is from itself (0.94–0.98)."""
    rate = piper.sample_rate
    clip = speak(piper, "We were away a year ago, and now we are home again for the winter.")
    vectors = {
        voice.title: embedding.embed(VoiceAdapter(voice.profile, base, rate).process(clip), rate)
        for voice in BUILTIN_VOICES
    }
    for (a, va), (b, vb) in itertools.combinations(vectors.items(), 2):
        assert embedding.similarity(va, vb) < 0.85, (a, b, embedding.similarity(va, vb))
    pitches = {voice.title: voice.profile.f0_median_hz for voice in BUILTIN_VOICES}
    assert min(pitches[t] for t in ("Ava", "Ruth")) > max(pitches[t] for t in ("Leo", "Walter"))


def test_profile_json_keeps_the_eq() -> None:
    profile = VoiceProfile("joe", 200.0, 3.0, formant_scale=1.1, eq_db=(1.0, -2.5), embedding=(0.5, 0.5))
    restored = VoiceProfile.from_json(profile.to_json())
    assert restored == profile and isinstance(restored.eq_db, tuple)
    hash(restored)  # profiles key the adapter cache
