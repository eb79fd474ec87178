"""``GET /health``: 200 once the engines are loaded (the lifespan loads them before serving)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from shoal.api.deps import ServicesDep

router = APIRouter(tags=["Health"])


@router.get("/health", summary="Liveness and readiness")
async def health(services: ServicesDep) -> dict[str, Any]:
    return {
        "status": "ok",
        "engines": [
            {
                "name": engine.name,
                "sample_rate": engine.sample_rate,
                "voices": [voice.id for voice in engine.voices()],
                **asdict(engine.stats()),
            }
            for engine in services.engines
        ],
        "speech_models": [
            {"name": engine.name, "loaded": engine.loaded, **asdict(engine.stats())}
            for engine in services.transcriber.engines()
        ],
        "models": services.synthesizer.model_names(),
    }
