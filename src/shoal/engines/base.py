"""The engine protocol: text chunks in, PCM chunks out.

An engine turns one short, already-cleaned piece of text in one language into
mono int16 PCM at its own sample rate. Everything else — markup, chunking,
resampling, encoding, billing — happens outside it, so an engine plugin only
imports this module, ``shoal.errors`` and ``shoal.audio.types``.

Local engines do blocking work (onnxruntime, espeak) and derive from
``BlockingEngine``, which runs that work on the engine's own worker thread and
bounds how many requests may wait for it. Upstream engines implement
``synthesize`` natively with async I/O.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from shoal.errors import EngineBusy

Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class Voice:
    """A voice an engine can speak with."""

    id: str
    name: str
    languages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SynthesisRequest:
    """One chunk of plain text to speak.

    ``speed`` is a tempo factor (2.0 = twice as fast) that engines apply without
    changing pitch. ``voice`` is one of the engine's voice ids, or None for its
    default.
    """

    text: str
    language: str
    voice: str | None = None
    speed: float = 1.0


@runtime_checkable
class TTSEngine(Protocol):
    """What the pipeline needs from a text-to-speech engine."""

    name: str
    sample_rate: int

    def languages(self) -> frozenset[str]:
        """ISO 639-1 codes this engine speaks well; ``"*"`` means any language."""
        ...

    def voices(self) -> list[Voice]: ...

    async def start(self) -> None:
        """Load models. Called once by the app's lifespan before serving."""
        ...

    async def close(self) -> None: ...

    def admit(self) -> AdmissionTicket:
        """Reserve a place in the engine's queue for one request, or raise EngineBusy."""
        ...

    def stats(self) -> EngineStats: ...

    def synthesize(self, request: SynthesisRequest) -> AsyncIterator[Pcm]:
        """Speak one chunk; yields PCM pieces as they are ready."""
        ...


@dataclass(frozen=True, slots=True)
class EngineStats:
    """What /health shows about an engine."""

    admitted: int
    """Requests holding a place in the queue right now."""
    capacity: int
    pieces: int
    """Audio pieces synthesized since start."""


class AdmissionTicket:
    """A place in an engine's queue, held for the length of one request."""

    def __init__(self, release: Callable[[], None] | None) -> None:
        self._release = release

    def release(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None

    def __enter__(self) -> AdmissionTicket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class BlockingEngine:
    """Base for engines whose inference blocks: one worker thread, a bounded queue.

    Subclasses implement ``load`` and ``synthesize_blocking``. Work is serialised
    on one thread so a model is never called concurrently (onnxruntime already
    uses every core for one call) and requests are served first come, first served.
    """

    name: str = "blocking"
    sample_rate: int = 22050

    def __init__(self, *, max_queue: int = 16, retry_after: float = 1.0) -> None:
        self._capacity = max_queue
        self._admitted = 0
        self._pieces = 0
        self._lock = threading.Lock()
        self.retry_after = retry_after
        self._executor: ThreadPoolExecutor | None = None

    # -- to implement -------------------------------------------------------
    def load(self) -> None:
        raise NotImplementedError

    def synthesize_blocking(self, request: SynthesisRequest) -> Iterator[Pcm]:
        raise NotImplementedError

    def languages(self) -> frozenset[str]:
        raise NotImplementedError

    def voices(self) -> list[Voice]:
        raise NotImplementedError

    # -- provided -----------------------------------------------------------
    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"engine-{self.name}")
        await asyncio.get_running_loop().run_in_executor(self._executor, self.load)

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def admit(self) -> AdmissionTicket:
        with self._lock:
            if self._admitted >= self._capacity:
                raise EngineBusy(self.name, retry_after=self.retry_after)
            self._admitted += 1
        return AdmissionTicket(self._leave)

    def _leave(self) -> None:
        with self._lock:
            self._admitted -= 1

    def stats(self) -> EngineStats:
        return EngineStats(admitted=self._admitted, capacity=self._capacity, pieces=self._pieces)

    async def synthesize(self, request: SynthesisRequest) -> AsyncIterator[Pcm]:
        """Run ``synthesize_blocking`` on the worker thread, one piece at a time.

        Each piece is fetched with a separate executor call, so a consumer that
        stops iterating (client gone, request cancelled) stops the work after the
        piece in progress instead of the whole chunk.
        """
        executor = self._executor
        if executor is None:
            raise RuntimeError(f"engine {self.name!r} used before start()")
        loop = asyncio.get_running_loop()
        pieces = self.synthesize_blocking(request)
        sentinel: Pcm = np.empty(0, dtype=np.int16)
        try:
            while True:
                piece = await loop.run_in_executor(executor, next, pieces, sentinel)
                if piece is sentinel:
                    return
                self._pieces += 1
                yield piece
        finally:
            close = getattr(pieces, "close", None)
            if close is not None and self._executor is executor:
                executor.submit(close)
