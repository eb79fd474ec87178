"""How long an encoded piece of audio plays, measured from the audio itself (not estimated from text)."""

from __future__ import annotations

import io

import av

from shoal.errors import EngineFailed

_PCM_BYTES_PER_SAMPLE = 2  # mono s16le, what Shoal's ``pcm`` format is


def audio_seconds(data: bytes, audio_format: str, sample_rate: int) -> float:
    """Seconds of audio in ``data``: decoded samples over their rate (headerless PCM by its size).

    Decoding rather than trusting container headers: a streamed WAV or MP3 declares no length,
    and Ogg Opus's pre-skip must not count. It runs at hundreds of times real time.
    """
    if audio_format == "pcm":
        return len(data) / _PCM_BYTES_PER_SAMPLE / sample_rate
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.audio[0]
            samples = 0
            rate = stream.codec_context.sample_rate or sample_rate
            for frame in container.decode(stream):
                samples += frame.samples
                rate = frame.sample_rate or rate
    except (av.error.FFmpegError, IndexError, ValueError) as error:
        raise EngineFailed(f"the synthesized {audio_format} audio could not be measured: {error}") from error
    return samples / rate if rate else 0.0
