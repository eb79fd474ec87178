"""Workers: claim a task, run it under a renewed lease, settle its hold, record the outcome.

Every server process runs ``tasks.workers`` of them (``shoal worker`` runs them alone). A
process killed mid-task leaves a lease that lapses; another worker then runs the task again.
Money stays right through that: the hold is settled by the first run that completes (settling
takes the hold away), and a rerun finding it gone does not charge again. The outcome is
recorded after settling, so a crash between the two reruns the task instead of losing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any

from shoal.billing.metering import Charge
from shoal.billing.money import to_credits
from shoal.billing.pricing import Quote
from shoal.errors import EngineBusy, ShoalError
from shoal.services import Services
from shoal.settings import TaskSettings
from shoal.tasks.queue import MAX_RUN_ATTEMPTS, Task, TaskQueue
from shoal.tasks.work import execute, quote_of

log = logging.getLogger("shoal.tasks")


def process_id() -> str:
    """Who holds a lease: host, process and a random part (a restarted process is someone new)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class TaskWorker:
    def __init__(self, services: Services, queue: TaskQueue, settings: TaskSettings) -> None:
        self._services = services
        self._queue = queue
        self._settings = settings
        self._owner = process_id()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A task was queued here: look now rather than at the next poll."""
        self._wake.set()

    async def run_forever(self, concurrency: int) -> None:
        # A task group cancels each loop once when this is cancelled. Cancelling one twice (as
        # gather and then a cleanup would) can land inside SQLAlchemy's graceful close of an
        # aiosqlite connection and leave a task behind that never ends, hanging the event
        # loop's shutdown.
        async with asyncio.TaskGroup() as loops:
            for n in range(concurrency):
                loops.create_task(self._loop(f"{self._owner}/{n}"))

    async def _loop(self, owner: str) -> None:
        while True:
            try:
                task = await self._queue.claim(owner, self._settings.lease_seconds)
            except Exception:  # the database may be briefly away; try again
                log.warning("could not claim a task", exc_info=True)
                task = None
            if task is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.poll_seconds)
                continue
            await self.run(task, owner)

    async def _keep_lease(self, task: Task, owner: str) -> None:
        while True:
            await asyncio.sleep(self._settings.lease_seconds / 3)
            try:
                if not await self._queue.renew(task.id, owner, self._settings.lease_seconds):
                    log.warning("task %s: lease lost; another worker has taken it over", task.id)
                    return
            except Exception:
                log.warning("task %s: could not renew its lease", task.id, exc_info=True)

    async def run(self, task: Task, owner: str) -> None:
        services = self._services
        if task.run_attempts > MAX_RUN_ATTEMPTS:
            await self._fail(task, owner, f"stopped after {MAX_RUN_ATTEMPTS} attempts that did not finish")
            return
        keeper = asyncio.create_task(self._keep_lease(task, owner))
        quote = quote_of(services, task)
        try:
            charge = await self._charge(task, quote) if task.hold_id else None
            try:
                result: dict[str, Any] = await execute(services, task, charge)
            except EngineBusy:
                raise  # the task goes back to the queue with its hold
            except Exception:
                if charge is not None:
                    await charge.settle()  # a failure: the hold is released
                raise
            cost = quote.cost_nanos
            if charge is not None:
                cost = (await charge.settle()).cost_nanos
            result["cost"] = float(to_credits(cost))
            if not await self._queue.finish(task, owner, "succeeded", result=result):
                log.info("task %s had already been finished by another worker", task.id)
        except EngineBusy as busy:
            await self._queue.release(task.id, owner)
            await asyncio.sleep(busy.retry_after)
        except ShoalError as error:
            await self._queue.finish(task, owner, "failed", error=error.message)
        except asyncio.CancelledError:
            raise  # shutting down: the lease lapses and another worker (or this one, restarted) resumes
        except Exception:
            log.exception("task %s failed", task.id)
            await self._queue.finish(task, owner, "failed", error=f"internal error; quote task id {task.id}")
        finally:
            keeper.cancel()
            if task.callback_url:
                services.delivery_wake.set()

    async def _charge(self, task: Task, quote: Quote) -> Charge | None:
        assert task.hold_id is not None
        return await self._services.metering.resume(
            task.hold_id, quote, task.id, account_id=task.account_id, key_id=task.key_id,
            ttl_seconds=self._settings.hold_ttl_seconds,
        )  # fmt: skip

    async def _fail(self, task: Task, owner: str, error: str) -> None:
        if task.hold_id:  # release the hold, if it is still there
            hold = await self._services.metering.wallet.find_hold(task.hold_id)
            if hold is not None:
                await self._services.metering.wallet.settle(hold, 0, None)
        await self._queue.finish(task, owner, "failed", error=error)
        if task.callback_url:
            self._services.delivery_wake.set()
