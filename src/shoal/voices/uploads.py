"""Uploaded voice clips and cover images: what they are and whether they will do.

A clip must decode and hold 1 s to 5 min of audio that is not silence; its length is what the
decoder finds, not what the container claims. A cover must be a PNG, JPEG, GIF or WebP image.
Breaking a rule raises ``VoiceModelRejected`` naming the field, which the ``/model`` routes
answer with 422.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shoal.audio.decode import probe, windows
from shoal.errors import InvalidAudio, InvalidRequest

MIN_CLIP_SECONDS = 1.0
MAX_CLIP_SECONDS = 300.0
_MEASURE_RATE = 16000
_SILENCE_PEAK = 10 ** (-60 / 20)
"""A clip whose loudest sample stays under -60 dBFS holds nothing to learn a voice from."""
_CONTAINER_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "mov,mp4,m4a,3gp,3g2,mj2": "audio/mp4",
    "matroska,webm": "audio/webm",
}
_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class VoiceModelRejected(InvalidRequest):
    """A well-formed request whose content breaks a rule (a clip too short, a public model without
    a cover …). The ``/model`` routes answer it with 422 and this message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class CheckedClip:
    """An uploaded clip that decodes and holds between 1 s and 5 min of audio."""

    data: bytes
    content_type: str
    seconds: float


def check_clip(data: bytes, index: int) -> CheckedClip:
    """Decode the whole clip (blocking; run it in a thread) and apply the length rules.

    The decoded length is what counts, not the container's claim: streamed WAVs and MP3s
    without a header state none or a wrong one. Decoding stops just past the limit.
    """
    field = f"voices[{index}]"
    try:
        info = probe(data, max_seconds=math.inf)
        samples = 0
        peak = 0.0
        for window in windows(data, rate=_MEASURE_RATE, window_seconds=60.0, max_seconds=MAX_CLIP_SECONDS):
            samples += len(window.samples)
            if len(window.samples):
                peak = max(peak, float(np.max(np.abs(window.samples))))
    except InvalidAudio as error:
        raise VoiceModelRejected(field, f"{field}: {error.message}") from None
    seconds = samples / _MEASURE_RATE
    if seconds < MIN_CLIP_SECONDS:
        raise VoiceModelRejected(
            field,
            f"{field}: the clip holds {seconds:.2f} s of audio; each clip needs at least "
            f"{MIN_CLIP_SECONDS:.0f} s (and at most {MAX_CLIP_SECONDS:.0f} s)",
        )
    if peak < _SILENCE_PEAK:
        raise VoiceModelRejected(field, f"{field}: the clip is silent; record someone speaking")
    content_type = _CONTAINER_TYPES.get(info.container, "application/octet-stream")
    return CheckedClip(data, content_type, seconds)


def image_type(data: bytes) -> str | None:
    """The MIME type of a PNG, JPEG, GIF or WebP image, from its first bytes; None for anything else."""
    for magic, content_type in _IMAGE_TYPES:
        if data.startswith(magic):
            return content_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
