"""Engines by name, built from settings, started and closed by the app's lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from shoal.engines.base import TTSEngine, Voice
from shoal.settings import Settings


def _piper(settings: Settings) -> TTSEngine:
    from shoal.engines.piper import PiperEngine

    config = settings.engines.piper
    return PiperEngine(
        model_path=config.model_path,
        config_path=config.config_path,
        voice_id=config.voice_id,
        max_queue=config.max_queue,
        noise_scale=config.noise_scale,
        noise_w_scale=config.noise_w_scale,
    )


def _espeak(settings: Settings) -> TTSEngine:
    from shoal.engines.espeak import EspeakEngine

    config = settings.engines.espeak
    return EspeakEngine(max_queue=config.max_queue, rate_wpm=config.rate_wpm)


FACTORIES: dict[str, Callable[[Settings], TTSEngine]] = {"piper": _piper, "espeak": _espeak}
"""Engine name → constructor. Importing the engine's module is deferred to construction."""


def wanted_engines(settings: Settings) -> list[str]:
    names = {route.engine for route in settings.tts.models.values()}
    if (settings.tts.fallback_engine and settings.engines.espeak.enabled) or (
        settings.tts.fallback_engine and settings.tts.fallback_engine != "espeak"
    ):
        names.add(settings.tts.fallback_engine)
    unknown = names - FACTORIES.keys()
    if unknown:
        raise ValueError(f"unknown engine(s) in configuration: {sorted(unknown)}; known: {sorted(FACTORIES)}")
    return sorted(names)


class EngineRegistry:
    """The running engines, and where each voice lives."""

    def __init__(self, engines: dict[str, TTSEngine]) -> None:
        self._engines = engines

    @classmethod
    def from_settings(cls, settings: Settings, names: list[str] | None = None) -> EngineRegistry:
        return cls({name: FACTORIES[name](settings) for name in (names or wanted_engines(settings))})

    async def start(self) -> None:
        await asyncio.gather(*(engine.start() for engine in self._engines.values()))

    async def close(self) -> None:
        await asyncio.gather(*(engine.close() for engine in self._engines.values()))

    def get(self, name: str) -> TTSEngine | None:
        return self._engines.get(name)

    def __iter__(self) -> Iterator[TTSEngine]:
        return iter(self._engines.values())

    def find_voice(self, voice_id: str) -> tuple[TTSEngine, Voice] | None:
        for engine in self._engines.values():
            for voice in engine.voices():
                if voice.id == voice_id:
                    return engine, voice
        return None
