"""Chat errors as the ``openai`` SDK sees them: status codes, the ``{error: {…}}`` envelope with
``x-request-id``, and errors after the stream started sent as an SSE error event without ``[DONE]``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion

from tests.gateway.conftest import UPSTREAM_KEY, Gateway
from tests.gateway.helpers import assert_envelope, data_events, marker, sdk, sse_lines, user

pytestmark = pytest.mark.e2e


def post(
    gateway: Gateway, body: Any, *, key: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST a chat body with ``key`` (the gateway's standard key by default) or exactly ``headers``."""
    if headers is None:
        headers = {"Authorization": f"Bearer {key or gateway.key}"}
    return httpx.post(f"{gateway.v1}/chat/completions", json=body, headers=headers, timeout=30)


def assert_error_response(response: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-request-id"), "error responses carry x-request-id"
    return assert_envelope(response.json())


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic eDp5"}])
def test_no_key_is_401(gateway: Gateway, headers: dict[str, str]) -> None:
    # The SDK itself refuses to send a request without a key, so this one goes raw.
    response = post(gateway, {"model": "echo", "messages": user("hi")}, headers=headers)
    assert assert_error_response(response, 401)["type"] == "authentication_error"


def test_bad_key_is_authentication_error(gateway: Gateway) -> None:
    with (
        sdk(gateway, key="sk-not-a-shoal-key") as client,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        client.chat.completions.create(model="echo", messages=user("hi"))
    assert caught.value.status_code == 401
    assert caught.value.response.headers.get("x-request-id")
    assert_envelope(caught.value.response.json())


def test_unknown_model_is_not_found(gateway: Gateway) -> None:
    with sdk(gateway) as client, pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-9-imaginary", messages=user("hi"))
    assert caught.value.code == "model_not_found"
    assert "gpt-9-imaginary" in caught.value.message
    assert_envelope(caught.value.response.json())


def test_unknown_model_streamed_is_a_plain_404(gateway: Gateway) -> None:
    response = post(gateway, {"model": "gpt-9-imaginary", "messages": user("hi"), "stream": True})
    assert assert_error_response(response, 404)["code"] == "model_not_found"


def test_missing_messages_says_what_to_fix(gateway: Gateway) -> None:
    with sdk(gateway) as client, pytest.raises(openai.BadRequestError) as caught:
        client.post("/chat/completions", body={"model": "echo"}, cast_to=ChatCompletion)
    assert caught.value.status_code == 400
    assert "messages" in caught.value.message
    assert caught.value.param == "messages"
    assert caught.value.code == "missing_required_parameter"
    assert caught.value.response.headers.get("x-request-id")
    assert_envelope(caught.value.response.json())


def test_malformed_json_is_400(gateway: Gateway) -> None:
    response = httpx.post(
        f"{gateway.v1}/chat/completions", content=b'{"model": "echo", "messages": [', timeout=30,
        headers={"Authorization": f"Bearer {gateway.key}", "Content-Type": "application/json"},
    )  # fmt: skip
    assert_error_response(response, 400)


def test_empty_messages_is_400(gateway: Gateway) -> None:
    assert_error_response(post(gateway, {"model": "echo", "messages": []}), 400)


def test_upstream_400_reaches_the_client_with_its_message_and_param(gateway: Gateway) -> None:
    with sdk(gateway) as client, pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="bad", messages=user("hi"), temperature=7)
    assert caught.value.status_code == 400
    assert "temperature" in caught.value.message
    assert caught.value.param == "temperature"
    assert caught.value.code == "invalid_value"
    assert caught.value.response.headers.get("x-request-id")


def test_upstream_400_does_not_open_the_breaker(gateway: Gateway) -> None:
    """A request the upstream refuses is the client's fault: the deployment stays healthy."""
    with sdk(gateway) as client:
        for _ in range(3):
            with pytest.raises(openai.BadRequestError):
                client.chat.completions.create(model="bad", messages=user("hi"))
    states = [entry for entry in gateway.upstreams() if entry["model"] == "bad"]
    assert [entry["state"] for entry in states] == ["closed"]


def test_upstream_500_everywhere_is_a_5xx_in_the_envelope(gateway: Gateway) -> None:
    with sdk(gateway) as client:
        for _ in range(3):  # the breaker opens on the way: the answer stays a 5xx envelope
            with pytest.raises(openai.APIStatusError) as caught:
                client.chat.completions.create(model="broken", messages=user("hi"))
            assert caught.value.status_code in (502, 503)
            assert caught.value.response.headers.get("x-request-id")
            error = assert_envelope(caught.value.response.json())
            if caught.value.status_code == 503:
                assert caught.value.response.headers.get("retry-after"), "503 carries Retry-After"
    assert UPSTREAM_KEY not in error["message"]


def test_upstream_500_streamed_is_refused_before_the_stream_starts(gateway: Gateway) -> None:
    """No deployment answered, so nothing was sent yet: a plain 5xx, not a 200 with an error event."""
    response = post(gateway, {"model": "broken", "messages": user("hi"), "stream": True})
    assert_error_response(response, (502, 503))


def test_upstream_429_is_a_retryable_error_with_retry_after(gateway: Gateway) -> None:
    response = post(gateway, {"model": "limited", "messages": user("hi")})
    assert_error_response(response, (429, 503))
    assert response.headers.get("retry-after")


def test_zero_balance_is_402(gateway: Gateway) -> None:
    broke = gateway.prepaid_key("0")
    with sdk(gateway, key=broke) as client, pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="echo", messages=user("hi"))
    assert caught.value.status_code == 402
    assert caught.value.code == "insufficient_balance"
    assert caught.value.response.headers.get("x-request-id")
    assert_envelope(caught.value.response.json())


def test_zero_balance_streamed_is_402_before_the_stream(gateway: Gateway) -> None:
    broke = gateway.prepaid_key("0")
    response = post(gateway, {"model": "echo", "messages": user("hi"), "stream": True}, key=broke)
    assert assert_error_response(response, 402)["code"] == "insufficient_balance"


def test_an_error_mid_stream_is_an_error_event_without_done(gateway: Gateway) -> None:
    word = marker()
    body = {"model": "flaky", "messages": user(f"a b c {word}"), "stream": True}
    with httpx.stream(
        "POST", f"{gateway.v1}/chat/completions", json=body, timeout=30,
        headers={"Authorization": f"Bearer {gateway.key}"},
    ) as response:  # fmt: skip
        assert response.status_code == 200
        lines = list(sse_lines(response))  # Shoal ends its own stream cleanly
    events = data_events(lines)
    assert "[DONE]" not in events
    assert events, lines
    assert events[0]["object"] == "chat.completion.chunk"  # what arrived before the cut was passed on
    last = events[-1]
    assert set(last) == {"error"}, last
    assert_envelope(last)


def test_the_sdk_raises_on_a_mid_stream_error(gateway: Gateway) -> None:
    with sdk(gateway) as client:
        stream = client.chat.completions.create(model="flaky", messages=user("a b c"), stream=True)
        with pytest.raises(openai.APIError):
            for _ in stream:
                pass


def test_an_upstream_cut_before_the_body_ends_is_a_5xx(gateway: Gateway) -> None:
    assert_error_response(post(gateway, {"model": "flaky", "messages": user("hi")}), (502, 503))


def test_a_failure_after_keepalives_began_is_an_error_event(gateway: Gateway) -> None:
    """The upstream takes 1 s to fail; Shoal has started the stream with keep-alives by then, so
    the failure can only be an error event, and the stream ends without ``[DONE]``."""
    body = {"model": "broken-slow", "messages": user("hi"), "stream": True}
    with httpx.stream(
        "POST", f"{gateway.v1}/chat/completions", json=body, timeout=30,
        headers={"Authorization": f"Bearer {gateway.key}"},
    ) as response:  # fmt: skip
        assert response.status_code == 200
        lines = list(sse_lines(response))
    assert lines[0].startswith(":"), lines
    events = data_events(lines)
    assert "[DONE]" not in events
    assert len(events) == 1 and set(events[0]) == {"error"}, events
    assert_envelope(events[0])


def test_failed_chats_cost_nothing(gateway: Gateway) -> None:
    key = gateway.prepaid_key("5")
    for model, stream in [("bad", False), ("broken", False), ("broken", True), ("broken-slow", True)]:
        post(gateway, {"model": model, "messages": user("hi"), "stream": stream}, key=key)
    assert gateway.balance(key) == 5


def test_failed_chats_do_not_announce_a_charge(gateway: Gateway) -> None:
    key = gateway.prepaid_key("5")
    for model in ("bad", "broken"):
        response = post(gateway, {"model": model, "messages": user("hi")}, key=key)
        assert response.status_code >= 400
        assert Decimal(response.headers.get("x-shoal-cost", "0")) == 0, (model, dict(response.headers))
        assert Decimal(response.headers.get("x-shoal-balance", "5")) == 5, (model, dict(response.headers))
