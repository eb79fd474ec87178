from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pyloudnorm
import pytest

from shoal.audio.dsp import LoudnessLeveler, Resampler, db_to_gain, to_float, to_pcm

Float = npt.NDArray[np.float32]

TARGET_LUFS = -20.0


def tone(rate: int, seconds: float, hz: float = 220.0, amplitude: float = 0.5) -> Float:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def speech_like(rate: int, seconds: float, amplitude: float, seed: int = 0) -> Float:
    """Noise and a few harmonics under a syllable-rate (5 Hz) envelope, peaking at ``amplitude``."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(rate * seconds)) / rate
    envelope = 0.1 + 0.9 * np.abs(np.sin(2 * np.pi * 2.5 * t))
    voice = sum(np.sin(2 * np.pi * hz * t) / k for k, hz in enumerate((140, 280, 420, 560), start=1))
    signal = envelope * (0.6 * voice / 2 + 0.4 * rng.standard_normal(len(t)))
    signal = signal / np.abs(signal).max() * amplitude
    return signal.astype(np.float32)


def in_pieces(samples: Float, size: int) -> list[Float]:
    return [samples[start : start + size] for start in range(0, len(samples), size)]


def run(processor: Resampler | LoudnessLeveler, pieces: list[Float]) -> Float:
    """Stream ``pieces`` through ``processor``, the last one with ``last=True``."""
    out = [processor.process(piece, last=index == len(pieces) - 1) for index, piece in enumerate(pieces)]
    return np.concatenate(out)


def loudness(samples: Float, rate: int) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64)))


# --------------------------------------------------------------------------- db_to_gain


@pytest.mark.parametrize(
    ("db", "gain"),
    [(0.0, 1.0), (20.0, 10.0), (-20.0, 0.1), (-40.0, 0.01), (6.0206, 2.0), (-6.0206, 0.5), (-1.0, 0.891251)],
)
def test_db_to_gain(db: float, gain: float) -> None:
    assert db_to_gain(db) == pytest.approx(gain, rel=1e-4)
    assert isinstance(db_to_gain(db), float)


def test_float_and_pcm_round_trip() -> None:
    pcm = np.array([-32768, -1, 0, 1, 12345, 32767], dtype=np.int16)
    assert np.array_equal(to_pcm(to_float(pcm)), pcm)
    assert np.array_equal(to_pcm(np.array([2.0, -2.0], dtype=np.float32)), np.array([32767, -32768]))


# --------------------------------------------------------------------------- Resampler


@pytest.mark.parametrize(
    ("in_rate", "out_rate"),
    [(22050, 44100), (22050, 16000), (22050, 24000), (24000, 48000), (44100, 22050), (16000, 8000)],
)
@pytest.mark.parametrize("piece_seconds", [0.005, 0.023, 0.1])
def test_resampler_keeps_duration_and_continuity(in_rate: int, out_rate: int, piece_seconds: float) -> None:
    hz, amplitude = 220.0, 0.5
    samples = tone(in_rate, 1.5, hz, amplitude)
    pieces = in_pieces(samples, max(1, round(in_rate * piece_seconds)))
    pieces.append(np.empty(0, dtype=np.float32))  # the flush
    out = run(Resampler(in_rate, out_rate), pieces)

    assert out.dtype == np.float32
    assert abs(len(out) - len(samples) * out_rate / in_rate) <= 2
    # A sine's largest step between samples is 2π·f·A/rate; a seam between pieces
    # (a restarted filter, a dropped or repeated sample) would jump far beyond it.
    # Skip the filter's edges at the very start and end of the stream.
    edge = out_rate // 100
    largest_step = float(np.max(np.abs(np.diff(out[edge:-edge]))))
    assert largest_step <= 1.1 * 2 * math.pi * hz * amplitude / out_rate


def test_resampler_output_is_the_same_tone() -> None:
    out = run(Resampler(22050, 16000), [*in_pieces(tone(22050, 1.0, 440.0), 512), np.empty(0, np.float32)])
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    assert np.fft.rfftfreq(len(out), 1 / 16000)[np.argmax(spectrum)] == pytest.approx(440.0, abs=2)


def test_resampler_flushes_with_last() -> None:
    resampler = Resampler(22050, 44100)
    samples = tone(22050, 0.5)
    head = resampler.process(samples)
    tail = resampler.process(np.empty(0, dtype=np.float32), last=True)
    assert len(head) < len(samples) * 2  # some output is held back until the end
    assert len(head) + len(tail) == len(samples) * 2


def test_resampler_same_rate_passes_through() -> None:
    samples = tone(16000, 0.2)
    out = Resampler(16000, 16000).process(samples)
    assert np.array_equal(out, samples)


# --------------------------------------------------------------------------- LoudnessLeveler


@pytest.mark.parametrize("rate", [22050, 44100])
@pytest.mark.parametrize("amplitude", [0.01, 0.05, 0.9])
@pytest.mark.parametrize("piece_seconds", [0.05, 0.25, 1.0])
def test_leveler_reaches_the_target(rate: int, amplitude: float, piece_seconds: float) -> None:
    samples = speech_like(rate, 3.0, amplitude)
    assert abs(loudness(samples, rate) - TARGET_LUFS) > 5  # far from the target to begin with

    out = run(LoudnessLeveler(rate, TARGET_LUFS), in_pieces(samples, round(rate * piece_seconds)))

    assert len(out) == len(samples)
    assert loudness(out, rate) == pytest.approx(TARGET_LUFS, abs=1.5)
    assert np.max(np.abs(out)) <= 1.0


@pytest.mark.parametrize("amplitude", [0.01, 0.3, 0.9])
def test_leveler_holds_one_gain(amplitude: float) -> None:
    rate = 22050
    # One second, then four times quieter: a pumping leveler would turn the second
    # part up; a held gain keeps the output an exact multiple of the input.
    samples = speech_like(rate, 3.0, amplitude, seed=1)
    samples[rate:] /= 4
    out = run(LoudnessLeveler(rate, TARGET_LUFS), in_pieces(samples, rate // 10))

    assert len(out) == len(samples)
    unlimited = (np.abs(samples) > 1e-6) & (np.abs(out) < 0.85)
    assert unlimited.sum() > 0.9 * len(samples)
    ratios = out[unlimited] / samples[unlimited]
    assert np.max(ratios) == pytest.approx(np.min(ratios), rel=1e-4)
    assert float(np.median(ratios)) != pytest.approx(1.0, abs=0.05)  # a gain was applied


def test_leveler_buffers_until_it_can_measure() -> None:
    rate = 16000
    leveler = LoudnessLeveler(rate, TARGET_LUFS)
    pieces = in_pieces(speech_like(rate, 1.0, 0.05), rate // 10)
    outputs = [leveler.process(piece) for piece in pieces]
    # Nothing is released before 0.4 s have arrived, then everything so far at once.
    assert [len(out) for out in outputs[:3]] == [0, 0, 0]
    assert len(outputs[3]) == 4 * (rate // 10)
    assert sum(len(out) for out in outputs) == rate


@pytest.mark.parametrize("seconds", [0.05, 0.2, 0.39])
def test_leveler_short_input_is_released_unchanged_on_last(seconds: float) -> None:
    rate = 22050
    samples = speech_like(rate, seconds, 0.05)
    leveler = LoudnessLeveler(rate, TARGET_LUFS)
    pieces = in_pieces(samples, rate // 20)
    out = run(leveler, pieces)
    assert len(out) == len(samples)
    assert np.allclose(out, samples)  # too short to measure: gain 1


@pytest.mark.parametrize("seconds", [0.1, 1.0, 3.0])
def test_leveler_silence_stays_silent(seconds: float) -> None:
    rate = 22050
    samples = np.zeros(round(rate * seconds), dtype=np.float32)
    out = run(LoudnessLeveler(rate, TARGET_LUFS), in_pieces(samples, rate // 10))
    assert len(out) == len(samples)
    assert not np.any(out)
    assert np.all(np.isfinite(out))


def test_leveler_silence_then_speech_is_finite() -> None:
    rate = 22050
    samples = np.concatenate([np.zeros(rate, dtype=np.float32), speech_like(rate, 2.0, 0.3)])
    out = run(LoudnessLeveler(rate, TARGET_LUFS), in_pieces(samples, rate // 10))
    assert len(out) == len(samples)
    assert np.all(np.isfinite(out))
    assert np.max(np.abs(out)) <= 1.0


@pytest.mark.parametrize("target", [-30.0, -20.0, -10.0, -3.0])
def test_leveler_never_exceeds_full_scale(target: float) -> None:
    rate = 22050
    # A quiet start decides a large gain; a full-scale passage follows.
    samples = np.concatenate([speech_like(rate, 0.5, 0.005), tone(rate, 1.0, 440.0, 1.0)])
    out = run(LoudnessLeveler(rate, target), in_pieces(samples, rate // 10))
    assert len(out) == len(samples)
    assert np.all(np.isfinite(out))
    assert np.max(np.abs(out)) <= 1.0
    # Converted back to 16 bits nothing wraps around: the sign of every loud sample is kept.
    loud = np.abs(samples) > 0.5
    assert np.array_equal(np.sign(to_pcm(out)[loud]), np.sign(samples[loud]).astype(np.int16))
