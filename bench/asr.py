"""Speech-to-text benchmark: Shoal over HTTP beside faster-whisper called directly, in one run.

Prints the real-time factor for 60 s of speech through ``POST /v1/asr`` beside the same
model called in process (the baseline) as a ratio; the round-trip word error rate of
sentences spoken by Shoal's own TTS; and the server's peak memory while transcribing a
long file (30 minutes by default) beside its peak for the 60 s file.

    python bench/asr.py [--runs 3] [--long-minutes 30]
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import psutil

from _server import running_server

SENTENCES = [
    "The morning train was late again, so everyone waited on the cold platform.",
    "She opened the window and listened to the rain falling on the garden.",
    "Our team reviewed the proposal and decided to move forward next week.",
    "A small boat drifted slowly across the quiet lake at sunset.",
    "Please remember to lock the door and turn off the lights before leaving.",
    "The museum will host a special exhibition about ancient maps this summer.",
    "He bought fresh bread, a bottle of milk and some apples at the market.",
    "Learning a new language takes patience, practice and a little courage.",
    "The engineers tested the bridge carefully before it opened to traffic.",
    "Children were playing football in the park until the sun went down.",
]


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return psutil.Process(pid).memory_info().rss / 2**20


def reset_peak(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0), so each measurement has its own peak."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def words(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> tuple[int, int]:
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, hyp_word in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref_word != hyp_word))
    return row[-1], len(ref)


def pcm16k(wav: bytes) -> np.ndarray:
    with av.open(io.BytesIO(wav)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        frames = [
            out.to_ndarray().reshape(-1) for f in container.decode(audio=0) for out in resampler.resample(f)
        ]
    return np.concatenate(frames)


def encode_mp3(samples: np.ndarray, bitrate: int = 48_000) -> bytes:
    sink = io.BytesIO()
    with av.open(sink, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=16000, layout="mono")
        stream.bit_rate = bitrate
        step = 16000 * 10
        for start in range(0, len(samples), step):
            frame = av.AudioFrame.from_ndarray(
                (samples[start : start + step] * 32767).astype(np.int16).reshape(1, -1),
                format="s16",
                layout="mono",
            )
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return sink.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs of the 60 s file per series")
    parser.add_argument("--long-minutes", type=float, default=30.0, help="length of the long file (minutes)")
    args = parser.parse_args()

    with running_server() as server, server.client() as client:
        # Speech from Shoal's own TTS: each sentence, and a 60 s recording made of them.
        spoken = {
            text: client.post("/v1/tts", json={"text": text, "format": "wav", "sample_rate": 16000}).content
            for text in SENTENCES
        }
        gap = np.zeros(8000, dtype=np.float32)
        pieces = [np.concatenate([pcm16k(wav), gap]) for wav in spoken.values()]
        minute = np.concatenate(pieces * 3)[: 16000 * 60]
        minute_mp3 = encode_mp3(minute)

        from faster_whisper import WhisperModel

        model_dir = next(Path(tempfile.gettempdir()).glob("shoal-bench-*/models/whisper-base"), None)
        assert model_dir is not None, "the server assembles the model into its data dir at start"
        model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=2)

        def direct() -> float:
            start = time.perf_counter()
            segments, _ = model.transcribe(
                pcm16k(minute_mp3), beam_size=1, vad_filter=True, condition_on_previous_text=False
            )
            list(segments)
            return (time.perf_counter() - start) / 60

        def over_http() -> float:
            start = time.perf_counter()
            response = client.post("/v1/asr", files={"audio": ("minute.mp3", minute_mp3)})
            response.raise_for_status()
            return (time.perf_counter() - start) / 60

        over_http(), direct()  # warm-up
        base, served = [], []
        for _ in range(args.runs):
            base.append(direct())
            served.append(over_http())
        base_rtf, served_rtf = statistics.median(base), statistics.median(served)

        errors = total = 0
        for text, wav in spoken.items():
            result = client.post("/v1/asr", files={"audio": ("s.wav", wav)}, data={"language": "en"}).json()
            e, n = word_error_rate(text, result["text"])
            errors, total = errors + e, total + n

        reset_peak(server.pid)
        client.post("/v1/asr", files={"audio": ("minute.mp3", minute_mp3)}).raise_for_status()
        peak_minute = peak_rss_mb(server.pid)
        repeats = int(args.long_minutes)
        long_mp3 = encode_mp3(np.concatenate([minute] * repeats))
        reset_peak(server.pid)
        start = time.perf_counter()
        long_result = client.post("/v1/asr", files={"audio": ("long.mp3", long_mp3)}).json()
        long_seconds = time.perf_counter() - start
        peak_long = peak_rss_mb(server.pid)

    print(f"Shoal ASR benchmark — Whisper base int8, beam 1, VAD; {args.runs} runs per series")
    print(f"baseline: faster-whisper in process, RTF {base_rtf:.3f} on 60 s of speech")
    print(f"HTTP /v1/asr:          RTF {served_rtf:.3f}   ({served_rtf / base_rtf:.2f}x the baseline)")
    wer = errors / total
    print(
        f"round-trip WER:        {wer:.3f}   ({errors} errors in {total} words, {len(SENTENCES)} sentences)"
    )
    decoded_minutes = long_result["duration"] / 60
    long_rtf = long_seconds / long_result["duration"]
    print(
        f"peak server memory:    {peak_long:.0f} MB for {repeats} min ({decoded_minutes:.1f} min decoded, "
        f"RTF {long_rtf:.3f}) vs {peak_minute:.0f} MB for 1 min ({peak_long / peak_minute:.2f}x)"
    )


if __name__ == "__main__":
    main()
