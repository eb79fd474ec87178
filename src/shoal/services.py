"""The long-lived resources a running Shoal owns, built and closed by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from shoal.billing.usage import MemoryUsageRecorder, UsageRecorder
from shoal.engines.registry import EngineRegistry
from shoal.pipeline.synthesize import Synthesizer
from shoal.pipeline.transcribe import Transcriber
from shoal.settings import Settings


@dataclass
class Services:
    settings: Settings
    db: Engine
    engines: EngineRegistry
    synthesizer: Synthesizer
    transcriber: Transcriber
    usage: UsageRecorder
    key_last_touched: dict[str, float] = field(default_factory=dict)

    @classmethod
    async def start(cls, settings: Settings) -> Services:
        from shoal.storage.db.database import open_database

        db = open_database(settings.database_url)
        usage = MemoryUsageRecorder()
        engines = EngineRegistry.from_settings(settings)
        transcriber = Transcriber(settings.stt, models_dir=settings.data_dir / "models", usage=usage)
        try:
            await engines.start()
            await transcriber.start()
        except BaseException:
            await engines.close()
            await transcriber.close()
            db.dispose()
            raise
        return cls(settings, db, engines, Synthesizer(engines, settings.tts, usage), transcriber, usage)

    async def close(self) -> None:
        await self.engines.close()
        await self.transcriber.close()
        self.db.dispose()
