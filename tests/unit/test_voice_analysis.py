"""Voice analysis on real speech (Piper's joe, espeak-ng): what it measures moves with the voice.

Known changes are made with the WORLD vocoder (pitch shifted, envelope warped, tempo changed
through Piper's own speed) and the analysis must find them again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from shoal.audio.dsp import to_float
from shoal.engines.base import SynthesisRequest
from shoal.engines.espeak import EspeakEngine
from shoal.engines.piper import PiperEngine
from shoal.errors import InvalidAudio
from shoal.voices import analysis, embedding
from shoal.voices.adapt import VoiceAdapter
from shoal.voices.analysis import BaseVoiceStats, analyse, count_words, measure, measure_base
from shoal.voices.profile import VoiceProfile

Float = npt.NDArray[np.float32]

SENTENCE = (
    "Please call Stella and ask her to bring these things with her from the store. "
    "Six spoons of fresh snow peas, five thick slabs of blue cheese, and maybe a snack for her brother."
)


def speak(engine: PiperEngine | EspeakEngine, text: str, speed: float = 1.0) -> Float:
    pieces = engine.synthesize_blocking(SynthesisRequest(text, "en", speed=speed))
    return np.concatenate([to_float(pcm) for pcm in pieces])


@dataclass
class Voice:
    rate: int
    base: BaseVoiceStats
    sentence: Float


@pytest.fixture(scope="module")
def piper() -> PiperEngine:
    engine = PiperEngine()
    engine.load()
    return engine


@pytest.fixture(scope="module")
def joe(piper: PiperEngine) -> Voice:
    rate = piper.sample_rate
    return Voice(
        rate, measure_base("joe", speak(piper, analysis.CALIBRATION_TEXT), rate), speak(piper, SENTENCE)
    )


def semitones(a: float, b: float) -> float:
    return float(12 * np.log2(a / b))


def world_changed(voice: Voice, **change: Any) -> Float:
    """The sentence through the adapter, with ``change`` made to an identity profile."""
    base = voice.base
    profile = replace(VoiceProfile("joe", base.f0_median_hz, base.f0_spread_semitones), **change)
    return VoiceAdapter(profile, base, voice.rate).process(voice.sentence)


def test_base_voice_measurements_are_plausible(joe: Voice) -> None:
    base = joe.base
    assert 80 < base.f0_median_hz < 250  # an adult voice
    assert 1.0 < base.f0_spread_semitones < 8.0
    assert 2.0 < base.words_per_second < 5.0
    assert 2.0 < base.syllables_per_second < 8.0
    assert base.loudness_lufs is not None and -40 < base.loudness_lufs < -5
    assert len(base.embedding) == embedding.DIMENSIONS
    assert np.linalg.norm(base.embedding) == pytest.approx(1.0, abs=1e-3)
    assert base.calibration is not None
    restored = BaseVoiceStats.from_json(base.to_json())
    assert restored == base  # the calibration audio is not part of the comparison …
    assert restored.calibration is None  # … nor of the JSON


def test_a_pitch_shift_is_recovered_and_leaves_the_vocal_tract_alone(joe: Voice) -> None:
    plain = analyse(joe.sentence, joe.rate, joe.base, transcript=SENTENCE)
    shifted = analyse(
        world_changed(joe, f0_median_hz=joe.base.f0_median_hz * 2 ** (5 / 12)),
        joe.rate,
        joe.base,
        transcript=SENTENCE,
    )
    assert semitones(shifted.f0_median_hz, plain.f0_median_hz) == pytest.approx(5.0, abs=1.0)
    assert shifted.formant_scale == pytest.approx(plain.formant_scale, abs=0.06)
    assert shifted.tempo == pytest.approx(plain.tempo, rel=0.05)


def test_a_formant_warp_is_recovered(joe: Voice) -> None:
    plain = analyse(joe.sentence, joe.rate, joe.base, transcript=SENTENCE)
    warped = analyse(world_changed(joe, formant_scale=1.18), joe.rate, joe.base, transcript=SENTENCE)
    assert warped.formant_scale / plain.formant_scale == pytest.approx(1.18, abs=0.05)
    assert semitones(warped.f0_median_hz, plain.f0_median_hz) == pytest.approx(0.0, abs=1.0)


def test_the_envelope_estimate_without_calibration_audio_finds_the_warp_too(joe: Voice) -> None:
    stored = BaseVoiceStats.from_json(joe.base.to_json())  # as loaded from disk: no calibration
    plain = analyse(joe.sentence, joe.rate, stored)
    warped = analyse(world_changed(joe, formant_scale=0.9), joe.rate, stored)
    assert warped.formant_scale / plain.formant_scale == pytest.approx(0.9, abs=0.04)


def test_speaking_rate_follows_the_tempo(piper: PiperEngine, joe: Voice) -> None:
    slow = speak(piper, SENTENCE, speed=0.7)
    stored = BaseVoiceStats.from_json(joe.base.to_json())  # no warp search: quicker, same tempo
    normal = analyse(joe.sentence, joe.rate, stored, transcript=SENTENCE)
    slowed = analyse(slow, joe.rate, stored, transcript=SENTENCE)
    # Piper's speed is not exact (its durations are sampled): compare with the lengths it produced.
    assert slowed.tempo / normal.tempo == pytest.approx(len(joe.sentence) / len(slow), rel=0.08)
    assert slowed.tempo / normal.tempo < 0.85
    # Without a transcript the rate comes from syllable-like energy peaks: coarser.
    assert analyse(slow, joe.rate, stored).tempo < analyse(joe.sentence, joe.rate, stored).tempo


def test_loudness_is_measured(joe: Voice) -> None:
    louder = measure(joe.sentence * 2, joe.rate)
    plain = measure(joe.sentence, joe.rate)
    assert louder.loudness_lufs is not None and plain.loudness_lufs is not None
    assert louder.loudness_lufs - plain.loudness_lufs == pytest.approx(6.02, abs=0.1)


def test_the_closest_base_voice_is_chosen(joe: Voice) -> None:
    espeak = EspeakEngine()
    espeak.load()
    robot = measure_base("espeak-en", speak(espeak, analysis.CALIBRATION_TEXT), espeak.sample_rate)
    bases = [BaseVoiceStats.from_json(base.to_json()) for base in (robot, joe.base)]
    assert analyse(joe.sentence, joe.rate, bases).base_voice == "joe"
    assert analyse(speak(espeak, SENTENCE), espeak.sample_rate, bases).base_voice == "espeak-en"


def test_int16_pcm_and_stereo_are_accepted(joe: Voice) -> None:
    pcm = np.clip(np.round(joe.sentence * 32767), -32768, 32767).astype(np.int16)
    from_pcm = measure(pcm, joe.rate)
    stereo = measure(np.stack([joe.sentence, joe.sentence], axis=1), joe.rate)
    assert from_pcm.f0_median_hz == pytest.approx(stereo.f0_median_hz, rel=0.01)


@pytest.mark.parametrize(
    ("seconds", "kind", "words"),
    [
        (0.5, "speech", "at least 1 s"),
        (301.0, "silence", "at most 5 minutes"),
        (3.0, "silence", "silent"),
        (3.0, "noise", "no voiced speech"),
    ],
)
def test_unusable_audio_is_refused_with_a_reason(seconds: float, kind: str, words: str, joe: Voice) -> None:
    length = round(seconds * joe.rate)
    if kind == "speech":
        samples = np.resize(joe.sentence, length)
    elif kind == "noise":
        samples = np.random.default_rng(1).normal(0, 0.1, length).astype(np.float32)
    else:
        samples = np.zeros(length, dtype=np.float32)
    with pytest.raises(InvalidAudio, match=words):
        analyse(samples, joe.rate, joe.base)


def test_words_are_counted_in_any_script() -> None:
    assert count_words("It's six o'clock — time for tea, isn't it?") == 8
    assert count_words("Grüße aus Köln, 2024!") == 4
    assert count_words("  ") == 0
