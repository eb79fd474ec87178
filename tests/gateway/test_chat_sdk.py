"""``POST /v1/chat/completions`` through the official ``openai`` SDK (sync and async) on ``shoal serve``,
routed to a fake OpenAI-compatible upstream that records what Shoal forwarded."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import KEEPALIVE_SECONDS, SLOW_FIRST_SECONDS, UPSTREAM_KEY, Gateway
from tests.gateway.helpers import async_sdk, data_events, marker, sdk, sse_lines, user

pytestmark = pytest.mark.e2e

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}
CLOCK_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


def test_plain_chat_answers_from_the_upstream(gateway: Gateway) -> None:
    word = marker()
    with sdk(gateway) as client:
        completion = client.chat.completions.create(model="echo", messages=user(f"hello {word}"))
    assert completion.object == "chat.completion"
    assert completion.id
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == f"echo: hello {word}"
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (2, 3)
    assert completion.usage.total_tokens == 5


def test_an_alias_reaches_the_model_it_names(gateway: Gateway) -> None:
    word = marker()
    with sdk(gateway) as client:
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=user(word))
    assert completion.choices[0].message.content == f"echo: {word}"
    assert gateway.up1.request_with(word)["body"]["model"] == "echo"


def test_answers_name_the_model_asked_for_not_the_upstreams(gateway: Gateway) -> None:
    """A reseller's upstream names stay private: the upstream answers as "echo" (or with its delay
    option in the name), the client reads the name it used."""
    with sdk(gateway) as client:
        plain = client.chat.completions.create(model="gpt-4o-mini", messages=user(marker()))
        chunks = list(client.chat.completions.create(model="slow", messages=user(marker()), stream=True))
    assert plain.model == "gpt-4o-mini"
    assert chunks and {chunk.model for chunk in chunks} == {"slow"}


def test_every_openai_parameter_passes_through_verbatim(gateway: Gateway) -> None:
    word = marker()
    params: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": "You answer in JSON."},
            {"role": "user", "content": [{"type": "text", "text": f"weather in {word}?"}]},
        ],
        "tools": [WEATHER_TOOL, CLOCK_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
        },
        "logprobs": True,
        "top_logprobs": 2,
        "seed": 42,
        "stop": ["\n\n", "END"],
        "reasoning_effort": "low",
        "temperature": 0.3,
        "top_p": 0.9,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "logit_bias": {"50256": -100},
        "n": 1,
        "user": "customer-7",
        "max_completion_tokens": 50,
    }
    with sdk(gateway) as client:
        client.chat.completions.create(model="echo", **params)
    seen = gateway.up1.request_with(word)
    body = seen["body"]
    assert body["model"] == "echo"
    tokens = params.pop("max_completion_tokens")
    # The issue allows mapping max_completion_tokens <-> max_tokens for upstreams that know one.
    assert body.get("max_completion_tokens", body.get("max_tokens")) == tokens
    for name, value in params.items():
        assert body.get(name) == value, f"{name}: sent {value!r}, upstream saw {body.get(name)!r}"
    extra = set(body) - set(params) - {"model", "max_completion_tokens", "max_tokens", "stream"}
    assert not extra, f"Shoal added {extra} to a non-streamed request"


def test_the_upstream_sees_its_own_key_and_never_the_clients(gateway: Gateway) -> None:
    word = marker()
    with sdk(gateway) as client:
        client.chat.completions.create(model="echo", messages=user(word))
    headers = gateway.up1.request_with(word)["headers"]
    assert headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert not any(gateway.key in value for value in headers.values()), headers


def test_non_openai_parameters_in_extra_body_pass_through(gateway: Gateway) -> None:
    """vLLM and llama.cpp take sampling knobs OpenAI lacks (``top_k``, ``min_p``); a gateway in
    front of them passes what it does not know, as the SDK's ``extra_body`` sends it."""
    word = marker()
    with sdk(gateway) as client:
        client.chat.completions.create(
            model="echo", messages=user(word), extra_body={"top_k": 20, "min_p": 0.05}
        )
    body = gateway.up1.request_with(word)["body"]
    assert (body.get("top_k"), body.get("min_p")) == (20, 0.05)


def test_logprobs_and_fingerprint_come_back_from_the_upstream(gateway: Gateway) -> None:
    with sdk(gateway) as client:
        completion = client.chat.completions.create(
            model="echo", messages=user("two words"), logprobs=True, top_logprobs=1
        )
    logprobs = completion.choices[0].logprobs
    assert logprobs is not None and logprobs.content is not None
    assert "".join(entry.token for entry in logprobs.content) == "echo: two words"
    assert completion.system_fingerprint == "fp_fake_upstream"


def test_streamed_chat_reassembles_and_gives_no_usage_unless_asked(gateway: Gateway) -> None:
    word = marker()
    with sdk(gateway) as client:
        stream = client.chat.completions.create(model="echo", messages=user(f"stream {word}"), stream=True)
        chunks = list(stream)
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert all(chunk.choices for chunk in chunks), "a usage-only chunk came without include_usage"
    assert all(chunk.usage is None for chunk in chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == f"echo: stream {word}"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len({chunk.id for chunk in chunks}) == 1
    # Shoal bills what the upstream reports, so it asks for usage even when the client does not.
    body = gateway.up1.request_with(word)["body"]
    assert body["stream"] is True
    assert body["stream_options"]["include_usage"] is True


def test_streamed_chat_with_include_usage_ends_with_a_usage_chunk(gateway: Gateway) -> None:
    word = marker()
    with sdk(gateway) as client:
        stream = client.chat.completions.create(
            model="echo",
            messages=user(f"count me {word}"),
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (3, 4, 7)
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == f"echo: count me {word}"


def test_stream_headers_and_raw_frames(gateway: Gateway) -> None:
    body = {"model": "echo", "messages": user("raw frames"), "stream": True}
    with httpx.stream(
        "POST", f"{gateway.v1}/chat/completions", json=body, timeout=30,
        headers={"Authorization": f"Bearer {gateway.key}"},
    ) as response:  # fmt: skip
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        assert response.headers.get("cache-control") == "no-cache"
        assert response.headers.get("x-request-id")
        lines = list(sse_lines(response))
    events = data_events(lines)
    assert events[-1] == "[DONE]"
    assert events.count("[DONE]") == 1
    assert all(event["object"] == "chat.completion.chunk" for event in events[:-1])


def test_tools_plain(gateway: Gateway) -> None:
    word = marker()
    with sdk(gateway) as client:
        completion = client.chat.completions.create(
            model="tools", messages=user(word), tools=[WEATHER_TOOL], tool_choice="auto"
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].type == "function" and calls[0].id.startswith("call_")
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": word, "days": 1}
    body = gateway.up1.request_with(word)["body"]
    assert body["tools"] == [WEATHER_TOOL] and body["tool_choice"] == "auto"


def test_tools_streamed_reassemble(gateway: Gateway) -> None:
    word = marker()
    with sdk(gateway) as client:
        stream = client.chat.completions.create(
            model="tools", messages=user(word), tools=[WEATHER_TOOL], stream=True
        )
        calls: dict[int, dict[str, str]] = {}
        finish = None
        for chunk in stream:
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            for call in delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += call.id or ""
                if call.function is not None:
                    entry["name"] += call.function.name or ""
                    entry["arguments"] += call.function.arguments or ""
            finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert list(calls) == [0]
    assert calls[0]["id"].startswith("call_") and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": word, "days": 1}


def test_keepalive_comments_while_the_first_token_is_slow(gateway: Gateway) -> None:
    body = {"model": "slow", "messages": user("take your time"), "stream": True}
    started = time.monotonic()
    with httpx.stream(
        "POST", f"{gateway.v1}/chat/completions", json=body, timeout=30,
        headers={"Authorization": f"Bearer {gateway.key}"},
    ) as response:  # fmt: skip
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = list(sse_lines(response))
    assert time.monotonic() - started >= SLOW_FIRST_SECONDS
    first_data = next(i for i, line in enumerate(lines) if line.startswith("data:"))
    comments = [line for line in lines[:first_data] if line.startswith(":")]
    # 1.5 s of waiting at one comment every 0.3 s: several, however the timing falls.
    assert len(comments) >= int(SLOW_FIRST_SECONDS / KEEPALIVE_SECONDS) // 2, lines[: first_data + 1]
    assert all(line.strip() == ": ping" for line in comments), comments
    assert (
        "".join(
            event["choices"][0]["delta"].get("content") or ""
            for event in data_events(lines)
            if event != "[DONE]" and event["choices"]
        )
        == "echo: take your time"
    )


def test_the_sdk_parses_a_stream_with_keepalives(gateway: Gateway) -> None:
    with sdk(gateway) as client:
        stream = client.chat.completions.create(model="slow", messages=user("slow but sure"), stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "echo: slow but sure"


@pytest.mark.asyncio
async def test_async_plain_and_streamed(gateway: Gateway) -> None:
    word = marker()
    async with async_sdk(gateway) as client:
        completion = await client.chat.completions.create(model="echo", messages=user(f"async {word}"))
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=user(f"async stream {word}"), stream=True,
            stream_options={"include_usage": True},
        )  # fmt: skip
        chunks = [chunk async for chunk in stream]
    assert completion.choices[0].message.content == f"echo: async {word}"
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"echo: async stream {word}"
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


@pytest.mark.asyncio
async def test_async_tools_streamed(gateway: Gateway) -> None:
    word = marker()
    async with async_sdk(gateway) as client:
        stream = await client.chat.completions.create(
            model="tools", messages=user(word), tools=[WEATHER_TOOL], stream=True
        )
        arguments = ""
        name = ""
        async for chunk in stream:
            for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                if call.function is not None:
                    name += call.function.name or ""
                    arguments += call.function.arguments or ""
    assert name == "get_weather"
    assert json.loads(arguments) == {"city": word, "days": 1}


def test_models_lists_the_chat_models(gateway: Gateway) -> None:
    with sdk(gateway) as client:
        listed = {model.id: model.model_dump() for model in client.models.list()}
    for name in ("echo", "failover", "tools", "slow", "endless", "gpt-4o-mini"):
        assert name in listed, f"{name} missing from /v1/models"
        assert listed[name]["kind"] == "chat"
        assert listed[name]["object"] == "model"
    assert listed["gpt-4o-mini"].get("serves") == "echo"
    prices = listed["echo"]["price"]
    assert 1000.0 in prices.values() and 2000.0 in prices.values(), prices
    # Speech models are still listed alongside.
    assert listed["tts-1"]["kind"] == "tts"
