"""Text front end: from a request's raw text to the chunks engines speak.

markup (speaker and expression tags out) → language runs by writing system →
normalization (numbers, dates, …) → sentence and clause chunks, the first one short.
"""

from __future__ import annotations

from dataclasses import dataclass

from shoal.text import markup
from shoal.text.language import split_by_script
from shoal.text.normalize import normalize as normalize_text
from shoal.text.split import split


@dataclass(frozen=True, slots=True)
class TextChunk:
    """One engine call's worth of text."""

    text: str
    language: str
    speaker: int | None = None
    expressions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChunkingOptions:
    chunk_length: int = 200
    min_chunk_length: int = 50
    first_chunk_chars: int | None = 60
    """None disables the short first chunk (latency "normal": best prosody first)."""
    normalize: bool = True
    default_language: str = "en"


def prepare(text: str, options: ChunkingOptions) -> list[TextChunk]:
    """Chunks to speak, in order. Empty when the text holds nothing speakable."""
    chunks: list[TextChunk] = []
    for segment in markup.parse(text):
        for language, run in split_by_script(segment.text, options.default_language):
            spoken = normalize_text(run, language) if options.normalize else run
            first_limit = options.first_chunk_chars if not chunks else None
            for piece in split(
                spoken,
                chunk_length=options.chunk_length,
                min_chunk_length=options.min_chunk_length,
                first_limit=first_limit,
            ):
                if any(character.isalnum() for character in piece):
                    chunks.append(TextChunk(piece, language, segment.speaker, segment.expressions))
    return chunks
