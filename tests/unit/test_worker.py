"""The engine worker: bounded admission, earliest-deadline-first order, cancellation, iteration."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from shoal.engines.worker import Worker
from shoal.errors import EngineBusy

pytestmark = pytest.mark.asyncio


async def test_admission_is_bounded_and_released() -> None:
    worker = Worker("test", capacity=2, retry_after=3)
    first, second = worker.admit(), worker.admit()
    with pytest.raises(EngineBusy) as refused:
        worker.admit()
    assert refused.value.retry_after == 3
    assert worker.stats().admitted == 2
    first.release()
    first.release()  # idempotent
    with worker.admit():
        assert worker.stats().admitted == 2
    second.release()
    assert worker.stats().admitted == 0


async def test_most_urgent_work_runs_first() -> None:
    worker = Worker("test", capacity=10)
    worker.start()
    gate = threading.Event()
    order: list[str] = []
    try:
        blocker = asyncio.ensure_future(worker.call(gate.wait))
        await asyncio.sleep(0.05)  # the worker thread is now blocked in gate.wait
        calls = [
            asyncio.ensure_future(worker.call(lambda name=name: order.append(name), deadline=deadline))
            for name, deadline in [("late", 30.0), ("urgent", 10.0), ("middle", 20.0)]
        ]
        gate.set()
        await asyncio.gather(blocker, *calls)
    finally:
        worker.close()
    assert order == ["urgent", "middle", "late"]


async def test_without_deadlines_work_is_first_come_first_served() -> None:
    worker = Worker("test", capacity=10)
    worker.start()
    try:
        results = await asyncio.gather(*(worker.call(lambda n=n: n) for n in range(20)))
    finally:
        worker.close()
    assert results == list(range(20))


async def test_cancelled_work_is_skipped_and_errors_propagate() -> None:
    worker = Worker("test", capacity=10)
    worker.start()
    gate = threading.Event()
    ran: list[str] = []
    try:
        blocker = asyncio.ensure_future(worker.call(gate.wait))
        await asyncio.sleep(0.05)
        abandoned = asyncio.ensure_future(worker.call(lambda: ran.append("abandoned")))
        await asyncio.sleep(0)
        abandoned.cancel()
        gate.set()
        await blocker

        def boom() -> None:
            raise ValueError("engine broke")

        with pytest.raises(ValueError, match="engine broke"):
            await worker.call(boom)
    finally:
        worker.close()
    assert ran == []


async def test_iterate_steps_and_closes_the_iterator_when_the_consumer_stops() -> None:
    worker = Worker("test", capacity=10)
    worker.start()
    closed = threading.Event()
    produced: list[int] = []

    def numbers() -> Iterator[int]:
        try:
            for n in range(100):
                produced.append(n)
                yield n
        finally:
            closed.set()

    try:
        taken = []
        async for n in worker.iterate(numbers()):
            taken.append(n)
            if n == 2:
                break
        await asyncio.to_thread(closed.wait, 5)
    finally:
        worker.close()
    assert taken == [0, 1, 2]
    assert closed.is_set()
    assert len(produced) <= 4  # one step at a time: nothing ran far ahead
    assert worker.stats().pieces == 3


async def test_use_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="before start"):
        await Worker("idle", capacity=1).call(lambda: None)
