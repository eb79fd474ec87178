"""A fake third-party OpenAI-compatible LLM server, for the gateway's tests.

Run it as its own process: ``python -m tests.upstream.openai_upstream --port 9000``.
``POST /v1/chat/completions`` answers in OpenAI's shapes (``chat.completion`` or SSE
``chat.completion.chunk`` events ending in ``data: [DONE]``); what it does is chosen by the
request's ``model``, optionally with parameters after a colon (``slow-first:delay=1.5``):

- ``echo``: "echo: <last user message>", streamed one word per chunk; a token is a word.
- ``tools``: with ``tools``, a ``tool_calls`` message calling the first tool (else as ``echo``).
- ``slow-first``: as ``echo``, ``delay`` seconds (default 1.5) late: the first chunk of a
  stream (its headers come at once), or the whole of a non-streamed answer.
- ``endless``: a word every ``interval`` seconds (default 0.05) until the client leaves.
- ``fail-500``, ``fail-400`` (with a ``param``), ``fail-429`` (with ``Retry-After``); with
  ``delay``, the error comes after that many seconds.
- ``mid-stream-error``: a few chunks, then the connection is dropped.

Every request to ``/v1`` (body and headers) and every client disconnect is recorded at
``GET /_log`` (``DELETE /_log`` clears it). ``POST /_mode {"fail_all": true}`` (or ``--fail-all``)
answers 503 to everything under ``/v1``. ``--require-key`` answers 401 to any other bearer key,
as OpenAI does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODELS = ("echo", "tools", "slow-first", "endless", "fail-500", "fail-400", "fail-429", "mid-stream-error")
FINGERPRINT = "fp_fake_upstream"
ENDLESS_CAP_SECONDS = 120.0  # an endless stream nobody cancels still ends, so a broken test cannot hang


@dataclass
class State:
    require_key: str | None = None
    fail_all: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    disconnects: list[dict[str, Any]] = field(default_factory=list)
    completed: list[dict[str, Any]] = field(default_factory=list)


def error(
    status: int,
    message: str,
    type_: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def parse_model(model: str) -> tuple[str, dict[str, str]]:
    """``slow-first:delay=1.5,x=y`` -> ("slow-first", {"delay": "1.5", "x": "y"})."""
    name, _, rest = model.partition(":")
    options = dict(part.partition("=")[::2] for part in rest.split(",") if part)
    return name, options


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def count_tokens(text: str) -> int:
    return len(text.split())


def prompt_tokens(body: dict[str, Any]) -> int:
    return sum(count_tokens(text_of(message.get("content"))) for message in body.get("messages", []))


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def arguments_for(tool: dict[str, Any], text: str) -> str:
    """JSON arguments that fit the tool's parameter schema: strings carry the user's text."""
    properties = tool.get("function", {}).get("parameters", {}).get("properties", {})
    samples = {"string": text, "integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}
    return json.dumps({name: samples.get(schema.get("type")) for name, schema in properties.items()})


def logprobs_for(words: list[str], top: int) -> dict[str, Any]:
    entries = [
        {
            "token": word,
            "logprob": -0.01,
            "bytes": list(word.encode()),
            "top_logprobs": [{"token": word, "logprob": -0.01, "bytes": list(word.encode())}] * min(top, 1),
        }
        for word in words
    ]
    return {"content": entries, "refusal": None}


class Completion:
    """One answer, built once and sent whole or as chunks."""

    def __init__(self, body: dict[str, Any], name: str) -> None:
        self.body = body
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = str(body["model"])
        self.prompt_tokens = prompt_tokens(body)
        text = last_user_text(body.get("messages", []))
        tools = body.get("tools") or []
        self.tool_call: dict[str, Any] | None = None
        self.words: list[str] = []
        self.finish_reason = "stop"
        if name == "tools" and tools:
            self.tool_call = {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {
                    "name": tools[0]["function"]["name"],
                    "arguments": arguments_for(tools[0], text),
                },
            }
            self.finish_reason = "tool_calls"
            self.completion_tokens = count_tokens(self.tool_call["function"]["arguments"])
            return
        words = f"echo: {text}".split()
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and limit < len(words):
            words, self.finish_reason = words[:limit], "length"
        # Each chunk but the first starts with a space, so the pieces concatenate to the text.
        self.words = [word if i == 0 else f" {word}" for i, word in enumerate(words)]
        self.completion_tokens = len(self.words)

    @property
    def usage(self) -> dict[str, int]:
        return usage(self.prompt_tokens, self.completion_tokens)

    def logprobs(self, words: list[str]) -> dict[str, Any] | None:
        if not self.body.get("logprobs") or self.tool_call is not None:
            return None
        return logprobs_for(words, int(self.body.get("top_logprobs") or 0))

    def whole(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.words), "refusal": None}
        if self.tool_call is not None:
            message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [self.tool_call]}
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": self.logprobs(self.words),
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self.usage,
        }

    def chunk(
        self, delta: dict[str, Any], finish_reason: str | None = None, logprobs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}],
        }
        if self.include_usage:
            chunk["usage"] = None  # as OpenAI: every chunk carries usage: null, the last one the figures
        return chunk

    @property
    def include_usage(self) -> bool:
        return bool((self.body.get("stream_options") or {}).get("include_usage"))

    def first_chunk(self) -> dict[str, Any]:
        if self.tool_call is None:
            return self.chunk({"role": "assistant", "content": "", "refusal": None})
        call = {**self.tool_call, "index": 0, "function": {**self.tool_call["function"], "arguments": ""}}
        return self.chunk({"role": "assistant", "content": None, "tool_calls": [call]})

    def content_chunks(self) -> list[dict[str, Any]]:
        if self.tool_call is None:
            return [self.chunk({"content": word}, logprobs=self.logprobs([word])) for word in self.words]
        arguments = self.tool_call["function"]["arguments"]
        pieces = [arguments[i : i + 8] for i in range(0, len(arguments), 8)]
        return [
            self.chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}) for piece in pieces
        ]

    def last_chunks(self) -> list[dict[str, Any]]:
        chunks = [self.chunk({}, self.finish_reason)]
        if self.include_usage:
            chunks.append({**self.chunk({}), "choices": [], "usage": self.usage})
        return chunks


def sse(data: dict[str, Any] | str) -> bytes:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()


SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def make_app(state: State) -> Starlette:
    async def chat(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            body = {"_unparsed": raw.decode(errors="replace")}
        number = len(state.requests)
        state.requests.append(
            {
                "n": number,
                "path": request.url.path,
                "headers": dict(request.headers),
                "body": body,
                "time": time.time(),
            }
        )
        if state.fail_all:
            return error(
                503, "The upstream is overloaded.", "service_unavailable_error", headers={"Retry-After": "1"}
            )
        if (
            state.require_key is not None
            and request.headers.get("authorization") != f"Bearer {state.require_key}"
        ):
            return error(401, "Incorrect API key provided.", "invalid_request_error", code="invalid_api_key")
        if not isinstance(body, dict) or "model" not in body or "messages" not in body:
            return error(400, "'model' and 'messages' are required.", "invalid_request_error")
        name, options = parse_model(str(body["model"]))
        if name not in MODELS:
            return error(
                404,
                f"The model `{body['model']}` does not exist.",
                "invalid_request_error",
                code="model_not_found",
            )
        delay = float(options.get("delay", "1.5" if name == "slow-first" else "0"))
        if name.startswith("fail-") and delay:
            await asyncio.sleep(delay)  # a failure that is slow to come
        if name == "fail-500":
            return error(500, "The upstream had an internal error.", "server_error")
        if name == "fail-400":
            return error(
                400,
                "Invalid value for 'temperature': the upstream refuses it.",
                "invalid_request_error",
                param="temperature",
                code="invalid_value",
            )
        if name == "fail-429":
            return error(
                429,
                "Rate limit reached for requests.",
                "requests",
                code="rate_limit_exceeded",
                headers={"Retry-After": options.get("retry_after", "7")},
            )
        completion = Completion(body, name)
        if not body.get("stream"):
            if name == "endless":
                return error(400, "endless only streams.", "invalid_request_error", param="stream")
            if await client_left_during(request, delay):
                entry = {"n": number, "model": completion.model, "chunks_sent": 0, "time": time.time()}
                state.disconnects.append({**entry, "reason": "disconnected"})
                return Response(status_code=499)
            if name == "mid-stream-error":
                return StreamingResponse(
                    dropped(b'{"id": "chatcmpl-cut", "choices": ['), media_type="application/json"
                )
            return JSONResponse(completion.whole())
        if name == "endless":
            events = endless(completion, number, float(options.get("interval", "0.05")))
        elif name == "mid-stream-error":
            events = broken_stream(completion)
        else:
            events = stream(completion, number, delay)
        return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)

    async def client_left_during(request: Request, delay: float) -> bool:
        """Wait ``delay`` seconds, noticing a client that leaves meanwhile (a non-streamed answer
        is not cancelled by Starlette when its client goes)."""
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if await request.is_disconnected():
                return True
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return False

    async def stream(completion: Completion, number: int, delay: float) -> AsyncIterator[bytes]:
        async with watched(number, completion) as sent:
            await asyncio.sleep(delay)
            for chunk in [completion.first_chunk(), *completion.content_chunks(), *completion.last_chunks()]:
                yield sse(chunk)
                sent[0] += 1
            yield sse("[DONE]")

    async def endless(completion: Completion, number: int, interval: float) -> AsyncIterator[bytes]:
        async with watched(number, completion) as sent:
            yield sse(completion.first_chunk())
            deadline = time.monotonic() + ENDLESS_CAP_SECONDS
            while time.monotonic() < deadline:
                await asyncio.sleep(interval)
                yield sse(completion.chunk({"content": f" word{sent[0]}"}))
                sent[0] += 1
            for chunk in completion.last_chunks():
                yield sse(chunk)
            yield sse("[DONE]")

    async def broken_stream(completion: Completion) -> AsyncIterator[bytes]:
        yield sse(completion.first_chunk())
        for chunk in completion.content_chunks()[:2]:
            await asyncio.sleep(0.02)
            yield sse(chunk)
        await asyncio.sleep(0.05)
        # Raising after the response started makes uvicorn drop the connection mid-body.
        raise ConnectionAbortedError("mid-stream-error: the upstream drops the connection")

    async def dropped(prefix: bytes) -> AsyncIterator[bytes]:
        yield prefix
        await asyncio.sleep(0.05)
        raise ConnectionAbortedError("mid-stream-error: the upstream drops the connection")

    class watched:
        """Records how a stream ended: completed, or cut by the client leaving (cancelled)."""

        def __init__(self, number: int, completion: Completion) -> None:
            self.number, self.completion, self.sent = number, completion, [0]

        async def __aenter__(self) -> list[int]:
            return self.sent

        async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> bool:
            entry = {
                "n": self.number,
                "model": self.completion.model,
                "chunks_sent": self.sent[0],
                "time": time.time(),
            }
            if kind is None:
                state.completed.append(entry)
            else:  # CancelledError or GeneratorExit: the client went away
                state.disconnects.append({**entry, "reason": kind.__name__})
            return False

    async def models(request: Request) -> Response:
        state.requests.append(
            {
                "n": len(state.requests),
                "path": request.url.path,
                "headers": dict(request.headers),
                "body": None,
                "time": time.time(),
            }
        )
        if state.fail_all:
            return error(503, "The upstream is overloaded.", "service_unavailable_error")
        data = [
            {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "fake"} for name in MODELS
        ]
        return JSONResponse({"object": "list", "data": data})

    async def log(request: Request) -> Response:
        if request.method == "DELETE":
            state.requests.clear()
            state.disconnects.clear()
            state.completed.clear()
            return Response(status_code=204)
        return JSONResponse(
            {
                "requests": state.requests,
                "disconnects": state.disconnects,
                "completed": state.completed,
                "fail_all": state.fail_all,
            }
        )

    async def mode(request: Request) -> Response:
        body = await request.json()
        state.fail_all = bool(body.get("fail_all", state.fail_all))
        return JSONResponse({"fail_all": state.fail_all})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/_log", log, methods=["GET", "DELETE"]),
            Route("/_mode", mode, methods=["POST"]),
            Route("/_health", health, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fail-all", action="store_true", help="answer 503 to every /v1 request")
    parser.add_argument("--require-key", help="answer 401 unless the bearer key is this one")
    args = parser.parse_args()
    app = make_app(State(require_key=args.require_key, fail_all=args.fail_all))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
