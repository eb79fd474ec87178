"""The long-lived resources a running Shoal owns, built and closed by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from shoal.engines.registry import EngineRegistry
from shoal.pipeline.synthesize import Synthesizer
from shoal.settings import Settings


@dataclass
class Services:
    settings: Settings
    db: Engine
    engines: EngineRegistry
    synthesizer: Synthesizer
    key_last_touched: dict[str, float] = field(default_factory=dict)

    @classmethod
    async def start(cls, settings: Settings) -> Services:
        from shoal.storage.db.database import open_database

        db = open_database(settings.database_url)
        engines = EngineRegistry.from_settings(settings)
        try:
            await engines.start()
        except BaseException:
            db.dispose()
            raise
        return cls(settings, db, engines, Synthesizer(engines, settings.tts))

    async def close(self) -> None:
        await self.engines.close()
        self.db.dispose()
