from __future__ import annotations

import pytest

from shoal.text.frontend import ChunkingOptions, TextChunk, prepare

LONG_SENTENCE = (
    "The quick brown fox jumps over the lazy dog because it wanted to see what was on the other side "
    "of the fence."
)


def texts(chunks: list[TextChunk]) -> list[str]:
    return [chunk.text for chunk in chunks]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello world.", [("Hello world.", "en")]),
        ("你好，世界。", [("你好，世界。", "zh")]),
        (
            "Hello world, this is a test. 你好，世界，今天天气很好。Goodbye now, my friend.",
            [
                ("Hello world, this is a test.", "en"),
                ("你好，世界，今天天气很好。", "zh"),
                ("Goodbye now, my friend.", "en"),
            ],
        ),
        ("Hello 你好", [("Hello", "en"), ("你好", "zh")]),
        ("我喜欢用iPhone拍照。", [("我喜欢用", "zh"), ("iPhone", "en"), ("拍照。", "zh")]),
    ],
)
def test_language_per_chunk(text: str, expected: list[tuple[str, str]]) -> None:
    chunks = prepare(text, ChunkingOptions(min_chunk_length=0, normalize=False))
    assert [(chunk.text, chunk.language) for chunk in chunks] == expected


def test_latin_text_takes_the_default_language() -> None:
    chunks = prepare("Bonjour 世界", ChunkingOptions(default_language="fr", normalize=False))
    assert [(chunk.text, chunk.language) for chunk in chunks] == [("Bonjour", "fr"), ("世界", "zh")]


@pytest.mark.parametrize(
    ("text", "normalized", "verbatim"),
    [
        ("I have 2 cats.", "I have two cats.", "I have 2 cats."),
        ("我有3只猫。", "我有三只猫。", "我有3只猫。"),
        ("Dr. Smith has 2 cats.", "Doctor Smith has two cats.", "Dr. Smith has 2 cats."),
    ],
)
def test_normalization_only_when_asked(text: str, normalized: str, verbatim: str) -> None:
    assert texts(prepare(text, ChunkingOptions(normalize=True))) == [normalized]
    assert texts(prepare(text, ChunkingOptions(normalize=False))) == [verbatim]


def test_normalization_follows_each_runs_language() -> None:
    chunks = prepare("我有3只猫, and I have 2 dogs.", ChunkingOptions(min_chunk_length=0))
    assert [(chunk.text, chunk.language) for chunk in chunks] == [
        ("我有三只猫,", "zh"),
        ("and I have two dogs.", "en"),
    ]


def test_languages_without_normalizer_keep_their_digits() -> None:
    chunks = prepare("Bonjour 2 chats", ChunkingOptions(default_language="fr"))
    assert texts(chunks) == ["Bonjour 2 chats"]


def test_speaker_and_expressions_are_carried_on_chunks() -> None:
    text = f"<|speaker:1|>(happy) Hello there. {LONG_SENTENCE} <|speaker:2|>[whispering, slowly] Bye."
    chunks = prepare(text, ChunkingOptions(chunk_length=60, min_chunk_length=0, first_chunk_chars=None))
    assert len(chunks) >= 3
    assert [(chunk.speaker, chunk.expressions) for chunk in chunks[:-1]] == [(1, ("happy",))] * (
        len(chunks) - 1
    )
    assert chunks[-1] == TextChunk("Bye.", "en", 2, ("whispering", "slowly"))
    assert " ".join(texts(chunks)).split() == f"Hello there. {LONG_SENTENCE} Bye.".split()


def test_tags_are_not_spoken() -> None:
    chunks = prepare(
        "<|speaker:0|>(sad)[softly] It is over. (see above)", ChunkingOptions(first_chunk_chars=None)
    )
    assert texts(chunks) == ["It is over. (see above)"]
    assert chunks[0].speaker == 0
    assert chunks[0].expressions == ("sad", "softly")


def test_without_speaker_tags_speaker_is_none() -> None:
    assert all(chunk.speaker is None for chunk in prepare(LONG_SENTENCE * 3, ChunkingOptions()))


@pytest.mark.parametrize("first_chunk_chars", [20, 40, 60])
def test_first_chunk_is_short(first_chunk_chars: int) -> None:
    chunks = prepare(LONG_SENTENCE, ChunkingOptions(first_chunk_chars=first_chunk_chars))
    assert len(chunks) == 2
    assert len(chunks[0].text) <= first_chunk_chars
    assert " ".join(texts(chunks)).split() == LONG_SENTENCE.split()


def test_no_short_first_chunk_when_disabled() -> None:
    assert texts(prepare(LONG_SENTENCE, ChunkingOptions(first_chunk_chars=None))) == [LONG_SENTENCE]


def test_only_the_first_chunk_overall_is_short() -> None:
    text = f"<|speaker:1|>{LONG_SENTENCE}<|speaker:2|>{LONG_SENTENCE}"
    chunks = prepare(text, ChunkingOptions(first_chunk_chars=40))
    assert len(chunks[0].text) <= 40
    assert chunks[-1] == TextChunk(LONG_SENTENCE, "en", 2, ())


def test_first_chunk_limit_goes_to_the_first_speakable_segment() -> None:
    text = f"(happy) ... <|speaker:1|> {LONG_SENTENCE}"
    chunks = prepare(text, ChunkingOptions(first_chunk_chars=60))
    assert len(chunks) == 2
    assert len(chunks[0].text) <= 60
    assert all(chunk.speaker == 1 and chunk.expressions == () for chunk in chunks)


def test_chunk_length_is_respected() -> None:
    chunks = prepare(LONG_SENTENCE * 4, ChunkingOptions(chunk_length=50, min_chunk_length=20))
    assert all(len(chunk.text) <= 50 for chunk in chunks)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello. ... — !!! Bye now.", ["Hello.", "Bye now."]),
        ("你好。……！！再见。", ["你好。", "再见。"]),
    ],
)
def test_punctuation_only_pieces_are_dropped(text: str, expected: list[str]) -> None:
    chunks = prepare(text, ChunkingOptions(min_chunk_length=0, normalize=False))
    assert texts(chunks) == expected


@pytest.mark.parametrize("text", ["", "   ", "...", "... — !!!", "(happy)", "<|speaker:1|>[sad] ?!", "\n\n"])
@pytest.mark.parametrize("normalize", [True, False])
def test_nothing_speakable_gives_no_chunks(text: str, normalize: bool) -> None:
    assert prepare(text, ChunkingOptions(normalize=normalize)) == []


def test_every_chunk_holds_something_speakable() -> None:
    text = "Wait — what?! ... Really... !!! (happy) ?? 你好。。。！！ Done."
    chunks = prepare(text, ChunkingOptions(min_chunk_length=0))
    assert chunks
    assert all(any(character.isalnum() for character in chunk.text) for chunk in chunks)
