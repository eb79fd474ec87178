"""Text normalization before speech synthesis (the Fish Audio API's ``normalize: true``).

Numbers and symbols are spelled out as words so that an engine reads them the way a
person would: "$3.50" → "three dollars and fifty cents", "2024-03-15" → "March
fifteenth, twenty twenty-four", "10:30" → "十点三十分".

English ("en") and Chinese ("zh") are supported; any other language is returned
unchanged. Each language is a fixed sequence of regular-expression passes, compiled
once at import, from the most specific pattern (phone numbers, dates, times, money)
to the most general (any run of digits). Every pass replaces digits with words, so
a later pass never sees what an earlier one produced.

Only the expanded text changes: other words and punctuation are kept, so sentence
splitting, which runs afterwards, still finds the sentence ends. A period that
belongs to a number or an abbreviation ("$3.50", "Dr.", "e.g.") disappears with it;
a period that ends a sentence after a number or an abbreviation ("It costs $5.",
"apples, pears, etc.") stays.

Number words are built here rather than with ``num2words`` and ``cn2an``: the
former's English is British ("one thousand, two hundred and five") and costs about
35 µs a number; the latter's ``transform`` reads "10:30" as "十:三十". Both would
eat most of the budget (under 1 ms for a 500-character paragraph; this package takes
about 0.3 ms).

Patterns start with a concrete character (a digit, a symbol, the first letters of a
word) and check what comes before it *after* that character, so the regex engine
can skip ahead quickly instead of trying every position.

Layout: ``english`` runs the English passes after ``english_abbreviations``,
with number words from ``english_numbers``; ``chinese`` holds the Chinese passes
and number words; ``common`` holds what both languages share.
"""

from __future__ import annotations

from shoal.text.normalize.chinese import normalize_zh
from shoal.text.normalize.english import normalize_en

__all__ = ["normalize"]


def normalize(text: str, language: str) -> str:
    """``text`` with numbers, dates, times, money and abbreviations spelled out.

    ``language`` is an ISO 639-1 code ("en", "zh"; a region such as "en-US" is
    ignored). Text in any other language is returned unchanged.
    """
    code = language.strip().lower().replace("_", "-").partition("-")[0]
    if code == "en":
        return normalize_en(text)
    if code == "zh":
        return normalize_zh(text)
    return text
