"""``probe`` and ``windows`` on synthetic audio (tone bursts with silent gaps); SRT and WebVTT rendering."""

from __future__ import annotations

import io
import itertools
import wave
from dataclasses import dataclass

import numpy as np
import pytest

from shoal.audio.decode import Window, probe, windows
from shoal.errors import InvalidAudio
from shoal.text.subtitles import srt, vtt
from tests.asr_helpers import pcm_wav, transcode

RATE = 16000  # what ``windows`` resamples to
PERIOD = 3.0  # a tone burst every 3 s...
BURST = 2.2  # ...2.2 s of tone, then 0.8 s of silence
HINT = "send wav, mp3, ogg/opus, flac, m4a/aac or webm"

SUBTITLE_FILE = b"1\n00:00:00,000 --> 00:00:01,000\nHello there.\n\n2\n00:00:01,500 --> 00:00:02,000\nBye.\n"


def bursts(seconds: float, rate: int) -> np.ndarray:
    """Tone bursts (440 Hz, with a little noise) separated by digital silence."""
    t = np.arange(round(seconds * rate)) / rate
    rng = np.random.default_rng(7)
    signal = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.02 * rng.standard_normal(len(t))
    signal[(t % PERIOD) >= BURST] = 0.0
    return signal.astype(np.float32)


def burst_wav(seconds: float, rate: int = 44100) -> bytes:
    return pcm_wav(bursts(seconds, rate), rate)


def all_windows(data: bytes, *, window_seconds: float, max_seconds: float = 3600) -> list[Window]:
    return list(windows(data, rate=RATE, window_seconds=window_seconds, max_seconds=max_seconds))


# -- probe ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "codec", "container_name"),
    [
        ("wav", "pcm_s16le", "wav"),
        ("mp3", "mp3", "mp3"),
        ("flac", "flac", "flac"),
        ("ogg", "opus", "ogg"),
        ("m4a", "aac", "mp4"),
        ("webm", "opus", "webm"),
    ],
)
def test_probe_reads_every_supported_container(container: str, codec: str, container_name: str) -> None:
    info = probe(transcode(burst_wav(4.0), container), max_seconds=60)
    assert info.codec.startswith(codec)
    assert container_name in info.container
    assert info.declared_seconds == pytest.approx(4.0, abs=0.05)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(b"", ["empty"], id="empty"),
        pytest.param(bytes(range(256)) * 16, ["not decodable"], id="garbage"),
        pytest.param(b"These are the minutes of the meeting.\n" * 20, ["not decodable"], id="text"),
        pytest.param(SUBTITLE_FILE, ["no audio stream"], id="subtitles"),
        pytest.param(burst_wav(1.0)[:20], ["not decodable"], id="cut-inside-header"),
    ],
)
def test_probe_rejects_what_is_not_audio(data: bytes, words: list[str]) -> None:
    with pytest.raises(InvalidAudio) as caught:
        probe(data, max_seconds=60)
    for word in [*words, HINT]:
        assert word in caught.value.message


def test_probe_rejects_an_m4a_cut_in_half() -> None:
    m4a = transcode(burst_wav(3.0), "m4a")
    with pytest.raises(InvalidAudio, match="not decodable"):
        probe(m4a[: len(m4a) // 2], max_seconds=60)


def test_probe_rejects_audio_longer_than_the_limit() -> None:
    with pytest.raises(InvalidAudio, match=r"is 20 s long; the limit is 10 s"):
        probe(burst_wav(20.0, rate=8000), max_seconds=10)
    assert probe(burst_wav(9.0, rate=8000), max_seconds=10).declared_seconds == pytest.approx(9.0)


# -- windows ----------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [16000, 44100, 22050, 8000])
@pytest.mark.parametrize(("seconds", "window_seconds"), [(95.0, 30.0), (100.0, 45.0), (61.3, 30.0)])
def test_windows_tile_the_recording(rate: int, seconds: float, window_seconds: float) -> None:
    spans = all_windows(burst_wav(seconds, rate), window_seconds=window_seconds)
    assert len(spans) >= 2
    limit = window_seconds * RATE
    assert all(0 < len(span.samples) <= limit for span in spans)
    assert all(span.samples.dtype == np.float32 and span.samples.ndim == 1 for span in spans)
    # Each window starts where the previous one ended, on the recording's own clock.
    assert spans[0].start == 0.0
    for previous, current in itertools.pairwise(spans):
        assert current.start == pytest.approx(previous.start + len(previous.samples) / RATE, abs=1e-9)
    total = sum(len(span.samples) for span in spans)
    assert abs(total - seconds * RATE) <= RATE * 0.02  # within one 20 ms frame
    # The tone survives decoding and resampling at its level.
    joined = np.concatenate([span.samples for span in spans])
    assert float(np.abs(joined).max()) == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize("rate", [16000, 44100])
def test_windows_cut_in_the_pauses(rate: int) -> None:
    spans = all_windows(burst_wav(125.0, rate), window_seconds=30.0)
    cuts = [span.start for span in spans[1:]]
    assert len(cuts) >= 4
    for cut in cuts:
        # The cut falls in a gap between bursts, not within 50 ms of a tone.
        phase = cut % PERIOD
        assert BURST + 0.05 <= phase <= PERIOD - 0.05, f"cut at {cut:.3f} s is inside a burst"
    for span in spans[:-1]:
        tail = span.samples[-RATE // 20 :]  # the last 50 ms before each cut
        assert float(np.sqrt(np.mean(np.square(tail)))) < 0.01


def test_short_recording_is_one_window_and_lossless_at_16k() -> None:
    signal = bursts(10.0, RATE)
    spans = all_windows(pcm_wav(signal, RATE), window_seconds=30.0)
    assert len(spans) == 1
    assert spans[0].start == 0.0
    assert len(spans[0].samples) == len(signal)
    np.testing.assert_allclose(spans[0].samples, np.round(np.clip(signal, -1, 1) * 32767) / 32768, atol=1e-4)


def test_stereo_is_mixed_to_mono() -> None:
    left = bursts(5.0, RATE)
    both = np.stack([left, np.zeros_like(left)], axis=1)
    sink = io.BytesIO()
    with wave.open(sink, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes((both * 32767).astype("<i2").tobytes())
    spans = all_windows(sink.getvalue(), window_seconds=30.0)
    assert len(spans) == 1
    assert len(spans[0].samples) == len(left)
    assert 0.2 < float(np.abs(spans[0].samples).max()) <= 0.55  # the silent channel is averaged in


def test_windows_refuse_audio_longer_than_the_limit() -> None:
    with pytest.raises(InvalidAudio, match="longer than the limit of 10 s"):
        all_windows(burst_wav(20.0, rate=8000), window_seconds=30.0, max_seconds=10)
    # The limit also holds when earlier windows were already handed out.
    spans = windows(burst_wav(95.0, rate=8000), rate=RATE, window_seconds=30.0, max_seconds=45)
    first = next(spans)
    assert len(first.samples) <= 30 * RATE
    with pytest.raises(InvalidAudio, match="limit of 45 s"):
        next(spans)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(bytes(range(256)) * 16, id="garbage"),
        pytest.param(b"Just some words in a text file.\n" * 20, id="text"),
        pytest.param(SUBTITLE_FILE, id="no-audio-stream"),
    ],
)
def test_windows_reject_what_is_not_audio(data: bytes) -> None:
    with pytest.raises(InvalidAudio):
        all_windows(data, window_seconds=30.0)


def test_window_limit_holds_for_the_resampler_tail() -> None:
    samples = bursts(30.0, 44100)
    samples = np.concatenate([samples, np.full(20, 0.1, dtype=np.float32)])
    spans = all_windows(pcm_wav(samples, 44100), window_seconds=30.0)
    assert sum(len(span.samples) for span in spans) > 30 * RATE
    assert all(len(span.samples) <= 30 * RATE for span in spans)


# -- subtitles --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


CUES = [
    Cue(0.0, 1.5, " Hello there."),
    Cue(3723.456, 3725.0, " It is a long recording.  "),
    Cue(59.9996, 61.25, "Carry into the next minute."),
]


def test_srt_numbering_and_comma_timestamps() -> None:
    assert srt(CUES) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n"
        "\n"
        "2\n01:02:03,456 --> 01:02:05,000\nIt is a long recording.\n"
        "\n"
        "3\n00:01:00,000 --> 00:01:01,250\nCarry into the next minute.\n"
    )


def test_vtt_header_and_dot_timestamps() -> None:
    assert vtt(CUES) == (
        "WEBVTT\n"
        "\n"
        "00:00:00.000 --> 00:00:01.500\nHello there.\n"
        "\n"
        "01:02:03.456 --> 01:02:05.000\nIt is a long recording.\n"
        "\n"
        "00:01:00.000 --> 00:01:01.250\nCarry into the next minute.\n"
    )


def test_subtitles_of_nothing_and_negative_times() -> None:
    assert srt([]) == ""
    assert vtt([]) == "WEBVTT\n\n"
    assert srt([Cue(-0.2, 0.0104, "x")]) == "1\n00:00:00,000 --> 00:00:00,010\nx\n"
