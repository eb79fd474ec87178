"""Small helpers shared by the gateway tests: unique markers, SDK clients, raw SSE reading."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai

from tests.gateway.conftest import Gateway


def marker() -> str:
    """A word no other test sends, to find this test's request in the upstream's log."""
    return f"m{uuid.uuid4().hex[:12]}"


def sdk(gateway: Gateway, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=key or gateway.key, max_retries=0, timeout=30)


def async_sdk(gateway: Gateway, key: str | None = None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.v1, api_key=key or gateway.key, max_retries=0, timeout=30)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def sse_lines(response: httpx.Response) -> Iterator[str]:
    """Non-empty lines of an SSE body, comments (``: ping``) included."""
    for line in response.iter_lines():
        if line:
            yield line


def data_events(lines: list[str]) -> list[Any]:
    """The ``data:`` payloads, JSON-decoded except ``[DONE]``."""
    events: list[Any] = []
    for line in lines:
        if line.startswith("data:"):
            payload = line[5:].strip()
            events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def assert_envelope(body: Any) -> dict[str, Any]:
    """OpenAI's error envelope: message and type are strings; param and code null or real strings."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert {"message", "type", "param", "code"} <= set(error), error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["type"], str) and error["type"] and error["type"] != "None", error
    for field in ("param", "code"):
        assert error[field] is None or (isinstance(error[field], str) and error[field] not in ("None", "")), (
            error
        )
    return dict(error)
