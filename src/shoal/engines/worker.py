"""One worker thread per engine, with a bounded queue in front of it.

Models are called from a single thread so they are never run concurrently
(onnxruntime and CTranslate2 already use every core for one call) and requests are
served first come, first served. ``admit`` bounds how many requests may wait; the
surplus is refused at once with ``EngineBusy`` (503 + Retry-After) instead of
queueing without limit.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from shoal.errors import EngineBusy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class EngineStats:
    """What /health shows about an engine."""

    admitted: int
    """Requests holding a place in the queue right now."""
    capacity: int
    pieces: int
    """Units of work (audio pieces, transcript segments) produced since start."""


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


class Worker:
    def __init__(self, name: str, *, capacity: int, retry_after: float = 1.0) -> None:
        self.name = name
        self.retry_after = retry_after
        self._capacity = capacity
        self._admitted = 0
        self._pieces = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"engine-{self.name}")

    def close(self) -> None:
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

    def _running(self) -> ThreadPoolExecutor:
        if self._executor is None:
            raise RuntimeError(f"engine {self.name!r} used before start()")
        return self._executor

    async def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._running(), function)

    async def iterate(self, items: Iterator[T]) -> AsyncIterator[T]:
        """Advance a blocking iterator on the worker thread, one item per step.

        A consumer that stops early (client gone, request cancelled) stops the work
        after the item in progress, and the iterator is closed on the worker thread.
        """
        executor = self._running()
        loop = asyncio.get_running_loop()
        done = object()
        try:
            while True:
                item = await loop.run_in_executor(executor, next, items, done)
                if item is done:
                    return
                self._pieces += 1
                yield item  # type: ignore[misc]
        finally:
            close = getattr(items, "close", None)
            if close is not None and self._executor is executor:
                executor.submit(close)
