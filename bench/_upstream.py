"""A fake OpenAI-compatible LLM for the gateway benchmark, as cheap per request as Python allows.

Run it as its own process: ``python bench/_upstream.py --port 9000``. Every ``POST`` answers a
fixed small ``chat.completion`` with ``usage`` (echoing the request's ``model``), or with
``"stream": true`` a short SSE stream of ``chat.completion.chunk`` events (a role chunk, three
content chunks, a finish chunk, a usage chunk when ``stream_options.include_usage``) and
``data: [DONE]``. ``GET`` answers ``{"object": "list", "data": []}`` (health and ``/v1/models``).

It is raw asyncio on uvloop with httptools' parser and pre-rendered responses, rather than an ASGI
framework: the benchmark subtracts this server's time from the gateways', so it must cost
microseconds and never be the bottleneck (``bench/gateway.py`` measures it alone in the same run).
``--delay-ms`` makes it wait before each answer, as a real model does, so that many requests are in
flight through the gateway at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import httptools
import uvloop

CREATED = 1_700_000_000
WORDS = ("Hello", " there", "!")
USAGE = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
_cache: dict[tuple[str, bool, bool], bytes] = {}


def _completion(model: str) -> bytes:
    body = json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_bench",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(WORDS)},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
        },
        separators=(",", ":"),
    ).encode()
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _stream(model: str, include_usage: bool) -> bytes:
    def chunk(choices: list[dict[str, Any]], usage: Any = None) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "system_fingerprint": "fp_bench", "choices": choices,
        }  # fmt: skip
        if include_usage:  # OpenAI sends "usage": null on every chunk but the last when asked for usage
            event["usage"] = usage
        return event

    def choice(delta: dict[str, str], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    events = [chunk(choice({"role": "assistant", "content": ""}))]
    events += [chunk(choice({"content": word})) for word in WORDS]
    events.append(chunk(choice({}, "stop")))
    if include_usage:
        events.append(chunk([], USAGE))
    frames = [f"data: {json.dumps(e, separators=(',', ':'))}\n\n".encode() for e in events]
    frames.append(b"data: [DONE]\n\n")
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
    )
    # One chunk per event, as a real server flushes them; all written at once (no think time).
    return head + b"".join(b"%x\r\n%s\r\n" % (len(f), f) for f in frames) + b"0\r\n\r\n"


def _response(body: bytes) -> bytes:
    try:
        request = json.loads(body) if body else {}
        model = str(request.get("model", "bench"))
        stream = request.get("stream") is True
        include_usage = stream and bool((request.get("stream_options") or {}).get("include_usage"))
    except (ValueError, AttributeError):
        message = b'{"error":{"message":"invalid JSON","type":"invalid_request_error"}}'
        return b"HTTP/1.1 400 Bad Request\r\ncontent-length: %d\r\n\r\n%s" % (len(message), message)
    cache_key = (model, stream, include_usage)
    response = _cache.get(cache_key)
    if response is None:
        response = _stream(model, include_usage) if stream else _completion(model)
        if len(_cache) < 64:
            _cache[cache_key] = response
    return response


_LIST = b'{"object":"list","data":[]}'
LISTING = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
    len(_LIST),
    _LIST,
)


class _Connection(asyncio.Protocol):
    delay = 0.0
    """Seconds before answering a POST, as a real model's time to first token (``--delay-ms``)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.write(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            self.transport.close()

    def on_message_begin(self) -> None:
        self.body = []

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        if self.parser.get_method() != b"POST":
            self._answer(LISTING, self.parser.should_keep_alive())
        elif self.delay:
            answer = _response(b"".join(self.body))
            asyncio.get_running_loop().call_later(
                self.delay, self._answer, answer, self.parser.should_keep_alive()
            )
        else:
            self._answer(_response(b"".join(self.body)), self.parser.should_keep_alive())

    def _answer(self, response: bytes, keep_alive: bool) -> None:
        assert self.transport is not None
        if self.transport.is_closing():  # the client left while we "thought"
            return
        self.transport.write(response)
        if not keep_alive:
            self.transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Connection, host, port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="wait before answering each POST")
    args = parser.parse_args()
    _Connection.delay = args.delay_ms / 1000
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
