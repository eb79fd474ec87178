"""Chat completions through upstream deployments: the body passes through verbatim (with the
upstream's model name), streams are relayed line by line, and usage is read for billing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import httpx

from shoal.errors import ShoalError
from shoal.gateway.routing import Router, Target, UpstreamFailure
from shoal.gateway.upstream import send
from shoal.settings import ChatSettings

DEFAULT_OUTPUT_HOLD = 1024
"""Output tokens held for a request that sets no maximum; more are charged, as far as the balance goes."""

_PING = b": ping\n\n"
_DONE = b"data: [DONE]\n\n"


def estimate_tokens(text_bytes: int) -> int:
    """About four bytes a token: the hold before an upstream reports the real count."""
    return max(1, math.ceil(text_bytes / 4))


@dataclass(slots=True)
class TokenCount:
    input: int
    output: int


def output_limit(body: dict[str, Any]) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and value > 0:
            return value
    return DEFAULT_OUTPUT_HOLD


def _content_length(message: dict[str, Any]) -> int:
    """Characters of text and tool-call arguments in a message or a streamed delta."""
    size = 0
    content = message.get("content")
    if isinstance(content, str):
        size += len(content)
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {} if isinstance(call, dict) else {}
        size += len(function.get("name") or "") + len(function.get("arguments") or "")
    return size


def usage_of(answer: dict[str, Any], input_estimate: int) -> TokenCount:
    """Tokens an upstream answer reports, or estimates of them when it reports none."""
    usage = answer.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
        return TokenCount(usage["prompt_tokens"], int(usage.get("completion_tokens") or 0))
    chars = sum(_content_length(choice.get("message") or {}) for choice in answer.get("choices") or ())
    return TokenCount(input_estimate, estimate_tokens(chars))


class ChatGateway:
    def __init__(self, router: Router, settings: ChatSettings) -> None:
        self._router = router
        self._settings = settings

    @property
    def keepalive_seconds(self) -> float:
        return self._settings.keepalive_seconds

    def model_names(self) -> list[str]:
        return sorted(self._settings.models)

    def aliases(self) -> dict[str, str]:
        return dict(self._settings.aliases)

    def resolve(self, name: str) -> str | None:
        name = self._settings.aliases.get(name, name)
        return name if name in self._settings.models else None

    @staticmethod
    def _body(target: Target, body: dict[str, Any], stream: bool) -> dict[str, Any]:
        forwarded = {**body, "model": target.upstream_model}
        if stream:
            # Always asked for, to bill what was streamed; hidden from clients that did not ask.
            forwarded["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        return forwarded

    async def complete(
        self, model: str, body: dict[str, Any], request_id: str, *, shown_as: str
    ) -> dict[str, Any]:
        """The upstream's answer, its ``model`` shown as ``shown_as`` (the name the client asked for)."""

        async def attempt(target: Target) -> dict[str, Any]:
            response = await send(
                target, "/chat/completions", json_body=self._body(target, body, False),
                headers={"x-request-id": request_id},
            )  # fmt: skip
            try:
                answer = response.json()
            except ValueError as error:
                raise UpstreamFailure("answered with a body that is not JSON") from error
            if not isinstance(answer, dict):
                raise UpstreamFailure("answered with JSON that is not an object")
            if "model" in answer:
                answer["model"] = shown_as
            return answer

        return await self._router.call("chat", model, attempt)

    async def open_stream(self, model: str, body: dict[str, Any], request_id: str) -> httpx.Response:
        async def attempt(target: Target) -> httpx.Response:
            return await send(
                target, "/chat/completions", json_body=self._body(target, body, True),
                headers={"x-request-id": request_id}, stream=True,
            )  # fmt: skip

        return await self._router.call("chat", model, attempt)


def sse_error(error: ShoalError | str) -> bytes:
    """An error event after the stream started (status 200 already sent); no ``[DONE]`` follows."""
    message = error.message if isinstance(error, ShoalError) else error
    code = error.code if isinstance(error, ShoalError) else "upstream_stream_error"
    envelope = {"error": {"message": message, "type": "server_error", "param": None, "code": code}}
    return b"data: " + json.dumps(envelope).encode() + b"\n\n"


class ChatStream:
    """Relays one streamed answer: keep-alive comments while the upstream is silent, the usage chunk
    only for clients that asked, and a count of what was streamed for billing."""

    def __init__(
        self, opening: asyncio.Future[httpx.Response], *, model: str, keepalive: float, wants_usage: bool
    ) -> None:
        self._opening = opening
        self._model = model
        self._keepalive = keepalive
        self._wants_usage = wants_usage
        self.usage: TokenCount | None = None
        self.output_chars = 0
        self.finished = False
        """The upstream ended with ``[DONE]``."""
        self._errored = False
        self._pending: asyncio.Future[str] | None = None

    async def _wait(self, future: asyncio.Future[Any]) -> AsyncGenerator[bytes, None]:
        while not future.done():
            done, _ = await asyncio.wait({future}, timeout=self._keepalive)
            if not done:
                yield _PING

    def _relay(self, payload: str) -> bytes | None:
        """The bytes to send for one upstream ``data:`` payload (None to hide it)."""
        try:
            chunk = json.loads(payload)
        except ValueError:
            return None
        if not isinstance(chunk, dict):
            return None
        if "error" in chunk:
            self._errored = True
            return b"data: " + payload.encode() + b"\n\n"
        usage = chunk.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
            self.usage = TokenCount(usage["prompt_tokens"], int(usage.get("completion_tokens") or 0))
            if not self._wants_usage:
                if not chunk.get("choices"):
                    return None
                chunk["usage"] = None
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict):
                self.output_chars += _content_length(choice.get("delta") or {})
        if "model" in chunk:
            chunk["model"] = self._model  # the name the client asked for, not the upstream's
        return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"

    async def events(self) -> AsyncGenerator[bytes, None]:
        response: httpx.Response | None = None
        try:
            async for ping in self._wait(self._opening):
                yield ping
            try:
                response = self._opening.result()
            except ShoalError as error:
                yield sse_error(error)
                return
            lines = response.aiter_lines()
            while True:
                self._pending = pending = asyncio.ensure_future(anext(lines))
                async for ping in self._wait(pending):
                    yield ping
                self._pending = None
                try:
                    line = pending.result()
                except StopAsyncIteration:
                    break
                if not line.startswith("data:"):
                    continue  # blank separators, the upstream's own comments, event names
                payload = line[5:].strip()
                if payload == "[DONE]":
                    self.finished = True
                    yield _DONE
                    return
                relayed = self._relay(payload)
                if relayed is not None:
                    yield relayed
                if self._errored:
                    return  # the upstream's own error event ends the stream
            yield sse_error("the upstream provider ended the stream before it was complete")
        except httpx.HTTPError as error:
            yield sse_error(f"the upstream provider's stream broke: {type(error).__name__}")
        finally:
            for future in (self._opening, self._pending):
                if future is not None and not future.done():
                    future.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._close(response))

    async def _close(self, response: httpx.Response | None) -> None:
        opened = self._opening.done() and not self._opening.cancelled() and self._opening.exception() is None
        if response is None and opened:
            response = self._opening.result()
        if response is not None:
            await response.aclose()  # closes the connection mid-stream: the upstream sees the disconnect
