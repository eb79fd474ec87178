"""English abbreviations spelled out: titles, "St.", suffixes, Latin, "No.", "&".

A period that belongs to an abbreviation ("Dr.", "e.g.") disappears with it; one
that also ends the sentence ("apples, pears, etc.") stays.
"""

from __future__ import annotations

import re
from typing import Final

from shoal.text.normalize.common import Match, Pass, padded, period_if_sentence_end


def _starts_word(match: Match) -> bool:
    """The match does not begin in the middle of a word (what a leading \\b would check)."""
    start = match.start()
    if start == 0:
        return True
    before = match.string[start - 1]
    return not (before.isalnum() or before == "_")


_EN_TITLES: Final = {
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "Mx": "Mix",
    "Dr": "Doctor",
    "Prof": "Professor",
    "Capt": "Captain",
    "Sgt": "Sergeant",
    "Lt": "Lieutenant",
    "Gov": "Governor",
    "Mt": "Mount",
}
_EN_TITLES_WITHOUT_PERIOD: Final = frozenset({"Mr", "Mrs", "Ms", "Dr", "Mt"})
_EN_TITLE_RE: Final = re.compile(
    r"(?P<abbr>Mrs|Mr|Ms|Mx|Dr|Prof|Capt|Sgt|Lt|Gov|Mt)(?:(?P<dot>\.)|(?=[ \t]+[A-Z]))"
)
_EN_SAINT_RE: Final = re.compile(r"St(?:\.|(?=[ \t]+[A-Z]))(?=[ \t]+(?P<next>[A-Z][a-z]*))?")
# Capitalised words that start a sentence but never follow "St." as a name.
_EN_SENTENCE_STARTERS: Final = frozenset({
    "The", "A", "An", "I", "It", "He", "She", "We", "They", "This", "That", "These", "Those", "There",
    "Then", "But", "And", "So", "Or", "If", "In", "On", "At", "To", "My", "Our", "His", "Her", "Its",
    "Their", "You", "Your", "What", "When", "Where", "Why", "How", "Who", "After", "Before", "Turn", "Go",
})  # fmt: skip
_EN_SUFFIXES: Final = {
    "Jr": "Junior",
    "Sr": "Senior",
    "Ave": "Avenue",
    "Blvd": "Boulevard",
    "etc": "et cetera",
    "Etc": "Et cetera",
    "approx": "approximately",
    "Approx": "Approximately",
}
_EN_SUFFIX_RE: Final = re.compile(r"(?P<abbr>Jr|Sr|Ave|Blvd|etc|Etc|approx|Approx)(?:(?P<dot>\.)|(?!\w))")
_EN_LATIN_RE: Final = re.compile(r"[EeIi]\.[ \t]?[GgEe]\.(?!\w)|[Vv]s(?:\.|(?!\w))")
EN_NUMBER_SIGN_RE: Final = re.compile(r"(?:(?P<abbr>No|no|Nos|Fig|Vol|Ch)\.|#)[ \t]?(?=\d)")
_EN_NUMBER_SIGN: Final = {
    "No": "number",
    "no": "number",
    "Nos": "numbers",
    "Fig": "figure",
    "Vol": "volume",
    "Ch": "chapter",
}
_EN_AMPERSAND_RE: Final = re.compile(r"[ \t]*&[ \t]*")


def _en_title(match: Match) -> str:
    abbr = match.group("abbr")
    if not _starts_word(match) or (not match.group("dot") and abbr not in _EN_TITLES_WITHOUT_PERIOD):
        return match.group(0)
    return _EN_TITLES[abbr]


def _en_saint(match: Match) -> str:
    """Saint before a capitalised name ("St. Louis"), else Street ("Main St.")."""
    if not _starts_word(match):
        return match.group(0)
    following = match.group("next")
    if following and following not in _EN_SENTENCE_STARTERS:
        return "Saint"
    return "Street" + period_if_sentence_end(match, match.group(0))


def _en_suffix(match: Match) -> str:
    abbr = match.group("abbr")
    if not _starts_word(match):
        return match.group(0)
    if match.group("dot"):
        return _EN_SUFFIXES[abbr] + period_if_sentence_end(match, match.group(0))
    return _EN_SUFFIXES[abbr] if abbr in ("Jr", "Sr") else match.group(0)


def _en_latin(match: Match) -> str:
    text = match.group(0)
    if not _starts_word(match):
        return text
    letters = text.lower().replace(".", "").replace(" ", "").replace("\t", "")
    if letters == "eg":
        return "for example"
    if letters == "ie":
        return "that is"
    if letters == "vs":
        return "versus"
    return text


def en_number_sign(match: Match) -> str:
    abbr = match.group("abbr")
    if not abbr:
        return "number "
    if not _starts_word(match):
        return match.group(0)
    return _EN_NUMBER_SIGN[abbr] + " "


_EN_WORD_PASSES: Final[tuple[Pass, ...]] = (
    (_EN_TITLE_RE, padded(_en_title)),
    (_EN_SAINT_RE, padded(_en_saint)),
    (_EN_SUFFIX_RE, padded(_en_suffix)),
    (_EN_LATIN_RE, padded(_en_latin)),
)


def expand_abbreviations(text: str) -> str:
    """``text`` with titles, "St.", suffixes, Latin abbreviations and "&" spelled out.

    Numbered abbreviations ("No. 5", "#5") are left to the number passes
    (``EN_NUMBER_SIGN_RE``), which run only when the text has digits.
    """
    for pattern, callback in _EN_WORD_PASSES:
        text = pattern.sub(callback, text)
    if "&" in text:
        text = _EN_AMPERSAND_RE.sub(" and ", text)
    return text
