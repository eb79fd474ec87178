"""The long-lived resources a running Shoal owns, built and closed by the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shoal.auth.cache import KeyCache
from shoal.billing.metering import Metering
from shoal.billing.wallet import Wallet
from shoal.engines.registry import EngineRegistry
from shoal.gateway.chat import ChatGateway
from shoal.gateway.routing import Router
from shoal.gateway.speech import UpstreamSpeech
from shoal.limits.base import Limiter
from shoal.limits.keeper import LeaseKeeper
from shoal.limits.memory import MemoryLimiter
from shoal.pipeline.synthesize import Synthesizer
from shoal.pipeline.transcribe import Transcriber
from shoal.settings import Settings
from shoal.storage.blobs import BlobStore, open_blob_store, purge_forever
from shoal.storage.db.database import Database, open_database
from shoal.tasks.queue import TaskQueue
from shoal.voices.builtin import BUILTIN_VOICES
from shoal.voices.catalog import VoiceCatalog
from shoal.voices.models import ensure_builtin_voices

if TYPE_CHECKING:
    from shoal.tasks.worker import TaskWorker
from shoal.storage.links import FileLinks, open_file_links


async def open_limiter(settings: Settings) -> Limiter:
    """Redis when ``redis_url`` is set (shared by replicas), otherwise in-process."""
    if settings.redis_url is None:
        return MemoryLimiter()
    from shoal.limits.redis import RedisLimiter

    limiter = RedisLimiter(settings.redis_url)
    try:
        await limiter.ping()
    except BaseException:
        await limiter.close()
        raise
    return limiter


@dataclass
class Services:
    settings: Settings
    db: Database
    engines: EngineRegistry
    synthesizer: Synthesizer
    transcriber: Transcriber
    limiter: Limiter
    leases: LeaseKeeper
    metering: Metering
    key_cache: KeyCache
    router: Router
    chat: ChatGateway
    upstream_speech: UpstreamSpeech
    blobs: BlobStore
    file_links: FileLinks
    tasks: TaskQueue
    voices: VoiceCatalog
    worker: TaskWorker | None = None
    delivery_wake: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a task with a callback finishes here, so its callback goes out at once."""
    key_last_touched: dict[str, float] = field(default_factory=dict)
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(cls, settings: Settings) -> Services:
        async with contextlib.AsyncExitStack() as stack:
            db = await open_database(settings.db_url)
            stack.push_async_callback(db.dispose)
            await ensure_builtin_voices(db, BUILTIN_VOICES)
            limiter = await open_limiter(settings)
            stack.push_async_callback(limiter.close)
            engines = EngineRegistry.from_settings(settings)
            stack.push_async_callback(engines.close)
            local_chat: dict[str, str] = {}
            if any(d.engine == "llama" for chat in settings.chat.models.values() for d in chat.deployments):
                from shoal.engines.llama import LlamaServer

                llama = LlamaServer(settings.engines.llama, settings.data_dir / "models")
                stack.push_async_callback(llama.close)
                await llama.start()
                local_chat["llama"] = llama.base_url
            router = Router(settings, local_chat)
            stack.push_async_callback(router.close)
            transcriber = Transcriber(settings.stt, models_dir=settings.data_dir / "models", router=router)
            stack.push_async_callback(transcriber.close)
            await engines.start()
            await transcriber.start()
            billing = settings.billing
            services = cls(
                settings=settings,
                db=db,
                engines=engines,
                synthesizer=Synthesizer(engines, settings.tts),
                transcriber=transcriber,
                limiter=limiter,
                leases=LeaseKeeper(limiter, billing.lease_ttl_seconds),
                metering=Metering(Wallet(db, hold_ttl_seconds=billing.hold_ttl_seconds), billing),
                key_cache=KeyCache(settings.server.key_cache_seconds),
                router=router,
                chat=ChatGateway(router, settings.chat),
                upstream_speech=UpstreamSpeech(router),
                blobs=open_blob_store(settings, db),
                file_links=await open_file_links(db, settings.server.public_url),
                tasks=TaskQueue(db),
                voices=VoiceCatalog(db, engines),
            )
            services.synthesizer.voices = services.voices
            sweep_every = min(60.0, billing.hold_ttl_seconds / 3)  # renewals must beat the expiry
            services._background.append(asyncio.create_task(services.metering.sweep_forever(sweep_every)))
            if settings.tasks.workers:
                services.start_worker(settings.tasks.workers)
            services.start_deliveries()
            purge_every = min(600.0, settings.blobs.retention_seconds / 4)
            services._background.append(asyncio.create_task(purge_forever(services.blobs, purge_every)))
            stack.pop_all()
            return services
        raise AssertionError("unreachable")  # pragma: no cover

    def start_deliveries(self) -> None:
        """Deliver finished tasks' callbacks from this process (every replica does; claims keep
        each delivery to one of them)."""
        from shoal.tasks.delivery import deliver_forever
        from shoal.tasks.worker import process_id

        self._background.append(
            asyncio.create_task(
                deliver_forever(self.db, self.settings.tasks, owner=process_id(), wake=self.delivery_wake)
            )
        )

    def start_worker(self, concurrency: int) -> None:
        """Run queued tasks in this process, ``concurrency`` at a time."""
        from shoal.tasks.worker import TaskWorker

        self.worker = TaskWorker(self, self.tasks, self.settings.tasks)
        self._background.append(asyncio.create_task(self.worker.run_forever(concurrency)))

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.leases.close()
        await self.engines.close()
        await self.transcriber.close()
        await self.limiter.close()
        await self.router.close()
        await self.db.dispose()
