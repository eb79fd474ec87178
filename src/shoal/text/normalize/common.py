r"""What the English and Chinese passes share: match helpers and number fragments.

Speed: the regex engine scans quickly for a pattern's first character when that
character is a literal, a class or \d; a leading lookbehind or optional group
makes it try every position. So patterns start with a concrete character, and
"not preceded by" checks sit after it (``\d(?<![\d.,]\d)`` is a digit that does
not continue a number) or, for words, in the callback (``_starts_word`` in
``english_abbreviations``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

Match = re.Match[str]
Callback = Callable[[Match], str]
# One regular-expression pass: a compiled pattern and its replacement callback.
Pass = tuple[re.Pattern[str], Callback]

# Sentence end after a consumed trailing period: end of text, end of line, or a
# capitalised word next.
_SENTENCE_END: Final = re.compile(r"\s*\Z|[ \t]*\r?\n|\s+[\"'“‘(\[]?[A-Z]")
DIGIT: Final = re.compile(r"\d")
DIGIT_RUN: Final = re.compile(r"\d+")

# The rest of a written number after its first digit: 1,234,567.89 / 1234 / 3.5 (and 1.2.3).
NUM_REST: Final = r"(?:\d{0,2}(?:,\d{3})+|\d*)(?:\.\d+)*"
# A written number that does not continue another one.
NUM_START: Final = r"\d(?<![\d.,]\d)" + NUM_REST
NUM: Final = r"\d" + NUM_REST


def period_if_sentence_end(match: Match, consumed: str) -> str:
    """A period when ``consumed`` ended with one that also ended its sentence, else nothing."""
    if consumed.endswith(".") and _SENTENCE_END.match(match.string, match.end()):
        return "."
    return ""


def padded(callback: Callback) -> Callback:
    """Wrap a replacement so that words never run into adjacent letters or digits."""

    def replace(match: Match) -> str:
        words = callback(match)
        if words == match.group(0) or not words:
            return words
        text = match.string
        start, end = match.start(), match.end()
        if start > 0 and text[start - 1].isalnum() and words[0].isalnum():
            words = " " + words
        if end < len(text) and text[end].isalnum() and words[-1].isalnum():
            words += " "
        return words

    return replace


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of literal ``words``, longest first so "km/h" wins over "km"."""
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
