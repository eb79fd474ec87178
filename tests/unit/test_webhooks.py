"""Callback safety and signing: URL checks, every forbidden address range, the allowlist,
retry timing, and Standard Webhooks signatures checked with the official ``standardwebhooks`` library.
"""

from __future__ import annotations

import base64
import json
import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from ipaddress import ip_address

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from shoal.errors import InvalidRequest
from shoal.tasks.delivery import (
    MAX_RETRY_AFTER_SECONDS,
    callback_payload,
    encode_payload,
    retry_after_seconds,
    retry_delay,
    signed_headers,
)
from shoal.tasks.secrets import new_secret, signature_header
from shoal.tasks.webhooks import (
    CallbackBlocked,
    CallbackClient,
    CallbackUnresolvable,
    check_callback_url,
    forbidden_reason,
    resolve_safely,
    vet_callback_url,
)

# --- check_callback_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks/shoal",
        "http://example.com:8080/cb?task=1&x=%20",
        "https://exämple.com/x",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
    ],
)
def test_good_urls_pass(url: str) -> None:
    check_callback_url(url)


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("https:///hook", "no host"),
        ("https://user:secret@example.com/hook", "credentials"),
        ("http://example.com\\@evil.example/", "credentials"),
        ("https://example.com:99999/hook", "port"),
        ("https://example.com/a b", "spaces"),
        ("https://example.com/\r\nX-Injected: 1", "control characters"),
        ("https://example.com/" + "a" * 2048, "limit is 2048"),
    ],
)
def test_bad_urls_say_what_to_fix(url: str, fix: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_callback_url(url)
    assert caught.value.param == "callback_url"
    assert caught.value.code == "invalid_callback_url"
    assert fix in caught.value.message


def test_an_ip_literal_is_refused_before_any_resolution() -> None:
    with pytest.raises(CallbackBlocked, match=r"127\.0\.0\.1, a loopback address"):
        check_callback_url("http://127.0.0.1:9000/hook")
    with pytest.raises(CallbackBlocked, match="cloud metadata"):
        check_callback_url("http://169.254.169.254/latest/meta-data/")
    check_callback_url("http://127.0.0.1:9000/hook", ["127.0.0.0/8"])


# --- the forbidden ranges -------------------------------------------------------------------------

FORBIDDEN = {
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "::1": "loopback",
    "10.0.0.1": "private",
    "172.16.5.4": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "169.254.169.254": "metadata",
    "169.254.1.1": "link-local",
    "fe80::1": "link-local",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.254": "carrier-grade NAT",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "192.0.2.10": "not publicly routable",
    "198.18.0.1": "not publicly routable",
    "::ffff:127.0.0.1": "loopback address, embedded in an IPv6 address",
    "::ffff:10.1.2.3": "private address, embedded",
    "::ffff:169.254.169.254": "metadata address, embedded",
    "64:ff9b::a00:1": "private address, embedded",  # NAT64 of 10.0.0.1
    "2002:7f00:1::": "loopback address, embedded",  # 6to4 of 127.0.0.1
}


@pytest.mark.parametrize(("address", "reason"), FORBIDDEN.items())
@pytest.mark.asyncio(loop_scope="session")
async def test_forbidden_addresses_are_refused(address: str, reason: str) -> None:
    assert reason in (forbidden_reason(ip_address(address)) or "")
    with pytest.raises(CallbackBlocked) as caught:
        await resolve_safely(address, 443)
    assert caught.value.param == "callback_url"
    assert "tasks.callback_allow_networks" in caught.value.message


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
@pytest.mark.asyncio(loop_scope="session")
async def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(ip_address(address)) is None
    assert await resolve_safely(address, 443) == [ip_address(address)]


@pytest.mark.asyncio(loop_scope="session")
async def test_host_names_are_judged_by_what_they_resolve_to() -> None:
    with pytest.raises(CallbackBlocked, match="resolves only to addresses"):
        await resolve_safely("localhost", 80)
    # Legacy IPv4 spellings are names to the URL parser; the resolver turns them into 127.0.0.1.
    for spelling in ("2130706433", "127.1", "0x7f.1"):
        with pytest.raises(CallbackBlocked):
            await resolve_safely(spelling, 80)
    with pytest.raises(CallbackUnresolvable, match="does not resolve"):
        await resolve_safely("no-such-host.invalid", 80)
    with pytest.raises(CallbackBlocked):
        await vet_callback_url("http://localhost:8080/hook")


@pytest.mark.asyncio(loop_scope="session")
async def test_the_allowlist_opens_exactly_its_networks() -> None:
    assert await resolve_safely("10.1.2.3", 80, ["10.0.0.0/8"]) == [ip_address("10.1.2.3")]
    assert await resolve_safely("::ffff:10.1.2.3", 80, ["10.0.0.0/8"]) == [ip_address("::ffff:10.1.2.3")]
    with pytest.raises(CallbackBlocked):
        await resolve_safely("192.168.0.1", 80, ["10.0.0.0/8"])
    with pytest.raises(CallbackBlocked):
        await resolve_safely("169.254.169.254", 80, ["10.0.0.0/8"])
    # localhost resolves to 127.0.0.1 and perhaps ::1; only the allowlisted address is used.
    assert await resolve_safely("localhost", 80, ["127.0.0.0/8"]) == [ip_address("127.0.0.1")]
    await vet_callback_url("http://localhost:8080/hook", ["127.0.0.0/8", "::1/128"])


def test_a_malformed_allowlist_fails_when_the_client_is_made() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        CallbackClient(["10.0.0.0/33"])


# --- retry timing ---------------------------------------------------------------------------------


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_retry_delay_follows_the_schedule_with_jitter_and_retry_after() -> None:
    schedule = [5.0, 300.0]
    rng = random.Random(7)
    delays = [retry_delay(schedule, 1, None, rng) for _ in range(200)]
    assert all(d is not None and 4.0 <= d <= 6.0 for d in delays)
    assert len({round(d or 0, 3) for d in delays}) > 100  # jittered, not one fixed value
    assert 240.0 <= (retry_delay(schedule, 2, None, rng) or 0) <= 360.0
    assert retry_delay(schedule, 3, None, rng) is None  # schedule used up: give up
    assert retry_delay(schedule, 1, 60.0, rng) == 60.0  # a longer Retry-After wins
    assert (retry_delay(schedule, 2, 1.0, rng) or 0) >= 240.0  # a shorter one does not
    assert retry_delay(schedule, 1, 10 * 365 * 86400.0, rng) == MAX_RETRY_AFTER_SECONDS


# --- signatures -----------------------------------------------------------------------------------


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", first)
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_signatures_verify_with_the_standard_webhooks_library() -> None:
    old, new = new_secret(), new_secret()
    payload = callback_payload("t1", "succeeded", json.dumps({"audio_url": "https://x/a.mp3"}), None, None)
    body = encode_payload(payload)
    now = int(datetime.now(UTC).timestamp())
    headers = signed_headers([new, old], "t1", body, now)
    assert headers["webhook-id"] == "msg_t1"
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, headers) == payload
    assert Webhook(old).verify(body, headers) == payload
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace(b"a.mp3", b"b.mp3"), headers)
    stale = signed_headers([new], "t1", body, now - 3600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(new).verify(body, stale)


def test_non_ascii_bodies_sign_as_sent() -> None:
    secret = new_secret()
    body = encode_payload(
        callback_payload("t2", "succeeded", json.dumps({"text": "Grüße, 世界"}), None, None)
    )
    timestamp = int(datetime.now(UTC).timestamp())
    header = signature_header([secret], "msg_t2", timestamp, body)
    headers = {"webhook-id": "msg_t2", "webhook-timestamp": str(timestamp), "webhook-signature": header}
    assert Webhook(secret).verify(body, headers)["text"] == "Grüße, 世界"


def test_payload_shape() -> None:
    finished = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)
    result = {"audio_url": "https://h/a", "duration": 1.5, "status": "hijack", "task_id": "other"}
    ok = callback_payload("t3", "succeeded", json.dumps(result), None, finished)
    assert ok == {
        "type": "task.succeeded",
        "timestamp": "2026-12-01T12:00:05.000Z",
        "task_id": "t3",
        "status": "succeeded",
        "audio_url": "https://h/a",
        "duration": 1.5,
    }
    failed = callback_payload("t4", "failed", None, "engine failed: out of memory", finished)
    assert failed["type"] == "task.failed"
    assert failed["error"] == "engine failed: out of memory"
    assert "audio_url" not in failed
    # A naive timestamp (SQLite hands them back so) is UTC.
    assert callback_payload("t5", "succeeded", None, None, finished.replace(tzinfo=None))["timestamp"] == (
        "2026-12-01T12:00:05.000Z"
    )
