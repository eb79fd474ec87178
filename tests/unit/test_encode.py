from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
import pytest

from shoal.audio.encode import StreamEncoder, open_encoder, wav_header
from shoal.audio.types import AudioFormat

SECONDS = 1.5
TONE_HZ = 220.0
TOLERANCE_S = 0.060
# LAME adds 576 + 529 samples of encoder delay, then pads the end to a whole frame
# (1152 samples from 32 kHz up, 576 below); a plain decoder keeps both.
LAME_DELAY_SAMPLES = 576 + 529


def sine(rate: int, seconds: float = SECONDS) -> npt.NDArray[np.int16]:
    t = np.arange(round(rate * seconds)) / rate
    return np.round(0.5 * 32767 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)


def feed(encoder: StreamEncoder, pcm: npt.NDArray[np.int16], rate: int) -> tuple[list[bytes], bytes]:
    """Encode ``pcm`` in ~0.1 s pieces; the bytes each piece returned, and those of ``finish``."""
    step = rate // 10
    pieces = [encoder.encode(pcm[start : start + step]) for start in range(0, len(pcm), step)]
    return pieces, encoder.finish()


@dataclass
class Decoded:
    container: str
    codec: str
    rate: int
    channels: int
    samples: npt.NDArray[np.float64]

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


def decode(data: bytes) -> Decoded:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        context = stream.codec_context
        frames = [frame.to_ndarray() for frame in container.decode(stream)]
        samples = np.concatenate([frame.reshape(-1) for frame in frames]).astype(np.float64)
        if np.abs(samples).max() > 2.0:  # integer sample formats
            samples /= 32768.0
        return Decoded(
            container.format.name, context.name, context.sample_rate, context.layout.nb_channels, samples
        )


def dominant_hz(samples: npt.NDArray[np.float64], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


CASES = [
    *[
        pytest.param("wav", rate, "wav", "pcm_s16le", rate, id=f"wav-{rate}")
        for rate in (8000, 16000, 22050, 44100, 48000)
    ],
    *[
        pytest.param("mp3", rate, "mp3", "mp3", rate, id=f"mp3-{rate}")
        for rate in (8000, 16000, 22050, 24000, 44100, 48000)
    ],
    *[
        pytest.param("opus", rate, "ogg", "opus", 48000, id=f"opus-{rate}")
        for rate in (8000, 12000, 16000, 24000, 48000)
    ],
    *[pytest.param("flac", rate, "flac", "flac", rate, id=f"flac-{rate}") for rate in (16000, 24000, 44100)],
    *[pytest.param("aac", rate, "aac", "aac", rate, id=f"aac-{rate}") for rate in (16000, 24000, 44100)],
]


@pytest.mark.parametrize(("audio_format", "rate", "container", "codec", "decoded_rate"), CASES)
def test_streamed_output_decodes(
    audio_format: AudioFormat, rate: int, container: str, codec: str, decoded_rate: int
) -> None:
    pieces, tail = feed(open_encoder(audio_format, sample_rate=rate), sine(rate), rate)
    decoded = decode(b"".join(pieces) + tail)

    assert decoded.container == container
    assert decoded.codec.startswith(codec)  # PyAV decodes MP3 with "mp3float"
    assert decoded.rate == decoded_rate
    assert decoded.channels == 1

    slack = TOLERANCE_S
    if audio_format == "aac":
        slack += 2048 / rate  # the encoder's priming samples and its last, padded frame
    if audio_format == "mp3":
        frame = 1152 if rate >= 32000 else 576
        slack += (LAME_DELAY_SAMPLES + frame) / rate
    assert SECONDS - TOLERANCE_S <= decoded.duration <= SECONDS + slack

    # Still the same tone at the same loudness: a wrong rate would shift its pitch.
    assert dominant_hz(decoded.samples, decoded.rate) == pytest.approx(TONE_HZ, abs=3)
    rms = float(np.sqrt(np.mean(np.square(decoded.samples))))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.15)


@pytest.mark.parametrize(
    ("audio_format", "rate"),
    [("mp3", 8000), ("mp3", 24000), ("mp3", 44100), ("opus", 8000), ("opus", 24000), ("opus", 48000),
     ("flac", 24000), ("aac", 24000)],
)  # fmt: skip
def test_compressed_formats_stream_before_finish(audio_format: AudioFormat, rate: int) -> None:
    pieces, tail = feed(open_encoder(audio_format, sample_rate=rate), sine(rate), rate)
    total = sum(map(len, pieces)) + len(tail)
    half = len(pieces) // 2
    # Bytes come out while audio goes in, not all at the end.
    assert sum(map(len, pieces[:half])) > total // 4
    assert sum(map(len, pieces)) > total // 2
    assert sum(1 for piece in pieces[1:] if piece) >= (len(pieces) - 1) * 2 // 3


@pytest.mark.parametrize(
    ("audio_format", "option", "low", "high"),
    [("mp3", "mp3_bitrate_kbps", 64, 160), ("opus", "opus_bitrate_bps", 16_000, 96_000)],
)
def test_bitrate_option(audio_format: AudioFormat, option: str, low: int, high: int) -> None:
    rate = 24000
    sizes = []
    for bitrate in (low, high):
        pieces, tail = feed(
            open_encoder(audio_format, sample_rate=rate, **{option: bitrate}), sine(rate), rate
        )
        data = b"".join(pieces) + tail
        assert decode(data).duration >= SECONDS - TOLERANCE_S
        sizes.append(len(data))
    assert sizes[1] > 2 * sizes[0]


# --------------------------------------------------------------------------- WAV

HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_streamed_wav_header_has_unknown_sizes(rate: int) -> None:
    pcm = sine(rate)
    pieces, tail = feed(open_encoder("wav", sample_rate=rate), pcm, rate)
    data = b"".join(pieces) + tail
    fields = HEADER.unpack(data[:44])
    assert fields == (
        b"RIFF",
        0xFFFFFFFF,
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        rate,
        rate * 2,
        2,
        16,
        b"data",
        0xFFFFFFFF,
    )
    # The header goes out with the first samples, once; the rest is the samples as they are.
    assert pieces[0][:44] == data[:44]
    assert data[44:] == pcm.astype("<i2").tobytes()
    assert tail == b""


def test_wav_header_is_sent_even_without_samples() -> None:
    encoder = open_encoder("wav", sample_rate=16000)
    assert encoder.encode(np.zeros(0, dtype=np.int16)) == b""
    data = encoder.finish()
    assert data == wav_header(16000)
    assert len(data) == 44


def test_wav_header_is_not_repeated_by_finish() -> None:
    encoder = open_encoder("wav", sample_rate=16000)
    first = encoder.encode(sine(16000, 0.1))
    assert first.startswith(b"RIFF")
    assert encoder.finish() == b""


@pytest.mark.parametrize(("rate", "samples"), [(8000, 0), (16000, 1), (22050, 33075), (48000, 48000)])
def test_wav_header_with_known_size(rate: int, samples: int) -> None:
    data_bytes = samples * 2
    header = wav_header(rate, data_bytes)
    assert len(header) == 44
    fields = HEADER.unpack(header)
    assert fields[1] == 36 + data_bytes
    assert fields[12] == data_bytes

    pcm = sine(rate, samples / rate)[:samples]
    with wave.open(io.BytesIO(header + pcm.astype("<i2").tobytes())) as reader:
        assert reader.getnchannels() == 1
        assert reader.getsampwidth() == 2
        assert reader.getframerate() == rate
        assert reader.getnframes() == samples
        assert reader.readframes(samples) == pcm.astype("<i2").tobytes()


def test_wav_header_without_size_is_unknown() -> None:
    fields = HEADER.unpack(wav_header(24000))
    assert fields[1] == 0xFFFFFFFF
    assert fields[12] == 0xFFFFFFFF
    assert fields[7] == 24000


# --------------------------------------------------------------------------- PCM


def test_pcm_is_raw_little_endian() -> None:
    encoder = open_encoder("pcm", sample_rate=44100)
    assert encoder.encode(np.array([1, -2, 256, -32768, 32767], dtype=np.int16)) == (
        b"\x01\x00\xfe\xff\x00\x01\x00\x80\xff\x7f"
    )
    assert encoder.finish() == b""


def test_pcm_from_big_endian_samples_is_still_little_endian() -> None:
    values = np.array([1, -2, 256, 12345], dtype=">i2")
    data = open_encoder("pcm", sample_rate=16000).encode(values)
    assert data == b"\x01\x00\xfe\xff\x00\x01\x39\x30"


@pytest.mark.parametrize("rate", [8000, 44100])
def test_streamed_pcm_is_the_samples(rate: int) -> None:
    pcm = sine(rate)
    pieces, tail = feed(open_encoder("pcm", sample_rate=rate), pcm, rate)
    assert tail == b""
    assert all(pieces)
    assert np.array_equal(np.frombuffer(b"".join(pieces), dtype="<i2"), pcm)
