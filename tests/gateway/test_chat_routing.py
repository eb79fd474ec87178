"""Routing and money on the chat gateway: failover past a dead deployment, the circuit breaker,
cancellation reaching the upstream, and billing from the upstream's usage."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import openai
import pytest

from tests.gateway.conftest import PRICE_IN, PRICE_OUT, Gateway
from tests.gateway.helpers import data_events, marker, sdk, user

pytestmark = pytest.mark.e2e


def cost(prompt_tokens: int, completion_tokens: int) -> Decimal:
    return (
        Decimal(prompt_tokens) * Decimal(str(PRICE_IN)) + Decimal(completion_tokens) * Decimal(str(PRICE_OUT))
    ) / (1_000_000)


def deployments(gateway: Gateway, model: str) -> dict[str, dict[str, object]]:
    listed = gateway.upstreams()
    return {entry["upstream"]: entry for entry in listed if entry["model"] == model}


def test_failover_past_a_dead_deployment(gateway: Gateway) -> None:
    word = marker()
    with sdk(gateway) as client:
        for n in range(3):
            completion = client.chat.completions.create(model="failover", messages=user(f"{word} {n}"))
            assert completion.choices[0].message.content == f"echo: {word} {n}"
        health = deployments(gateway, "failover")
        assert health["dead"]["state"] == "open"  # one connection refused opens it (failure_threshold 1)
        assert health["dead"]["last_error"]
        assert health["up1"]["state"] == "closed"
        # Resting, the dead deployment is not tried: answers come at once.
        for n in range(3):
            started = time.monotonic()
            client.chat.completions.create(model="failover", messages=user(f"{word} fast {n}"))
            assert time.monotonic() - started < 1.0
    assert len(gateway.up1.requests_with(word)) == 6
    assert {entry["body"]["model"] for entry in gateway.up1.requests_with(word)} == {"echo"}


def test_the_breaker_opens_on_an_upstream_answering_503(gateway: Gateway) -> None:
    word = marker()
    gateway.up2.fail_all(True)
    try:
        with sdk(gateway) as client:
            for n in range(8):  # up2 weighs 100 to up1's 1: it is tried first until its breaker opens
                completion = client.chat.completions.create(model="resilient", messages=user(f"{word} {n}"))
                assert completion.choices[0].message.content == f"echo: {word} {n}"
                if deployments(gateway, "resilient")["up2"]["state"] == "open":
                    break
            health = deployments(gateway, "resilient")["up2"]
            assert health["state"] == "open"
            assert health["consecutive_failures"] == 2
            tried = len(gateway.up2.requests_with(word))
            assert tried == 2
            for n in range(3):
                client.chat.completions.create(model="resilient", messages=user(f"{word} after {n}"))
        assert len(gateway.up2.requests_with(word)) == tried, "an open breaker still sent requests"
    finally:
        gateway.up2.fail_all(False)


def test_the_upstreams_table_needs_an_admin_key(gateway: Gateway) -> None:
    response = httpx.get(
        f"{gateway.v1}/admin/upstreams", headers={"Authorization": f"Bearer {gateway.key}"}, timeout=10
    )
    assert response.status_code in (401, 403)
    listed = gateway.upstreams()
    for entry in listed:
        assert entry["state"] in ("closed", "open", "half_open")
        assert isinstance(entry["consecutive_failures"], int)
        assert entry["last_error"] is None or isinstance(entry["last_error"], str)
    assert {("echo", "up1"), ("failover", "dead"), ("failover", "up1")} <= {
        (entry["model"], entry["upstream"]) for entry in listed
    }


def test_a_chat_is_billed_from_the_upstreams_usage(gateway: Gateway) -> None:
    key = gateway.prepaid_key("100")
    with sdk(gateway, key=key) as client:
        raw = client.chat.completions.with_raw_response.create(model="echo", messages=user("one two three"))
    completion = raw.parse()
    assert completion.usage is not None
    usage = (completion.usage.prompt_tokens, completion.usage.completion_tokens)
    assert usage == (3, 4)
    expected = cost(*usage)  # 3 × 0.001 + 4 × 0.002
    assert Decimal(raw.headers["x-shoal-cost"]) == expected == Decimal("0.011")
    assert Decimal(raw.headers["x-shoal-balance"]) == Decimal(100) - expected
    assert Decimal(str(gateway.balance(key))) == Decimal(100) - expected


def test_an_alias_is_billed_at_its_models_price(gateway: Gateway) -> None:
    key = gateway.prepaid_key("100")
    with sdk(gateway, key=key) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=user("a b"))
    assert Decimal(raw.headers["x-shoal-cost"]) == cost(2, 3)


def test_a_streamed_chat_is_billed_without_include_usage(gateway: Gateway) -> None:
    key = gateway.prepaid_key("100")
    with sdk(gateway, key=key) as client:
        stream = client.chat.completions.create(model="echo", messages=user("one two three"), stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "echo: one two three"
    expected = Decimal(100) - cost(3, 4)
    deadline = time.monotonic() + 5  # a stream's charge settles as it ends
    while Decimal(str(gateway.balance(key))) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Decimal(str(gateway.balance(key))) == expected


def test_cancelling_a_stream_reaches_the_upstream_and_bills_the_part_sent(gateway: Gateway) -> None:
    key = gateway.prepaid_key("100")
    word = marker()
    body = {"model": "endless", "messages": user(f"go on {word}"), "stream": True}
    received = 0
    with httpx.stream(
        "POST", f"{gateway.v1}/chat/completions", json=body, timeout=30,
        headers={"Authorization": f"Bearer {key}"},
    ) as response:  # fmt: skip
        assert response.status_code == 200
        for line in response.iter_lines():
            received += len(data_events([line]))
            if received >= 6:
                break
    disconnect = gateway.up1.disconnect_of(word, timeout=5)
    assert disconnect is not None, "the upstream never saw the client leave"
    assert disconnect["chunks_sent"] < 200  # cut early, not run to its end
    deadline = time.monotonic() + 5
    while gateway.balance(key) >= 100 and time.monotonic() < deadline:
        time.sleep(0.1)
    spent = Decimal(100) - Decimal(str(gateway.balance(key)))
    assert spent > 0, "the partial output was not billed"
    # No more than what was produced (however Shoal counts tokens in a word): not the whole hold.
    assert spent <= cost(10, 3 * (disconnect["chunks_sent"] + 2))


def test_leaving_during_keepalives_cancels_the_upstream(gateway: Gateway) -> None:
    """The client goes while the first token is still awaited: the upstream learns it at once."""
    word = marker()
    body = {"model": "slow", "messages": user(f"never mind {word}"), "stream": True}
    with httpx.stream(
        "POST", f"{gateway.v1}/chat/completions", json=body, timeout=30,
        headers={"Authorization": f"Bearer {gateway.key}"},
    ) as response:  # fmt: skip
        first = next(line for line in response.iter_lines() if line)
    assert first.startswith(":")
    disconnect = gateway.up1.disconnect_of(word, timeout=1.0)  # before the upstream's 1.5 s are up
    assert disconnect is not None and disconnect["chunks_sent"] == 0


@pytest.mark.asyncio
async def test_closing_an_async_sdk_stream_cancels_the_upstream(gateway: Gateway) -> None:
    word = marker()
    async with openai.AsyncOpenAI(base_url=gateway.v1, api_key=gateway.key, max_retries=0) as client:
        stream = await client.chat.completions.create(model="endless", messages=user(word), stream=True)
        seen = 0
        async for _ in stream:
            seen += 1
            if seen >= 4:
                break
        await stream.close()
    assert gateway.up1.disconnect_of(word, timeout=5) is not None
