"""The live TTS WebSocket on the platform: per-piece credit, running out of it, and the concurrency slot.

A real ``shoal serve`` with prepaid keys made by the CLI, driven by raw ``websockets``
frames and, for the out-of-credit case, the official SDK.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.conftest import launch, run_cli, stop

pytestmark = pytest.mark.e2e

PRICE_PER_BYTE = Decimal(15) / 1_000_000
SENTENCES = [f"Sentence number {n} is spoken here." for n in range(1, 7)]


def pack(event: dict[str, Any]) -> bytes:
    data: bytes = msgpack.packb(event, use_bin_type=True)
    return data


START = pack({"event": "start", "request": {"text": "", "format": "pcm", "sample_rate": 16000}})
STOP = pack({"event": "stop"})
FLUSH = pack({"event": "flush"})


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("live-billing")
    base_url, process, _log = launch(data_dir)
    yield base_url, data_dir
    stop(process)


def new_key(data_dir: Path, *flags: str) -> str:
    created = run_cli("keys", "create", "--name", "live", *flags, data_dir=data_dir)
    return created.stdout.strip().splitlines()[-1]


def balance(base_url: str, key: str) -> Decimal:
    response = httpx.get(f"{base_url}/wallet/self/api-credit", headers={"Authorization": f"Bearer {key}"})
    response.raise_for_status()
    return Decimal(response.json()["credit"])


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/v1/tts/live"


async def session(base_url: str, key: str, frames: list[bytes]) -> tuple[int, dict[str, Any]]:
    """Send ``frames``; returns (audio bytes received, the finish event)."""
    audio = 0
    async with websockets.connect(
        ws_url(base_url), additional_headers={"Authorization": f"Bearer {key}"}
    ) as ws:
        for frame in frames:
            await ws.send(frame)
        async for message in ws:
            assert isinstance(message, bytes)
            event = msgpack.unpackb(message)
            if event["event"] == "audio":
                audio += len(event["audio"])
            elif event["event"] == "finish":
                return audio, event
    raise AssertionError("the socket closed without a finish event")


def test_each_piece_is_billed_and_the_balance_falls_by_the_text_spoken(live_server: tuple[str, Path]) -> None:
    base_url, data_dir = live_server
    key = new_key(data_dir, "--credits", "5")
    before = balance(base_url, key)
    text = " ".join(SENTENCES[:2])
    audio, finish = asyncio.run(
        session(base_url, key, [START, pack({"event": "text", "text": text}), FLUSH, STOP])
    )
    assert finish == {"event": "finish", "reason": "stop"}
    assert audio > 16000  # over half a second of 16-bit audio at 16 kHz
    spent = before - balance(base_url, key)
    # Pieces are cut at clause boundaries; the spaces between them may not be billed.
    assert len(text.encode()) - 4 <= spent / PRICE_PER_BYTE <= len(text.encode())


def test_a_session_that_runs_out_of_credit_ends_with_a_finish_error_that_says_so(
    live_server: tuple[str, Path],
) -> None:
    base_url, data_dir = live_server
    # Enough for about two of the six sentences.
    credits = PRICE_PER_BYTE * len((SENTENCES[0] + SENTENCES[1]).encode())
    key = new_key(data_dir, "--credits", str(credits))
    frames = [START, *(pack({"event": "text", "text": s + " "}) for s in SENTENCES), FLUSH, STOP]
    audio, finish = asyncio.run(session(base_url, key, frames))
    assert finish["reason"] == "error"
    assert "out of credit" in finish["message"]
    assert audio > 0  # what was paid for was spoken first
    remaining = balance(base_url, key)
    assert Decimal(0) <= remaining < PRICE_PER_BYTE * len(SENTENCES[2].encode())


def test_the_sdk_sees_the_out_of_credit_finish_as_an_error(live_server: tuple[str, Path]) -> None:
    from fishaudio import FishAudio
    from fishaudio.exceptions import WebSocketError

    base_url, data_dir = live_server
    key = new_key(data_dir, "--credits", str(PRICE_PER_BYTE * 10))
    client = FishAudio(api_key=key, base_url=base_url)
    # The SDK drops finish's message; the raw-frame test above checks what it says.
    with pytest.raises(WebSocketError, match="ended with error"):
        for _ in client.tts.stream_websocket(iter(SENTENCES), format="pcm"):
            pass


def test_an_open_socket_holds_its_concurrency_slot_until_it_closes(live_server: tuple[str, Path]) -> None:
    base_url, data_dir = live_server
    key = new_key(data_dir, "--credits", "5", "--concurrency", "1")
    headers = {"Authorization": f"Bearer {key}"}

    async def scenario() -> float:
        first = await websockets.connect(ws_url(base_url), additional_headers=headers)
        await first.send(START)
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(ws_url(base_url), additional_headers=headers)
        response = refused.value.response
        assert response.status_code == 429
        assert response.headers["x-ratelimit-limit-concurrency"] == "1"
        assert int(response.headers["retry-after"]) >= 1
        await first.send(STOP)
        await first.close()
        closed = time.monotonic()
        while True:
            try:
                second = await websockets.connect(ws_url(base_url), additional_headers=headers)
            except InvalidStatus:
                assert time.monotonic() - closed < 2, "the slot was not freed within 2 s of the close"
                await asyncio.sleep(0.05)
                continue
            await second.close()
            return time.monotonic() - closed

    assert asyncio.run(scenario()) < 2
