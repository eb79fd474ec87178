"""One output stream: loudness, gain and a continuous encoder, fed float samples at the output rate."""

from __future__ import annotations

import numpy as np

from shoal.audio import dsp
from shoal.audio.encode import open_encoder
from shoal.audio.types import AudioFormat


class AudioOutput:
    """Masters and encodes everything one response (or one live session) sends.

    Kept for the whole stream, so a live session's many turns share one loudness
    gain and one encoder: concatenated, its audio frames are one valid file.
    """

    def __init__(
        self,
        audio_format: AudioFormat,
        *,
        sample_rate: int,
        mp3_bitrate_kbps: int = 128,
        opus_bitrate_bps: int | None = None,
        loudness_target_lufs: float | None = None,
        volume_db: float = 0.0,
    ) -> None:
        self.sample_rate = sample_rate
        self._encoder = open_encoder(
            audio_format,
            sample_rate=sample_rate,
            mp3_bitrate_kbps=mp3_bitrate_kbps,
            opus_bitrate_bps=opus_bitrate_bps,
        )
        self._leveler = (
            dsp.LoudnessLeveler(sample_rate, loudness_target_lufs)
            if loudness_target_lufs is not None
            else None
        )
        self._volume = dsp.db_to_gain(volume_db)

    def write(self, samples: dsp.Float, *, last: bool = False) -> bytes:
        if self._leveler is not None:
            samples = self._leveler.process(samples, last=last)
        if self._volume != 1.0:
            samples = samples * self._volume
        return self._encoder.encode(dsp.to_pcm(samples)) if len(samples) else b""

    def drain(self) -> bytes:
        """Whatever the leveler still holds (a turn shorter than its measuring window)."""
        return self.write(np.empty(0, dtype=np.float32), last=True)

    def finish(self) -> bytes:
        return self.drain() + self._encoder.finish()
