"""Text that arrives piece by piece (an LLM's tokens), released for speech as it becomes speakable.

Text is held until a sentence is complete, a long enough clause is, or ``chunk_length``
characters have gathered; ``flush`` releases the rest. A sentence end counts only once
the next character shows it is one ("Hello." could still become "Hello.5").
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s|[。！？；][”’」』）]*")
_CLAUSE_END = re.compile(r"[,;:—–]\s|[，、；：]")


class TextBuffer:
    def __init__(self, *, chunk_length: int = 200, min_clause_chars: int = 12) -> None:
        self._chunk_length = chunk_length
        self._min_clause_chars = min_clause_chars
        self._text = ""

    def __len__(self) -> int:
        return len(self._text)

    def push(self, text: str) -> list[str]:
        """Add text; return the pieces that are ready to speak, in order."""
        self._text += text
        ready: list[str] = []
        while (piece := self._next_piece()) is not None:
            if piece:  # a cut that held only whitespace says nothing, but the search goes on
                ready.append(piece)
        return ready

    def flush(self) -> str:
        """Everything still held."""
        text, self._text = self._text, ""
        return text.strip()

    def _take(self, end: int) -> str:
        piece, self._text = self._text[:end], self._text[end:]
        return piece.strip()

    def _next_piece(self) -> str | None:
        """The next ready piece (possibly empty after stripping), or None when nothing is ready."""
        sentence = _SENTENCE_END.search(self._text)
        if sentence is not None and sentence.end() <= self._chunk_length:
            return self._take(sentence.end())
        clause = _CLAUSE_END.search(self._text, self._min_clause_chars)
        if clause is not None and clause.end() <= self._chunk_length:
            return self._take(clause.end())
        if len(self._text) >= self._chunk_length:
            space = self._text.rfind(" ", 0, self._chunk_length)
            return self._take(space if space > 0 else self._chunk_length)
        return None
