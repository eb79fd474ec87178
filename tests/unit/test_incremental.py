"""TextBuffer: text arriving piece by piece (an LLM's tokens), released as it becomes speakable."""

from __future__ import annotations

import re

import pytest

from shoal.text.incremental import TextBuffer


def feed(buffer: TextBuffer, tokens: list[str]) -> list[str]:
    """Push every token, then flush; all the pieces released, in order."""
    pieces: list[str] = []
    for token in tokens:
        pieces.extend(buffer.push(token))
    if rest := buffer.flush():
        pieces.append(rest)
    return pieces


def tokenize(text: str) -> list[str]:
    """Roughly how an LLM streams: words with their leading space, punctuation split off."""
    return re.findall(r" ?\w+|[^\w ]| ", text)


# -- sentences ----------------------------------------------------------------


def test_sentence_end_is_held_until_the_next_character_confirms_it() -> None:
    buffer = TextBuffer()
    assert buffer.push("Hello.") == []
    assert len(buffer) == len("Hello.")
    assert buffer.push(" W") == ["Hello."]
    assert buffer.flush() == "W"


@pytest.mark.parametrize("end", ["!", "?", "…", "...", "?!"])
def test_other_sentence_ends(end: str) -> None:
    buffer = TextBuffer()
    assert buffer.push(f"Really{end}") == []
    assert buffer.push(" Yes") == [f"Really{end}"]


def test_a_newline_confirms_a_sentence_too() -> None:
    assert TextBuffer().push("First line.\nSecond") == ["First line."]


def test_a_decimal_point_is_not_a_sentence_end() -> None:
    buffer = TextBuffer()
    assert buffer.push("Pi is 3.") == []
    assert buffer.push("14 and e is 2.") == []
    assert buffer.push("71. Next") == ["Pi is 3.14 and e is 2.71."]
    assert buffer.flush() == "Next"


def test_closing_quotes_and_brackets_stay_with_their_sentence() -> None:
    buffer = TextBuffer()
    assert buffer.push('He said "Hi.') == []
    assert buffer.push('"') == []
    assert buffer.push(" Then (quietly.)") == ['He said "Hi."']
    assert buffer.push(" more") == ["Then (quietly.)"]


def test_several_sentences_in_one_push_come_out_in_order() -> None:
    pieces = TextBuffer().push("One. Two! Three? Four")
    assert pieces == ["One.", "Two!", "Three?"]


# -- clauses ------------------------------------------------------------------


def test_a_short_clause_is_held() -> None:
    buffer = TextBuffer()
    assert buffer.push("Well, I") == []
    assert buffer.push(" see") == []


def test_a_clause_is_released_once_it_is_long_enough() -> None:
    buffer = TextBuffer()
    assert buffer.push("Although it rained,") == []  # the comma needs a space after it
    assert buffer.push(" we") == ["Although it rained,"]
    assert buffer.flush() == "we"


def test_min_clause_chars_counts_from_the_start_of_the_held_text() -> None:
    buffer = TextBuffer(min_clause_chars=12)
    # The first comma is too early; the second, past 12 characters, ends a clause.
    assert buffer.push("Well, I think, so") == ["Well, I think,"]
    assert TextBuffer(min_clause_chars=3).push("Well, I think") == ["Well,"]


@pytest.mark.parametrize("mark", [";", ":", "—", "–"])
def test_other_clause_marks(mark: str) -> None:
    assert TextBuffer().push(f"There is one thing{mark} it") == [f"There is one thing{mark}"]


def test_a_thousands_separator_is_not_a_clause() -> None:
    buffer = TextBuffer()
    assert buffer.push("Over the years 1,000,000 people came") == []


# -- CJK ----------------------------------------------------------------------


def test_cjk_sentence_punctuation_releases_immediately() -> None:
    buffer = TextBuffer()
    assert buffer.push("你好。") == ["你好。"]
    assert buffer.push("我们走吧！") == ["我们走吧！"]
    assert buffer.push("好吗？还") == ["好吗？"]
    assert buffer.flush() == "还"


def test_cjk_closing_quote_in_the_same_push_stays_with_the_sentence() -> None:
    assert TextBuffer().push("他说：“你好。”然后") == ["他说：“你好。”"]


def test_cjk_clause_punctuation_after_min_clause_chars() -> None:
    buffer = TextBuffer(min_clause_chars=8)
    assert buffer.push("我们今天，") == []  # a clause of 5 characters is too short
    assert buffer.push("去公园散步，然后") == ["我们今天，去公园散步，"]
    assert buffer.flush() == "然后"


# -- chunk_length -------------------------------------------------------------


def test_chunk_length_forces_a_cut_at_a_space() -> None:
    buffer = TextBuffer(chunk_length=100)
    words = " ".join(["word"] * 30)  # 149 characters, no punctuation
    pieces = buffer.push(words)
    assert len(pieces) == 1
    assert len(pieces[0]) <= 100
    assert pieces[0].split() == ["word"] * (len(pieces[0].split()))
    assert not pieces[0].endswith(" ")
    assert len(buffer) < 100
    assert (pieces[0] + " " + buffer.flush()).split() == words.split()


def test_chunk_length_cuts_a_spaceless_run_at_the_limit() -> None:
    buffer = TextBuffer(chunk_length=100)
    assert buffer.push("字" * 150) == ["字" * 100]
    assert buffer.flush() == "字" * 50


def test_a_sentence_past_chunk_length_yields_to_a_clause_or_a_cut() -> None:
    buffer = TextBuffer(chunk_length=100)
    text = "A rather long opening clause goes here, " + "and then " * 10 + "it ends. Next"
    pieces = buffer.push(text)
    assert pieces[0] == "A rather long opening clause goes here,"
    assert all(len(piece) <= 100 for piece in pieces)


def test_nothing_is_held_at_chunk_length_after_any_push() -> None:
    buffer = TextBuffer(chunk_length=100)
    for token in tokenize(" ".join(["streaming"] * 80)):
        buffer.push(token)
        assert len(buffer) < 100


def test_leading_whitespace_does_not_stall_the_chunk_length_cut() -> None:
    buffer = TextBuffer(chunk_length=100)
    pieces = buffer.push("  " + "x" * 150)  # e.g. an LLM's "  " then a long URL or unpunctuated CJK
    assert pieces, "nothing released though 152 characters are held"
    assert len(buffer) < 100
    assert "".join(pieces) + buffer.flush() == "x" * 150


# -- flush --------------------------------------------------------------------


def test_flush_returns_the_rest_stripped_and_empties_the_buffer() -> None:
    buffer = TextBuffer()
    buffer.push("  an unfinished thought ")
    assert buffer.flush() == "an unfinished thought"
    assert len(buffer) == 0
    assert buffer.flush() == ""


def test_flush_of_an_unconfirmed_sentence_end() -> None:
    buffer = TextBuffer()
    assert buffer.push("Done.") == []
    assert buffer.flush() == "Done."


def test_the_buffer_is_reusable_after_a_flush() -> None:
    buffer = TextBuffer()
    buffer.push("First turn")
    assert buffer.flush() == "First turn"
    assert buffer.push("Second turn. And") == ["Second turn."]
    assert buffer.flush() == "And"


def test_empty_and_whitespace_pushes() -> None:
    buffer = TextBuffer()
    assert buffer.push("") == []
    assert buffer.push("   ") == []
    assert buffer.flush() == ""


# -- whole streams ------------------------------------------------------------

STREAMS = [
    "Sure! Here is a short answer. The capital of France is Paris, which is also its largest city; "
    "it has about 2.1 million residents. Would you like to know more?",
    "Well, let me think about that for a moment: the answer depends on several factors — cost, time, "
    "and what you actually need. In most cases, though, the simpler option wins.",
    "Step one... open the lid. Step two: pour the water in (slowly!). Step three? Wait 3.5 minutes.",
    " ".join(f"This is sentence number {n}, spoken to test long streams." for n in range(1, 20)),
    "an answer without any punctuation at all that just keeps on going word after word after word "
    "for much longer than any chunk would ever be allowed to grow before being cut somewhere",
]


@pytest.mark.parametrize("text", STREAMS)
@pytest.mark.parametrize("chunk_length", [100, 200])
def test_llm_token_stream_gives_back_the_words(text: str, chunk_length: int) -> None:
    pieces = feed(TextBuffer(chunk_length=chunk_length), tokenize(text))
    assert " ".join(pieces).split() == text.split()
    assert all(piece and piece == piece.strip() for piece in pieces)
    assert all(len(piece) <= chunk_length for piece in pieces)


@pytest.mark.parametrize("text", STREAMS)
def test_token_boundaries_do_not_change_the_pieces(text: str) -> None:
    whole = feed(TextBuffer(), [text])
    by_token = feed(TextBuffer(), tokenize(text))
    by_character = feed(TextBuffer(), list(text))
    assert by_token == by_character
    # One big push may cut differently only where text is held for confirmation; words survive.
    assert " ".join(whole).split() == " ".join(by_token).split()


def test_llm_stream_releases_sentences_while_text_is_still_arriving() -> None:
    buffer = TextBuffer()
    released: list[tuple[int, str]] = []
    tokens = tokenize("Hello there! I can help with that. First, open the settings menu and")
    for index, token in enumerate(tokens):
        released.extend((index, piece) for piece in buffer.push(token))
    assert [piece for _, piece in released] == ["Hello there!", "I can help with that."]
    # Each sentence came out right after the token that followed its end, well before the stream ended.
    assert released[0][0] == tokens.index(" I")
    assert released[1][0] < len(tokens) - 5
    assert buffer.flush() == "First, open the settings menu and"


def test_cjk_token_stream() -> None:
    text = "今天天气很好，我们去公园散步吧。然后一起吃饭，再去看一场电影。你觉得怎么样？"
    pieces = feed(TextBuffer(), list(text))
    assert "".join(pieces) == text
    assert pieces[:2] == ["今天天气很好，我们去公园散步吧。", "然后一起吃饭，再去看一场电影。"]
