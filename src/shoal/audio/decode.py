"""Decoding uploads: any container PyAV (FFmpeg) reads, to 16 kHz mono float32, in windows.

Long recordings are never held whole: ``windows`` yields consecutive spans of at most
``window_seconds``, each cut at the quietest moment near its end so no word is split,
and reports where each span starts on the recording's own clock.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

from shoal.audio.dsp import Float
from shoal.errors import InvalidAudio

_FORMATS_HINT = "send wav, mp3, ogg/opus, flac, m4a/aac or webm"
_CUT_SEARCH_SECONDS = 10.0
_CUT_FRAME_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class AudioInfo:
    codec: str
    container: str
    declared_seconds: float | None
    """The container's own duration, when it states one."""


@dataclass(frozen=True, slots=True)
class Window:
    start: float
    """Seconds from the start of the recording."""
    samples: Float


def probe(data: bytes, *, max_seconds: float) -> AudioInfo:
    """Check that ``data`` is audio Shoal can decode, before any work is queued."""
    if not data:
        raise InvalidAudio(f"the audio upload is empty; {_FORMATS_HINT}")
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise InvalidAudio(f"the upload contains no audio stream; {_FORMATS_HINT}")
            stream = container.streams.audio[0]
            declared = float(container.duration) / av.time_base if container.duration else None
            codec = stream.codec_context.name
            # Decode a little: a valid header with garbage after it must fail now, not mid-response.
            samples = sum(frame.samples for _, frame in zip(range(3), container.decode(stream), strict=False))
            if samples == 0:
                raise InvalidAudio(f"the upload holds no audio samples; {_FORMATS_HINT}")
            info = AudioInfo(codec=codec, container=container.format.name, declared_seconds=declared)
    except InvalidAudio:
        raise
    except (av.error.FFmpegError, ValueError, IndexError) as error:
        raise InvalidAudio(f"the upload is not decodable audio ({error}); {_FORMATS_HINT}") from None
    if declared is not None and declared > max_seconds:
        raise InvalidAudio(f"the audio is {declared:.0f} s long; the limit is {max_seconds:.0f} s")
    return info


def _quietest_cut(samples: Float, rate: int) -> int:
    """Index of the quietest 100 ms near the end (last 10 s, at most the second half): a pause."""
    frame = int(rate * _CUT_FRAME_SECONDS)
    search_length = min(int(rate * _CUT_SEARCH_SECONDS), len(samples) // 2)
    search_length -= search_length % frame
    if search_length < frame:
        return len(samples)
    search = samples[len(samples) - search_length :]
    energy = np.square(search.reshape(-1, frame)).mean(axis=1)
    quietest = len(energy) - 1 - int(np.argmin(energy[::-1]))  # the latest of equally quiet frames
    return len(samples) - search_length + quietest * frame + frame // 2


def _resampled(data: bytes, rate: int) -> Iterator[Float]:
    """The recording's first audio stream as float32 mono pieces at ``rate``."""
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.audio:
            raise InvalidAudio(f"the upload contains no audio stream; {_FORMATS_HINT}")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)


def windows(data: bytes, *, rate: int = 16000, window_seconds: float, max_seconds: float) -> Iterator[Window]:
    """Consecutive spans of the recording, resampled to ``rate`` mono, at most ``window_seconds`` long."""
    limit = int(window_seconds * rate)
    pending: list[Float] = []
    pending_len = 0
    start = 0

    def cut_windows(final: bool) -> Iterator[Window]:
        nonlocal pending, pending_len, start
        while pending_len > limit or (final and pending_len):
            buffered = np.concatenate(pending)
            cut = _quietest_cut(buffered[:limit], rate) if len(buffered) > limit else len(buffered)
            yield Window(start / rate, buffered[:cut])
            start += cut
            pending, pending_len = [buffered[cut:]], len(buffered) - cut

    try:
        for piece in _resampled(data, rate):
            pending.append(piece)
            pending_len += len(piece)
            if start + pending_len > max_seconds * rate:
                raise InvalidAudio(f"the audio is longer than the limit of {max_seconds:.0f} s")
            yield from cut_windows(final=False)
    except InvalidAudio:
        raise
    except (av.error.FFmpegError, ValueError) as error:
        raise InvalidAudio(f"the audio could not be decoded past {start / rate:.1f} s ({error})") from None
    yield from cut_windows(final=True)
