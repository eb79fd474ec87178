"""One worker thread per engine, with a bounded queue in front of it.

Models are called from a single thread so they are never run concurrently
(onnxruntime and CTranslate2 already use every core for one call). ``admit`` bounds
how many requests may wait; the surplus is refused at once with ``EngineBusy``
(503 + Retry-After) instead of queueing without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

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


Deadline = Callable[[], float]
"""When (``time.monotonic()``) the work's result is needed — for speech, when the listener's
audio runs out. The worker always runs the most urgent work first."""


class Worker:
    """One thread running blocking work earliest-deadline-first, behind a bounded admission count.

    Earliest deadline first, rather than first come first served, is what lets many
    streams share one engine: a stream with seconds of audio already delivered waits
    while a new request's first chunk, or a stream about to run dry, goes ahead.
    """

    def __init__(self, name: str, *, capacity: int, retry_after: float = 1.0) -> None:
        self.name = name
        self.retry_after = retry_after
        self._capacity = capacity
        self._admitted = 0
        self._pieces = 0
        self._lock = threading.Lock()
        self._sequence = itertools.count()
        self._queue: queue.PriorityQueue[tuple[float, int, _Work | None]] = queue.PriorityQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"engine-{self.name}", daemon=True)
            self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put((-math.inf, next(self._sequence), None))
            self._thread = None

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

    def _run(self) -> None:
        while True:
            _, _, work = self._queue.get()
            if work is None:
                return
            work.run()

    def _submit(self, function: Callable[[], T], deadline: float | None) -> asyncio.Future[T]:
        if self._thread is None:
            raise RuntimeError(f"engine {self.name!r} used before start()")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        priority = time.monotonic() if deadline is None else deadline
        self._queue.put((priority, next(self._sequence), _Work(function, future, loop)))
        return future

    async def call(self, function: Callable[[], T], deadline: float | None = None) -> T:
        """Run ``function`` on the worker thread; ``deadline`` orders it (default: now, i.e. FIFO)."""
        return await self._submit(function, deadline)

    async def iterate(self, items: Iterator[T], deadline: Deadline | None = None) -> AsyncIterator[T]:
        """Advance a blocking iterator on the worker thread, one item per step.

        Each step is queued with the deadline current at that moment. A consumer that
        stops early (client gone, request cancelled) stops the work after the item in
        progress, and the iterator is closed on the worker thread.
        """
        done = object()
        started = False
        try:
            while True:
                item = await self.call(lambda: next(items, done), deadline() if deadline else None)
                started = True
                if item is done:
                    return
                self._pieces += 1
                yield item  # type: ignore[misc]
        finally:
            close = getattr(items, "close", None)
            if close is not None and started and self._thread is not None:
                self._queue.put((-math.inf + 1, next(self._sequence), _Work(close, None, None)))


class _Work:
    """A function to run on the worker thread and the future (on the event loop) awaiting it."""

    def __init__(
        self,
        function: Callable[[], Any],
        future: asyncio.Future[Any] | None,
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        self._function = function
        self._future = future
        self._loop = loop

    def run(self) -> None:
        future, loop = self._future, self._loop
        if future is not None and future.cancelled():
            return  # nobody waits for it any more
        try:
            result: Any = self._function()
            error: BaseException | None = None
        except BaseException as raised:
            result, error = None, raised
        if future is not None and loop is not None and not loop.is_closed():
            # The loop may close between the check and the call (shutdown): then nobody waits.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
