"""The ASGI application factory."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shoal import __version__
from shoal.api.errors import install_error_handlers
from shoal.api.files import router as files_router
from shoal.api.fish.asr import router as fish_asr_router
from shoal.api.fish.live import router as fish_live_router
from shoal.api.fish.model import router as fish_model_router
from shoal.api.fish.tts import router as fish_tts_router
from shoal.api.fish.wallet import router as fish_wallet_router
from shoal.api.health import router as health_router
from shoal.api.middleware import RequestContextMiddleware
from shoal.api.openai.chat import router as openai_chat_router
from shoal.api.openai.models import router as openai_models_router
from shoal.api.openai.run import router as openai_run_router
from shoal.api.openai.speech import router as openai_speech_router
from shoal.api.openai.transcriptions import router as openai_transcriptions_router
from shoal.api.platform.admin import router as admin_router
from shoal.api.platform.tasks import router as tasks_router
from shoal.api.platform.usage import router as usage_router
from shoal.api.platform.webhooks import router as webhooks_router
from shoal.api.proxy.tts import router as proxy_tts_router
from shoal.auth.keys import KeySpec, count_keys, create_key
from shoal.services import Services
from shoal.settings import Settings

log = logging.getLogger("shoal")


async def _bootstrap_key(services: Services) -> None:
    """On first start with an empty database, make one admin key and show it, once, on stdout."""
    if services.settings.bootstrap_key != "auto" or await count_keys(services.db) > 0:
        return
    key, secret = await create_key(
        services.db,
        KeySpec(name="default", tier="admin"),
        default_plan=services.settings.billing.default_plan,
    )
    print(
        "\nShoal created your first API key (shown only this once; `shoal keys create` makes more):\n"
        f"\n    {secret}\n",
        file=sys.stdout,
        flush=True,
    )
    log.info("created first API key %s (%s…)", key.id, key.prefix)


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """Build the app. ``services`` may be passed in (tests share one set of loaded engines)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        running = services if services is not None else await Services.start(settings)
        await _bootstrap_key(running)
        app.state.services = running
        try:
            yield
        finally:
            if owned:
                await running.close()

    app = FastAPI(
        title="Shoal",
        version=__version__,
        summary="Self-hosted speech API: Fish Audio- and OpenAI-compatible speech on local engines.",
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health_router)
    app.include_router(fish_tts_router)
    app.include_router(fish_asr_router)
    app.include_router(fish_live_router)
    app.include_router(fish_model_router)
    app.include_router(openai_transcriptions_router)
    app.include_router(openai_speech_router)
    app.include_router(openai_models_router)
    app.include_router(openai_run_router)
    app.include_router(proxy_tts_router)
    app.include_router(files_router)
    app.include_router(openai_chat_router)
    app.include_router(fish_wallet_router)
    app.include_router(usage_router)
    app.include_router(admin_router)
    app.include_router(webhooks_router)
    app.include_router(tasks_router)

    install_error_handlers(app)
    return app
