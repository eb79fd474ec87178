"""Pure ASGI middleware (never BaseHTTPMiddleware: it breaks streaming and disconnects).

``RequestContextMiddleware`` gives every request (and WebSocket) three things:
an ``x-request-id``; headers that routes and dependencies add before the response
starts (rate-limit state, cost, balance); and cleanups that run when the exchange is
really over — after the last byte of a stream, or when the client went away — which
is when a concurrency slot is released and a credit hold settled.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HEADERS = "shoal.response_headers"
_CLEANUP = "shoal.cleanup"

log = logging.getLogger("shoal")


def request_id(connection: HTTPConnection) -> str:
    state: dict[str, Any] = connection.scope.get("state", {})
    return str(state.get("request_id") or "-")


def add_response_headers(connection: HTTPConnection, headers: dict[str, str]) -> None:
    """Headers for the response to ``connection`` (ignored once it has started)."""
    connection.scope.setdefault(_HEADERS, {}).update(headers)


def discard_response_headers(connection: HTTPConnection, prefix: str) -> None:
    """Forget headers starting with ``prefix`` that were meant for a response that will not be sent."""
    headers: dict[str, str] = connection.scope.get(_HEADERS, {})
    for name in [name for name in headers if name.startswith(prefix)]:
        del headers[name]


def on_request_end(connection: HTTPConnection, callback: Callable[[], Awaitable[Any]]) -> None:
    """Run ``callback`` when the exchange is over, however it ended (last in, first run)."""
    stack: AsyncExitStack | None = connection.scope.get(_CLEANUP)
    if stack is None:
        raise RuntimeError("RequestContextMiddleware is not installed")
    stack.push_async_callback(callback)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        identifier = incoming if _ACCEPTABLE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = identifier
        extra: dict[str, str] = scope.setdefault(_HEADERS, {})
        stack = AsyncExitStack()
        scope[_CLEANUP] = stack

        async def send_with_context(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
                headers[REQUEST_ID_HEADER] = identifier
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        finally:
            # Shielded: a cancelled request (server shutdown) must still release and settle.
            closing = asyncio.ensure_future(stack.aclose())
            try:
                await asyncio.shield(closing)
            except asyncio.CancelledError:
                await closing
                raise
            except Exception:
                log.exception("request %s: cleanup failed", identifier)
