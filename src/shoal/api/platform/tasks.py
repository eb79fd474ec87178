"""Polling tasks: ``GET /v1/tasks/{id}``, ``GET /v1/tasks``, and manual callback redelivery.

A key sees its account's tasks; any other task is 404, so ids do not leak.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import JSONResponse

from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.errors import InvalidRequest, NotFound
from shoal.tasks.delivery import redeliver
from shoal.tasks.queue import STATUSES, Status, Task
from shoal.timestamps import iso_z

router = APIRouter(prefix="/v1/tasks", tags=["Tasks"])


def _time(value: datetime | None) -> str | None:
    return iso_z(value, "milliseconds") if value else None


def task_body(task: Task, deliveries: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": task.id,
        "object": "task",
        "kind": task.kind,
        "model": task.model,
        "status": task.status,
        "created_at": _time(task.created_at),
        "started_at": _time(task.started_at),
        "finished_at": _time(task.finished_at),
        "result": task.result,
        "error": task.error,
        "callback_url": task.callback_url,
    }
    if task.callback_url:
        body["delivery"] = {"status": task.delivery_status, "attempts": task.delivery_attempts}
        if deliveries is not None:
            body["delivery"]["log"] = [{**entry, "at": _time(entry["at"])} for entry in deliveries]
    return body


def _not_found(task_id: str) -> NotFound:
    return NotFound(f"task {task_id!r} not found (a key sees the tasks of its own account)")


@router.get("/{task_id}", summary="A task's status, result and callback deliveries")
async def get_task(task_id: str, principal: PrincipalDep, services: ServicesDep) -> JSONResponse:
    task = await services.tasks.get(principal.account_id, task_id)
    if task is None:
        raise _not_found(task_id)
    return JSONResponse(task_body(task, await services.tasks.deliveries(task.id)))


@router.get("", summary="Your tasks, newest first")
async def list_tasks(
    principal: PrincipalDep,
    services: ServicesDep,
    status: Annotated[str | None, Query(description="queued, running, succeeded or failed")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: Annotated[datetime | None, Query(description="Only tasks created before this time")] = None,
) -> JSONResponse:
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status {status!r} is not one of {', '.join(STATUSES)}")
    chosen: Status | None = status
    found = await services.tasks.listing(principal.account_id, status=chosen, limit=limit, before=before)
    return JSONResponse(
        {"object": "list", "data": [task_body(task) for task in found], "has_more": len(found) == limit}
    )


@router.post("/{task_id}/redeliver", summary="Send a finished task's callback again")
async def redeliver_task(task_id: str, principal: PrincipalDep, services: ServicesDep) -> JSONResponse:
    task = await services.tasks.get(principal.account_id, task_id)
    if task is None:
        raise _not_found(task_id)
    if task.callback_url is None:
        raise InvalidRequest("this task has no callback_url to deliver to")
    if task.status not in ("succeeded", "failed"):
        raise InvalidRequest(f"this task is {task.status}; its callback is sent when it finishes")
    if not await redeliver(services.db, principal.account_id, task_id):
        raise _not_found(task_id)
    return JSONResponse(
        task_body(await services.tasks.get(principal.account_id, task_id) or task), status_code=202
    )
