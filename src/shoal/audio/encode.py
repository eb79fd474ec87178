"""Streaming encoders: one continuous encoder per response.

Each encoder takes PCM as it is synthesized and returns whatever encoded bytes are
ready, so audio leaves while later chunks are still being spoken. Never one file per
chunk: per-chunk files are what causes clicks and gaps in other servers.
"""

from __future__ import annotations

import io
import struct
from typing import Protocol, cast

import av
import lameenc
from av.audio.stream import AudioStream

from shoal.audio.types import AudioFormat, Pcm

_UNKNOWN_SIZE = 0xFFFFFFFF


class StreamEncoder(Protocol):
    def encode(self, pcm: Pcm) -> bytes: ...

    def finish(self) -> bytes: ...


def wav_header(sample_rate: int, data_bytes: int | None = None) -> bytes:
    """A 44-byte PCM WAV header; sizes are 0xFFFFFFFF when the length is not known yet."""
    data_size = _UNKNOWN_SIZE if data_bytes is None else data_bytes
    riff_size = _UNKNOWN_SIZE if data_bytes is None else 36 + data_bytes
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", riff_size, b"WAVE", b"fmt ", 16, 1, 1,
        sample_rate, sample_rate * 2, 2, 16, b"data", data_size,
    )  # fmt: skip


class PcmEncoder:
    """Headerless signed 16-bit little-endian mono."""

    def encode(self, pcm: Pcm) -> bytes:
        return pcm.astype("<i2", copy=False).tobytes()

    def finish(self) -> bytes:
        return b""


class WavEncoder(PcmEncoder):
    """A streamed WAV: the header (sizes unknown) goes out with the first samples."""

    def __init__(self, sample_rate: int) -> None:
        self._header: bytes | None = wav_header(sample_rate)

    def encode(self, pcm: Pcm) -> bytes:
        data = super().encode(pcm)
        if self._header is not None and data:
            data, self._header = self._header + data, None
        return data

    def finish(self) -> bytes:
        header, self._header = self._header, None
        return header or b""


class Mp3Encoder:
    """MP3 via LAME (lameenc), constant bitrate, mono."""

    def __init__(self, sample_rate: int, bitrate_kbps: int, quality: int = 7) -> None:
        self._lame = lameenc.Encoder()
        self._lame.set_bit_rate(bitrate_kbps)
        self._lame.set_in_sample_rate(sample_rate)
        self._lame.set_channels(1)
        self._lame.set_quality(quality)

    def encode(self, pcm: Pcm) -> bytes:
        return bytes(self._lame.encode(pcm.astype("<i2", copy=False).tobytes()))

    def finish(self) -> bytes:
        return bytes(self._lame.flush())


class _Sink(io.RawIOBase):
    """A write-only file that hands out what was written since the last ``take``."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class ContainerEncoder:
    """A PyAV (FFmpeg) codec in a streamable container, written out as packets are muxed.

    PyAV converts the s16 frames to what the codec takes (AAC wants planar float in
    1024-sample frames).
    """

    def __init__(
        self, container: str, codec: str, sample_rate: int, *, bit_rate: int | None = None,
        options: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self._sink = _Sink()
        self._container = av.open(self._sink, mode="w", format=container, options=options or {})
        self._stream = cast(AudioStream, self._container.add_stream(codec, rate=sample_rate, layout="mono"))
        if bit_rate is not None:
            self._stream.bit_rate = bit_rate
        self._rate = sample_rate
        self._pts = 0

    def encode(self, pcm: Pcm) -> bytes:
        if len(pcm):
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = self._rate
            frame.pts = self._pts
            self._pts += len(pcm)
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        return self._sink.take()

    def finish(self) -> bytes:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return self._sink.take()


def opus_encoder(sample_rate: int, bitrate_bps: int | None) -> ContainerEncoder:
    """Opus in Ogg (what fish-speech serves as ``audio/ogg``); short pages so audio leaves as encoded."""
    options = {"page_duration": "20000", "flush_packets": "1"}
    return ContainerEncoder("ogg", "libopus", sample_rate, bit_rate=bitrate_bps, options=options)


def open_encoder(
    audio_format: AudioFormat,
    *,
    sample_rate: int,
    mp3_bitrate_kbps: int = 128,
    opus_bitrate_bps: int | None = None,
) -> StreamEncoder:
    if audio_format == "wav":
        return WavEncoder(sample_rate)
    if audio_format == "pcm":
        return PcmEncoder()
    if audio_format == "mp3":
        return Mp3Encoder(sample_rate, mp3_bitrate_kbps)
    if audio_format == "flac":
        return ContainerEncoder("flac", "flac", sample_rate, options={"flush_packets": "1"})
    if audio_format == "aac":
        # ADTS: AAC frames that stream and play without a seekable MP4 index.
        return ContainerEncoder("adts", "aac", sample_rate, bit_rate=96_000, options={"flush_packets": "1"})
    return opus_encoder(sample_rate, opus_bitrate_bps)
