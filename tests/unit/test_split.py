from __future__ import annotations

import itertools

import pytest

from shoal.text.split import sentences, split

LATIN_TEXTS = [
    "The quick brown fox jumps over the lazy dog because it wanted to see what was on the other side "
    "of the fence. Then it ran away into the forest, where nobody could find it for many days. The end.",
    "Dr. Smith met Mr. Jones at St. Mary's church; they talked about e.g. the weather, the harvest, "
    "and the price of grain. It was a long, slow afternoon — nobody was in a hurry. Afterwards, "
    "J. K. Rowling's new book was discussed at length by everyone present.\n\n"
    "A new paragraph starts here. Short. Tiny. Ok!",
    "Wait... what? Really! I can't believe it. Is this the end, or is it just the beginning of "
    "something much bigger than any of us could imagine?",
    "Hi. Yo. Ok. Fine then. Good. Yes. Maybe so. Perhaps tomorrow, or the day after that, when the "
    "rain stops and the sun comes out again over the hills.",
    "A sentence without any punctuation that just keeps going and going with words of ordinary length "
    "until it finally stops somewhere far away from where it started",
]

CJK_TEXTS = [
    "我们今天去公园散步然后吃饭看电影最后回家睡觉明天还要上班工作非常辛苦但是很充实",
    "今天天气很好，我们去公园散步吧。然后一起吃饭，再去看一场电影。你觉得怎么样？我觉得非常好！",
    "我喜欢用iPhone拍照。每天早上我都会去公园，拍很多很多的照片，然后回家整理。",
]

OPTIONS = [
    pytest.param(
        chunk_length, min_chunk_length, first_limit, id=f"c{chunk_length}-m{min_chunk_length}-f{first_limit}"
    )
    for chunk_length, min_chunk_length, first_limit in itertools.product(
        [20, 40, 80, 200], [0, 10, 30], [None, 10, 30, 60]
    )
    if min_chunk_length <= chunk_length
]


# --------------------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello! How are you? Fine.", ["Hello!", "How are you?", "Fine."]),
        ("Wait... what?", ["Wait...", "what?"]),
        ("It is 3.5 meters long. OK.", ["It is 3.5 meters long.", "OK."]),
        ("One sentence only", ["One sentence only"]),
        ("  Padded sentence.   Next one.  ", ["Padded sentence.", "Next one."]),
        ("Line one\nline two.", ["Line one\nline two."]),
    ],
)
def test_sentences_at_end_punctuation(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith went home. He was tired.", ["Dr. Smith went home.", "He was tired."]),
        (
            "Mr. and Mrs. Smith arrived. Dinner was served.",
            ["Mr. and Mrs. Smith arrived.", "Dinner was served."],
        ),
        ("Use tools, e.g. hammers. They help.", ["Use tools, e.g. hammers.", "They help."]),
        ("That is, i.e. the red one. Take it.", ["That is, i.e. the red one.", "Take it."]),
        ("J. R. R. Tolkien wrote books. They are long.", ["J. R. R. Tolkien wrote books.", "They are long."]),
        ("Call Prof. Lee now. Please.", ["Call Prof. Lee now.", "Please."]),
        ("Cats vs. dogs is old. Move on.", ["Cats vs. dogs is old.", "Move on."]),
    ],
)
def test_abbreviations_and_initials_do_not_end_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好。我很好！你呢？", ["你好。", "我很好！", "你呢？"]),
        ("你好，世界。我来了；再见", ["你好，世界。", "我来了；", "再见"]),
        ("他来了。 她也来了。", ["他来了。", "她也来了。"]),
        ("A（好）。B", ["A（好）。", "B"]),
    ],
)
def test_sentences_cjk_punctuation(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("First paragraph\n\nSecond paragraph", ["First paragraph", "Second paragraph"]),
        ("Hello world.  \n\n  Another.", ["Hello world.", "Another."]),
        ("No stop here\n   \nnor here\n\n\n\nend", ["No stop here", "nor here", "end"]),
        ("第一段\n\n第二段", ["第一段", "第二段"]),
    ],
)
def test_blank_lines_end_paragraphs(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \t\n \n "])
def test_sentences_of_blank_text(text: str) -> None:
    assert sentences(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("She whispered (quietly.) Then left.", ["She whispered (quietly.)", "Then left."]),
        ("他说：“好。”然后走了。", ["他说：“好。”", "然后走了。"]),
    ],
)
def test_sentences_keep_closing_quotes(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_sentence_ending_in_no_is_a_sentence() -> None:
    assert sentences("The answer is no. We leave now.") == ["The answer is no.", "We leave now."]


# --------------------------------------------------------------------------- split


@pytest.mark.parametrize("text", ["", " ", "\n\n  \t", "   \n\n   \n"])
@pytest.mark.parametrize("first_limit", [None, 10])
def test_split_blank_text(text: str, first_limit: int | None) -> None:
    assert split(text, chunk_length=50, min_chunk_length=10, first_limit=first_limit) == []


def test_each_sentence_is_a_chunk_without_min_chunk_length() -> None:
    text = "Hello there. How are you?"
    assert split(text, chunk_length=200) == ["Hello there.", "How are you?"]
    assert split(text, chunk_length=200, min_chunk_length=50) == [text]


def test_sentences_are_packed_up_to_chunk_length() -> None:
    text = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    assert split(text, chunk_length=30, min_chunk_length=30) == [
        "One two three. Four five six.",
        "Seven eight nine.",
        "Ten eleven twelve.",
    ]
    assert split(text, chunk_length=40, min_chunk_length=30) == [
        "One two three. Four five six.",
        "Seven eight nine. Ten eleven twelve.",
    ]


@pytest.mark.parametrize("text", LATIN_TEXTS)
@pytest.mark.parametrize(("chunk_length", "min_chunk_length", "first_limit"), OPTIONS)
def test_chunks_give_back_the_words(
    text: str, chunk_length: int, min_chunk_length: int, first_limit: int | None
) -> None:
    chunks = split(
        text, chunk_length=chunk_length, min_chunk_length=min_chunk_length, first_limit=first_limit
    )
    assert " ".join(chunks).split() == text.split()
    assert all(chunk and chunk == chunk.strip() for chunk in chunks)


@pytest.mark.parametrize("text", CJK_TEXTS)
@pytest.mark.parametrize(("chunk_length", "min_chunk_length", "first_limit"), OPTIONS)
def test_cjk_chunks_give_back_the_text(
    text: str, chunk_length: int, min_chunk_length: int, first_limit: int | None
) -> None:
    chunks = split(
        text, chunk_length=chunk_length, min_chunk_length=min_chunk_length, first_limit=first_limit
    )
    assert "".join(chunks) == text.replace(" ", "")
    assert all(chunk and chunk == chunk.strip() for chunk in chunks)


@pytest.mark.parametrize("text", LATIN_TEXTS + CJK_TEXTS)
@pytest.mark.parametrize(("chunk_length", "min_chunk_length", "first_limit"), OPTIONS)
def test_no_chunk_longer_than_chunk_length(
    text: str, chunk_length: int, min_chunk_length: int, first_limit: int | None
) -> None:
    chunks = split(
        text, chunk_length=chunk_length, min_chunk_length=min_chunk_length, first_limit=first_limit
    )
    for chunk in chunks:
        assert len(chunk) <= chunk_length, chunk


@pytest.mark.parametrize("chunk_length", [5, 10, 20])
def test_only_a_longer_word_makes_a_longer_chunk(chunk_length: int) -> None:
    text = "Supercalifragilisticexpialidocious is long. So is pneumonoultramicroscopic, they say."
    chunks = split(text, chunk_length=chunk_length)
    assert " ".join(chunks).split() == text.split()
    for chunk in chunks:
        if len(chunk) > chunk_length:
            assert any(len(word) > chunk_length for word in chunk.split()), chunk
    assert "Supercalifragilisticexpialidocious" in chunks


def test_words_that_fit_never_make_a_longer_chunk() -> None:
    url = "https://example.com/" + "a" * 120  # 140 characters: fits in a chunk of 150
    text = f"Please see {url} for details."
    chunks = split(text, chunk_length=150)
    assert " ".join(chunks).split() == text.split()
    assert all(len(chunk) <= 150 for chunk in chunks), [len(chunk) for chunk in chunks]


def test_long_cjk_sentence_is_cut_by_characters() -> None:
    text = CJK_TEXTS[0]
    chunks = split(text, chunk_length=10)
    assert [len(chunk) for chunk in chunks] == [10, 10, 10, len(text) - 30]
    assert "".join(chunks) == text


def test_long_sentence_is_cut_at_clauses_first() -> None:
    text = "Then it ran away into the forest, where nobody could find it for many days."
    assert split(text, chunk_length=60) == [
        "Then it ran away into the forest,",
        "where nobody could find it for many days.",
    ]


@pytest.mark.parametrize("text", LATIN_TEXTS)
@pytest.mark.parametrize(("chunk_length", "min_chunk_length", "first_limit"), OPTIONS)
def test_short_pieces_are_merged_when_they_fit(
    text: str, chunk_length: int, min_chunk_length: int, first_limit: int | None
) -> None:
    chunks = split(
        text, chunk_length=chunk_length, min_chunk_length=min_chunk_length, first_limit=first_limit
    )
    # The short first chunk is kept apart on purpose; everywhere else two neighbours of
    # which one is short stay apart only because together they would be too long.
    rest = chunks[1:] if first_limit is not None else chunks
    for left, right in itertools.pairwise(rest):
        if len(left) < min_chunk_length or len(right) < min_chunk_length:
            assert len(left) + 1 + len(right) > chunk_length, (left, right)


def test_min_chunk_length_merges_short_sentences() -> None:
    text = "Hi. Yo. Ok. Fine then. Good."
    assert split(text, chunk_length=200) == ["Hi.", "Yo.", "Ok.", "Fine then.", "Good."]
    assert split(text, chunk_length=200, min_chunk_length=10) == ["Hi. Yo. Ok.", "Fine then. Good."]
    assert split(text, chunk_length=200, min_chunk_length=100) == [text]


def test_min_chunk_length_merges_cjk_without_spaces() -> None:
    assert split("你好。我很好！你呢？", chunk_length=200, min_chunk_length=20) == ["你好。我很好！你呢？"]


def test_merging_never_exceeds_chunk_length() -> None:
    text = "Tiny. " + "word " * 7 + "end."
    chunks = split(text, chunk_length=40, min_chunk_length=30)
    assert all(len(chunk) <= 40 for chunk in chunks)
    assert " ".join(chunks).split() == text.split()


# --------------------------------------------------------------------------- first_limit


@pytest.mark.parametrize("text", LATIN_TEXTS)
@pytest.mark.parametrize("first_limit", [10, 20, 30, 45, 60])
def test_first_chunk_is_short_and_whole_words(text: str, first_limit: int) -> None:
    chunks = split(text, chunk_length=200, min_chunk_length=50, first_limit=first_limit)
    assert len(chunks[0]) <= first_limit or len(chunks[0].split()) == 1
    # Its words are the text's first words, none of them cut.
    words = chunks[0].split()
    assert text.split()[: len(words)] == words
    assert " ".join(chunks).split() == text.split()


@pytest.mark.parametrize(
    ("text", "first_limit", "head"),
    [
        (
            "Then it ran away into the forest, where nobody could find it for many days.",
            40,
            "Then it ran away into the forest,",
        ),
        (
            "Well; that settles it, then we go home and sleep for a very long time.",
            30,
            "Well; that settles it,",
        ),
        ("今天天气很好，我们去公园散步吧。然后一起吃饭。", 10, "今天天气很好，"),
    ],
)
def test_first_chunk_ends_at_a_clause(text: str, first_limit: int, head: str) -> None:
    chunks = split(text, chunk_length=200, first_limit=first_limit)
    assert chunks[0] == head
    assert len(chunks) >= 2


@pytest.mark.parametrize(
    ("first_limit", "head", "next_word"),
    [
        (40, "The quick brown fox jumps over", "the"),
        (60, "The quick brown fox jumps over the lazy dog", "because"),
    ],
)
def test_first_chunk_ends_before_a_phrase_starter(first_limit: int, head: str, next_word: str) -> None:
    chunks = split(LATIN_TEXTS[0], chunk_length=200, first_limit=first_limit)
    assert chunks[0] == head
    assert chunks[1].split()[0] == next_word


def test_first_chunk_without_clause_or_starter_ends_at_a_space() -> None:
    text = "Seventeen purple elephants quietly marched northward yesterday evening"
    chunks = split(text, chunk_length=200, first_limit=30)
    assert chunks == ["Seventeen purple elephants", "quietly marched northward yesterday evening"]


def test_first_chunk_never_cuts_a_latin_word() -> None:
    text = "Incomprehensibilities notwithstanding everything continued"
    for first_limit in range(3, 40):
        chunks = split(text, chunk_length=200, first_limit=first_limit)
        assert " ".join(chunks).split() == text.split(), first_limit


@pytest.mark.parametrize("first_limit", [4, 8, 13])
def test_first_chunk_may_cut_cjk_anywhere(first_limit: int) -> None:
    text = CJK_TEXTS[0]
    chunks = split(text, chunk_length=200, first_limit=first_limit)
    assert len(chunks[0]) == first_limit
    assert chunks == [text[:first_limit], text[first_limit:]]


def test_first_chunk_is_not_merged_even_when_short() -> None:
    text = "Hi. Yo. Ok. Fine then. Good."
    assert split(text, chunk_length=200, min_chunk_length=10, first_limit=5) == [
        "Hi.",
        "Yo. Ok. Fine then. Good.",
    ]


def test_first_limit_longer_than_the_first_sentence_changes_nothing_after_it() -> None:
    text = "Short one. Then a much longer second sentence that goes on."
    assert split(text, chunk_length=200, first_limit=60) == [
        "Short one.",
        "Then a much longer second sentence that goes on.",
    ]


@pytest.mark.parametrize("text", LATIN_TEXTS + CJK_TEXTS)
def test_without_first_limit_first_chunk_is_not_cut_short(text: str) -> None:
    chunks = split(text, chunk_length=200)
    assert chunks[0] == sentences(text)[0]
