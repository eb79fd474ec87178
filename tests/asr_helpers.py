"""Speech for the speech-to-text tests: spoken by Shoal's own TTS, transcoded with PyAV, scored by WER."""

from __future__ import annotations

import io
import re
import wave
from dataclasses import dataclass
from functools import cached_property

import av
import httpx
import numpy as np
import soxr

from tests.audio_checks import decode

# name -> (PyAV container format, codec, sample rate, file name for uploads, MIME type)
CONTAINERS: dict[str, tuple[str, str, int, str, str]] = {
    "wav": ("wav", "pcm_s16le", 44100, "speech.wav", "audio/wav"),
    "mp3": ("mp3", "libmp3lame", 44100, "speech.mp3", "audio/mpeg"),
    "flac": ("flac", "flac", 44100, "speech.flac", "audio/flac"),
    "ogg": ("ogg", "libopus", 48000, "speech.ogg", "audio/ogg"),
    "m4a": ("ipod", "aac", 44100, "speech.m4a", "audio/mp4"),
    "webm": ("webm", "libopus", 48000, "speech.webm", "audio/webm"),
}


@dataclass(frozen=True)
class Speech:
    """A synthesized utterance: what was said, and the WAV Shoal spoke it as."""

    text: str
    wav: bytes

    @cached_property
    def duration(self) -> float:
        """Seconds of audio."""
        return wav_duration(self.wav)


async def synthesize(client: httpx.AsyncClient, text: str) -> Speech:
    """``text`` spoken by Shoal's default (Piper, English) voice, as WAV."""
    response = await client.post("/v1/tts", json={"text": text, "format": "wav"})
    assert response.status_code == 200, response.text
    return Speech(text, response.content)


async def speak(client: httpx.AsyncClient, cache: dict[str, Speech], text: str) -> Speech:
    """``synthesize``, once per text for the session that owns ``cache``."""
    if text not in cache:
        cache[text] = await synthesize(client, text)
    return cache[text]


def synthesize_sync(client: httpx.Client, text: str) -> Speech:
    """The same through a blocking client (e.g. against a real server)."""
    response = client.post("/v1/tts", json={"text": text, "format": "wav"})
    assert response.status_code == 200, response.text
    return Speech(text, response.content)


def wav_duration(data: bytes) -> float:
    return decode(data).duration


def pcm_wav(samples: np.ndarray, rate: int) -> bytes:
    """Mono float samples in [-1, 1] as a 16-bit PCM WAV."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    sink = io.BytesIO()
    with wave.open(sink, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return sink.getvalue()


def concatenate(
    clips: list[bytes], *, silence_seconds: float, rate: int | None = None
) -> tuple[bytes, list[float]]:
    """WAV clips joined with silences between them, optionally resampled to ``rate``; also where each
    clip starts, in seconds."""
    decoded = [decode(clip) for clip in clips]
    source_rate = decoded[0].sample_rate
    assert all(clip.sample_rate == source_rate for clip in decoded)
    rate = rate or source_rate
    gap = np.zeros(int(silence_seconds * rate), dtype=np.float32)
    parts: list[np.ndarray] = []
    starts: list[float] = []
    position = 0
    for clip in decoded:
        samples = clip.samples if rate == source_rate else soxr.resample(clip.samples, source_rate, rate)
        if parts:
            parts.append(gap)
            position += len(gap)
        starts.append(position / rate)
        parts.append(samples)
        position += len(samples)
    return pcm_wav(np.concatenate(parts), rate), starts


def transcode(wav: bytes, container: str) -> bytes:
    """A WAV re-encoded into one of ``CONTAINERS`` (mp3, flac, ogg/opus, m4a/aac, webm/opus)."""
    if container == "wav":
        return wav
    fmt, codec, rate, _, _ = CONTAINERS[container]
    sink = io.BytesIO()
    with av.open(io.BytesIO(wav), mode="r") as source, av.open(sink, mode="w", format=fmt) as output:
        stream = output.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.audio.stream.AudioStream)
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
        for frame in source.decode(source.streams.audio[0]):
            for out in resampler.resample(frame):
                output.mux(stream.encode(out))
        for out in resampler.resample(None):
            output.mux(stream.encode(out))
        output.mux(stream.encode(None))
    return sink.getvalue()


def words(text: str) -> list[str]:
    """Lowercased words with punctuation removed (hyphens and dashes separate words)."""
    text = re.sub(r"[-–—]", " ", text.lower())
    text = re.sub(r"[^\w\s]", "", text)
    return text.split()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance: substitutions, insertions and deletions, each costing 1."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, start=1):
            current[j] = min(
                previous[j] + 1,  # deletion
                current[j - 1] + 1,  # insertion
                previous[j - 1] + (ref_word != hyp_word),  # substitution or match
            )
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference``."""
    ref = words(reference)
    assert ref, "the reference has no words"
    return edit_distance(ref, words(hypothesis)) / len(ref)
