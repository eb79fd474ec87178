"""Streaming behaviour against a real server: disconnects, concurrency, graceful shutdown."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.audio_checks import assert_speech, decode
from tests.conftest import RunningServer, launch, run_cli, stop

pytestmark = pytest.mark.e2e

LONG_TEXT = " ".join(f"This is sentence number {n}, spoken to test long streams." for n in range(1, 41))


def piper_stats(base_url: str) -> dict[str, int]:
    engines = httpx.get(f"{base_url}/health", timeout=5).json()["engines"]
    piper: dict[str, int] = next(engine for engine in engines if engine["name"] == "piper")
    return piper


def test_client_disconnect_stops_synthesis(server: RunningServer) -> None:
    before = piper_stats(server.base_url)["pieces"]
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with (
        httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client,
        client.stream("POST", "/v1/tts", json={"text": LONG_TEXT, "format": "pcm"}) as response,
    ):
        assert response.status_code == 200
        first = next(response.iter_raw())
        assert first
    # The request leaves the engine's queue soon after the client is gone...
    deadline = time.monotonic() + 20
    while piper_stats(server.base_url)["admitted"] and time.monotonic() < deadline:
        time.sleep(0.1)
    settled = piper_stats(server.base_url)
    assert settled["admitted"] == 0
    # ...having synthesized only a part of the 40 sentences, and nothing more afterwards.
    assert settled["pieces"] - before < 30
    time.sleep(1.0)
    assert piper_stats(server.base_url)["pieces"] == settled["pieces"]


def test_concurrent_requests_all_complete(server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}"}

    def one(n: int) -> bytes:
        body = {"text": f"Concurrent request number {n} is being spoken now.", "format": "mp3"}
        response = httpx.post(f"{server.base_url}/v1/tts", json=body, headers=headers, timeout=120)
        assert response.status_code == 200
        return response.content

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, range(6)))
    for audio in results:
        assert_speech(decode(audio), min_seconds=1.5, max_seconds=6)


def test_shutdown_lets_running_streams_finish(tmp_path: Path) -> None:
    key = run_cli("keys", "create", "--name", "shutdown", data_dir=tmp_path).stdout.strip().splitlines()[-1]
    base_url, process, _log = launch(tmp_path)
    text = " ".join(LONG_TEXT.split(". ")[:8]) + "."
    parts: list[bytes] = []
    body = {"text": text, "format": "wav", "latency": "low"}
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with (
            httpx.Client(base_url=base_url, headers=headers, timeout=120) as client,
            client.stream("POST", "/v1/tts", json=body) as response,
        ):
            chunks = response.iter_raw()
            parts.append(next(chunks))
            process.terminate()  # SIGTERM while the stream is running
            parts.extend(chunks)
    finally:
        stop(process)
    audio = decode(b"".join(parts))
    # Eight sentences of about 3 s each arrived whole, not cut at the signal.
    assert_speech(audio, min_seconds=16, max_seconds=40)
