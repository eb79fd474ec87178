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

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from shoal.audio.types import Pcm
from shoal.engines.worker import AdmissionTicket, Deadline, EngineStats, Worker

__all__ = [
    "AdmissionTicket",
    "BlockingEngine",
    "EngineStats",
    "Pcm",
    "SynthesisRequest",
    "TTSEngine",
    "Voice",
]


@dataclass(frozen=True, slots=True)
class Voice:
    """A voice an engine can speak with."""

    id: str
    name: str
    languages: tuple[str, ...]
    matchable: bool = True
    """Whether voice matching may use it as a base: a neural voice can be moved toward a
    reference; a formant synthesizer's buzz stays a buzz however it is warped."""


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
    deadline: Deadline | None = None
    """When the listener runs out of audio; engines serve the most urgent request first."""


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


class BlockingEngine:
    """Base for engines whose inference blocks: one worker thread, a bounded queue.

    Subclasses implement ``load`` and ``synthesize_blocking``; a ``Worker`` runs
    them on the engine's own thread behind a bounded queue.
    """

    name: str = "blocking"
    sample_rate: int = 22050

    def __init__(self, *, max_queue: int = 16, retry_after: float = 1.0) -> None:
        self._worker = Worker(self.name, capacity=max_queue, retry_after=retry_after)

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
        self._worker.start()
        await self._worker.call(self.load)

    async def close(self) -> None:
        self._worker.close()

    def admit(self) -> AdmissionTicket:
        return self._worker.admit()

    def stats(self) -> EngineStats:
        return self._worker.stats()

    def synthesize(self, request: SynthesisRequest) -> AsyncIterator[Pcm]:
        """``synthesize_blocking`` on the worker thread, one piece per step."""
        return self._worker.iterate(self.synthesize_blocking(request), request.deadline)
