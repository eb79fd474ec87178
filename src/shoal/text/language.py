"""Language of a piece of text, from its writing system.

No statistics and no dictionaries: a letter's Unicode block names its script,
and each script stands for one language (ISO 639-1):

    Han → zh, or ja when the text holds any kana     Hiragana, Katakana → ja
    Hangul → ko      Cyrillic → ru     Greek → el       Arabic → ar
    Hebrew → he      Thai → th         Devanagari → hi  Georgian → ka
    Armenian → hy    Bengali → bn      Gurmukhi → pa    Gujarati → gu
    Oriya → or       Tamil → ta        Telugu → te      Kannada → kn
    Malayalam → ml   Sinhala → si      Myanmar → my     Ethiopic → am
    Latin → the caller's default

A *letter* is a character of one of those blocks for which ``str.isalpha()`` is
true, plus the ideographic numerals (〇, 〡…) counted as Han. Everything else —
digits, punctuation, spaces, symbols, combining marks, letters of scripts not
listed — is *neutral*: it never decides a language, and when splitting it stays
with the letters before it.

The script classes are compiled once, at import, into one regular expression,
so both functions do their per-character work in C.
"""

from __future__ import annotations

import re

__all__ = ["detect_language", "split_by_script"]

_HAN = "Hani"
_KANA = "Kana"
_LATIN = "Latn"

# (regex group name, language or None for "the default", blocks). Blocks marked
# ``_WHOLE`` hold only letters and are taken as they are; the others are
# filtered with str.isalpha() at import so that their digits and punctuation
# (Arabic ٣ and ،, Devanagari ।, Thai ๓…) stay neutral.
_WHOLE = True
_SCRIPTS: tuple[tuple[str, str | None, tuple[tuple[int, int, bool], ...]], ...] = (
    (
        _LATIN,
        None,
        (
            (0x0041, 0x02AF, False),  # Basic Latin … IPA Extensions
            (0x1D00, 0x1DBF, False),  # Phonetic Extensions
            (0x1E00, 0x1EFF, False),  # Latin Extended Additional (Vietnamese)
            (0x2C60, 0x2C7F, False),
            (0xA720, 0xA7FF, False),
            (0xAB30, 0xAB6F, False),
            (0xFF21, 0xFF5A, False),  # fullwidth Latin
        ),
    ),
    (
        _HAN,
        "zh",
        (
            (0x3005, 0x3007, _WHOLE),  # 々 〆 〇
            (0x3021, 0x3029, _WHOLE),  # Hangzhou numerals
            (0x3038, 0x303B, _WHOLE),
            (0x3400, 0x4DBF, _WHOLE),  # Extension A
            (0x4E00, 0x9FFF, _WHOLE),  # CJK Unified Ideographs
            (0xF900, 0xFAFF, False),  # Compatibility Ideographs
            (0x20000, 0x2FA1F, _WHOLE),  # Extensions B–F, Compatibility Supplement
            (0x30000, 0x323AF, _WHOLE),  # Extensions G, H
        ),
    ),
    (
        _KANA,
        "ja",
        (
            (0x3040, 0x30FF, False),  # Hiragana, Katakana (ー is a letter, ・ is not)
            (0x31F0, 0x31FF, False),
            (0xFF66, 0xFF9F, False),  # halfwidth Katakana
            (0x1AFF0, 0x1B16F, False),
        ),
    ),
    (
        "Hang",
        "ko",
        (
            (0x1100, 0x11FF, False),
            (0x3130, 0x318F, False),
            (0xA960, 0xA97F, False),
            (0xAC00, 0xD7A3, _WHOLE),  # syllables
            (0xD7B0, 0xD7FF, False),
            (0xFFA0, 0xFFDC, False),
        ),
    ),
    ("Cyrl", "ru", ((0x0400, 0x052F, False), (0x1C80, 0x1C8F, False), (0xA640, 0xA69F, False))),
    ("Grek", "el", ((0x0370, 0x03FF, False), (0x1F00, 0x1FFF, False))),
    (
        "Arab",
        "ar",
        (
            (0x0600, 0x06FF, False),
            (0x0750, 0x077F, False),
            (0x0870, 0x08FF, False),
            (0xFB50, 0xFDFF, False),
            (0xFE70, 0xFEFF, False),
        ),
    ),
    ("Hebr", "he", ((0x0590, 0x05FF, False), (0xFB1D, 0xFB4F, False))),
    ("Thai", "th", ((0x0E00, 0x0E7F, False),)),
    ("Deva", "hi", ((0x0900, 0x097F, False), (0xA8E0, 0xA8FF, False))),
    ("Geor", "ka", ((0x10A0, 0x10FF, False), (0x1C90, 0x1CBF, False), (0x2D00, 0x2D2F, False))),
    ("Armn", "hy", ((0x0530, 0x058F, False), (0xFB13, 0xFB17, False))),
    ("Beng", "bn", ((0x0980, 0x09FF, False),)),
    ("Guru", "pa", ((0x0A00, 0x0A7F, False),)),
    ("Gujr", "gu", ((0x0A80, 0x0AFF, False),)),
    ("Orya", "or", ((0x0B00, 0x0B7F, False),)),
    ("Taml", "ta", ((0x0B80, 0x0BFF, False),)),
    ("Telu", "te", ((0x0C00, 0x0C7F, False),)),
    ("Knda", "kn", ((0x0C80, 0x0CFF, False),)),
    ("Mlym", "ml", ((0x0D00, 0x0D7F, False),)),
    ("Sinh", "si", ((0x0D80, 0x0DFF, False),)),
    ("Mymr", "my", ((0x1000, 0x109F, False),)),
    ("Ethi", "am", ((0x1200, 0x139F, False),)),
)

_LANGUAGE: dict[str, str | None] = {group: language for group, language, _ in _SCRIPTS}

# In "dominant script" counts one Han, kana or Hangul character weighs as much
# as this many alphabetic letters: it spells a syllable or a whole morpheme, so
# "我喜欢用iPhone拍照" is Chinese although it has fewer Han characters than Latin letters.
_SYLLABIC_WEIGHT = 3
_WEIGHT: dict[str, int] = {_HAN: _SYLLABIC_WEIGHT, _KANA: _SYLLABIC_WEIGHT, "Hang": _SYLLABIC_WEIGHT}


def _letter_ranges(blocks: tuple[tuple[int, int, bool], ...]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for first, last, whole in blocks:
        if whole:
            ranges.append((first, last))
            continue
        start: int | None = None
        for code in range(first, last + 2):
            is_letter = code <= last and chr(code).isalpha()
            if is_letter and start is None:
                start = code
            elif not is_letter and start is not None:
                ranges.append((start, code - 1))
                start = None
    return ranges


def _character_class(ranges: list[tuple[int, int]]) -> str:
    return "".join(
        f"\\U{first:08X}" if first == last else f"\\U{first:08X}-\\U{last:08X}" for first, last in ranges
    )


# One alternative per script; the classes are disjoint, so each match is a
# maximal run of letters of one script.
_RUNS = re.compile(
    "|".join(f"(?P<{group}>[{_character_class(_letter_ranges(blocks))}]+)" for group, _, blocks in _SCRIPTS)
)


def detect_language(text: str, default: str = "en") -> str:
    """The language of the writing system that dominates the letters of ``text``.

    Any kana makes the text Japanese. Otherwise the script with the most letters
    wins (Han and Hangul characters count triple, see ``_SYLLABIC_WEIGHT``; a tie
    goes to the script seen first). Latin text, and text without letters, is
    ``default``.
    """
    if text.isascii():
        return default
    weights: dict[str, int] = {}
    for match in _RUNS.finditer(text):
        group = match.lastgroup
        assert group is not None
        if group == _KANA:
            return "ja"
        weights[group] = weights.get(group, 0) + (match.end() - match.start()) * _WEIGHT.get(group, 1)
    if not weights:
        return default
    dominant = max(weights, key=weights.__getitem__)  # first of equals: insertion order
    return _LANGUAGE[dominant] or default


def split_by_script(text: str, default: str = "en") -> list[tuple[str, str]]:
    """``text`` cut into maximal runs of one language, as ``(language, run)`` pairs.

    Languages are those of ``detect_language``, decided per run of letters: Han
    is ``"ja"`` when the text holds any kana anywhere (so "日本語のテキスト" is
    one Japanese run) and ``"zh"`` otherwise; Latin is ``default``. A new run
    starts at the first letter of a different language, so neutral characters
    stay with the run before them, and those at the very start join the first
    run. The runs concatenate to ``text``; text without letters is one run in
    ``default``, and an empty text gives no runs.
    """
    if not text:
        return []
    if text.isascii():
        return [(default, text)]
    matches = list(_RUNS.finditer(text))
    has_kana = any(match.lastgroup == _KANA for match in matches)
    languages: list[str] = []
    starts: list[int] = []
    for match in matches:
        group = match.lastgroup
        assert group is not None
        language = "ja" if group == _HAN and has_kana else _LANGUAGE[group] or default
        if not languages:
            languages.append(language)
            starts.append(0)
        elif language != languages[-1]:
            languages.append(language)
            starts.append(match.start())
    if not languages:
        return [(default, text)]
    ends = [*starts[1:], len(text)]
    return [(language, text[start:end]) for language, start, end in zip(languages, starts, ends, strict=True)]
