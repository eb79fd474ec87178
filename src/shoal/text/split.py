"""Split text into chunks at sentence and clause boundaries.

An engine is called once per chunk, and audio leaves as soon as the first chunk is
spoken, so the first chunk decides time to first audio. It is cut short on purpose
(``first_limit``): at a clause boundary when one is near, else at a word boundary.
Later chunks are whole sentences packed up to ``chunk_length`` characters; a sentence
longer than that is cut at clauses, then words, then characters (for scripts
without spaces). Chunks shorter than ``min_chunk_length`` are merged with the next.
"""

from __future__ import annotations

import re

_CLOSERS = r"\"'”’)\]」』）"
_SENTENCE_END = re.compile(
    rf"(?<=[.!?…])\s+|(?<=[.!?…][{_CLOSERS}])\s+"  # Latin: punctuation (and a closing quote), then a space
    rf"|(?<=[。！？；])(?![{_CLOSERS}])\s*|(?<=[。！？；][{_CLOSERS}])\s*"  # CJK: no space needed
    r"|\n\s*\n"  # a blank line ends a paragraph
)
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+|(?<=[，、；：])")


_ABBREVIATION = re.compile(
    r"(?:^|\s)(?:(?i:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|etc|e\.g|i\.e|Mt|Ft|approx)|[A-Z])\.$"
)
_NUMBER_SIGN = re.compile(r"(?:^|\s)No\.$")  # "No. 5", but not "the answer is no."


def sentences(text: str) -> list[str]:
    """Sentences of ``text``, each with its trailing punctuation, whitespace stripped.

    A period after a common abbreviation or an initial ("Dr.", "e.g.", "J.") does
    not end a sentence.
    """
    out: list[str] = []
    for piece in _SENTENCE_END.split(text):
        piece = piece.strip() if piece else ""
        if not piece:
            continue
        if out and (_ABBREVIATION.search(out[-1]) or (_NUMBER_SIGN.search(out[-1]) and piece[:1].isdigit())):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _pieces(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [piece.strip() for piece in pattern.split(text) if piece and piece.strip()]


def _joiner(left: str, right: str) -> str:
    """No space between two pieces of a script written without spaces."""
    if left and right and ord(left[-1]) > 0x2E80 and ord(right[0]) > 0x2E80:
        return ""
    return " "


def _join(left: str, right: str) -> str:
    return left + _joiner(left, right) + right if left else right


def _fallback_cut(text: str, limit: int) -> int:
    """No good space before ``limit``: scripts without spaces are cut there, words never are."""
    if ord(text[limit - 1]) > 0x2E80:
        return limit
    space = text.find(" ", limit)
    return space if space > 0 else len(text)


def _cut_words(text: str, limit: int) -> list[str]:
    """Cut at the last space before ``limit``, never inside a word."""
    out: list[str] = []
    while len(text) > limit:
        space = text.rfind(" ", 0, limit + 1)
        if space <= 0:
            space = _fallback_cut(text, limit)
        out.append(text[:space].strip())
        text = text[space:].strip()
    if text:
        out.append(text)
    return out


def _fit(sentence: str, limit: int) -> list[str]:
    """Pieces of one sentence, each at most ``limit`` characters."""
    if len(sentence) <= limit:
        return [sentence]
    out: list[str] = []
    current = ""
    for clause in _pieces(sentence, _CLAUSE_END):
        for piece in _cut_words(clause, limit):
            candidate = _join(current, piece)
            if len(candidate) <= limit:
                current = candidate
            else:
                if current:
                    out.append(current)
                current = piece
    if current:
        out.append(current)
    return out


# Words a phrase often starts with: cutting just before one keeps the first chunk's
# intonation close to a natural pause.
_PHRASE_STARTERS = frozenset(
    {
        "a",
        "an",
        "the",
        "that",
        "which",
        "who",
        "whose",
        "where",
        "when",
        "while",
        "with",
        "without",
        "and",
        "but",
        "or",
        "so",
        "because",
        "if",
        "to",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "as",
        "into",
        "than",
        "then",
        "is",
        "are",
        "was",
        "were",
        "will",
        "would",
        "can",
        "could",
        "should",
        "has",
        "have",
        "had",
    }
)


def _word_cut(text: str, limit: int) -> int:
    """Where to cut ``text`` (≤ ``limit`` characters): before a phrase starter if one is not too early."""
    spaces = [index for index, character in enumerate(text[: limit + 1]) if character == " "]
    if not spaces:
        return _fallback_cut(text, limit)
    for index in reversed(spaces):
        if index < limit * 0.4:
            break
        following = text[index + 1 :].split(" ", 1)[0].lower().strip(",;:")
        if following in _PHRASE_STARTERS:
            return index
    return spaces[-1] if spaces[-1] > limit // 3 else _fallback_cut(text, limit)


def _first_piece(sentence: str, limit: int) -> tuple[str, str]:
    """A short head of ``sentence`` for fast first audio, and the rest."""
    if len(sentence) <= limit:
        return sentence, ""
    clause = _pieces(sentence, _CLAUSE_END)[0]
    if limit // 3 <= len(clause) <= limit and sentence.startswith(clause):
        return clause, sentence[len(clause) :].strip()
    cut = _word_cut(sentence, limit)
    return sentence[:cut].strip(), sentence[cut:].strip()


def split(
    text: str,
    *,
    chunk_length: int = 200,
    min_chunk_length: int = 0,
    first_limit: int | None = None,
) -> list[str]:
    """Chunks of ``text`` in order; joined with spaces they give back its words."""
    limit = max(chunk_length, 1)
    pieces: list[str] = []
    for sentence in sentences(text):
        pieces.extend(_fit(sentence, limit))

    if first_limit is not None and pieces and len(pieces[0]) > first_limit:
        head, rest = _first_piece(pieces[0], first_limit)
        pieces[0:1] = [head, rest] if rest else [head]
        first_fixed = True
    else:
        first_fixed = first_limit is not None

    chunks: list[str] = []
    for index, piece in enumerate(pieces):
        if index == 0 and first_fixed:
            chunks.append(piece)
            continue
        if chunks and (index > 1 or not first_fixed) and len(chunks[-1]) < min_chunk_length:
            merged = _join(chunks[-1], piece)
            if len(merged) <= limit:
                chunks[-1] = merged
                continue
        if chunks and len(piece) < min_chunk_length and (index > 1 or not first_fixed):
            merged = _join(chunks[-1], piece)
            if len(merged) <= limit:
                chunks[-1] = merged
                continue
        chunks.append(piece)
    return chunks
