from __future__ import annotations

import pytest

from shoal.text.markup import Segment, in_force_after, parse, strip


def spoken(segments: list[Segment]) -> list[tuple[str, int | None, tuple[str, ...]]]:
    """Segments with surrounding whitespace ignored: what is said, by whom, how."""
    return [(segment.text.strip(), segment.speaker, segment.expressions) for segment in segments]


@pytest.mark.parametrize(
    "text",
    ["plain text", "Hello, world! How are you?", "你好，世界。", "Line one\nline two"],
)
def test_plain_text_is_one_segment(text: str) -> None:
    assert parse(text) == [Segment(text, None, ())]
    assert strip(text) == text


def test_speaker_tags() -> None:
    segments = parse("<|speaker:0|>Hello there.<|speaker:1|>Hi!")
    assert spoken(segments) == [("Hello there.", 0, ()), ("Hi!", 1, ())]


def test_text_before_the_first_speaker_tag_has_no_speaker() -> None:
    assert spoken(parse("Intro. <|speaker:12|> Now me.")) == [("Intro.", None, ()), ("Now me.", 12, ())]


def test_speaker_tag_without_text_is_dropped() -> None:
    assert spoken(parse("<|speaker:2|>  <|speaker:3|>text")) == [("text", 3, ())]


@pytest.mark.parametrize(
    ("tag", "expression"),
    [
        ("(happy)", "happy"),
        ("(HAPPY)", "happy"),
        ("(  sad )", "sad"),
        ("(whispering)", "whispering"),
        ("(long-break)", "long-break"),
        ("(in a hurry tone)", "in a hurry tone"),
        ("(soft tone)", "soft tone"),
        ("(audience laughing)", "audience laughing"),
    ],
)
def test_s1_vocabulary_tags(tag: str, expression: str) -> None:
    assert spoken(parse(f"{tag} Go now!")) == [("Go now!", None, (expression,))]
    assert strip(f"{tag} Go now!") == "Go now!"


@pytest.mark.parametrize(
    ("cue", "expressions"),
    [
        ("[whispering, slowly]", ("whispering", "slowly")),
        ("[Whispering,  SLOWLY ]", ("whispering", "slowly")),
        ("[like a pirate]", ("like a pirate",)),
        ("[a,,b]", ("a", "b")),
        ("[sounding tired, almost asleep, low]", ("sounding tired", "almost asleep", "low")),
    ],
)
def test_s2_free_form_cues(cue: str, expressions: tuple[str, ...]) -> None:
    assert spoken(parse(f"{cue} come here")) == [("come here", None, expressions)]
    assert strip(f"{cue} come here") == "come here"


@pytest.mark.parametrize(
    "text",
    [
        "Read the note (see above) carefully.",
        "The result (about 40%) was fine.",
        "Call me (or not).",
        "(Aside) This is a sidenote.",
        "A (happy-ish) mood.",
    ],
)
def test_ordinary_parentheses_are_spoken(text: str) -> None:
    assert parse(text) == [Segment(text, None, ())]
    assert strip(text) == text


def test_tags_together_apply_to_the_following_text() -> None:
    assert spoken(parse("(happy)(excited)[loud] Great!")) == [("Great!", None, ("happy", "excited", "loud"))]


def test_expressions_are_replaced_after_spoken_text() -> None:
    segments = parse("(happy) one (sad) two [calm, slow] three")
    assert spoken(segments) == [
        ("one", None, ("happy",)),
        ("two", None, ("sad",)),
        ("three", None, ("calm", "slow")),
    ]


def test_tag_in_the_middle_of_a_sentence_starts_a_new_segment() -> None:
    assert spoken(parse("Hi (happy) there")) == [("Hi", None, ()), ("there", None, ("happy",))]


def test_expressions_reset_at_a_new_speaker_turn() -> None:
    segments = parse("<|speaker:0|>(happy) Hi <|speaker:1|> Hey <|speaker:0|> Again")
    assert spoken(segments) == [("Hi", 0, ("happy",)), ("Hey", 1, ()), ("Again", 0, ())]


def test_expressions_before_a_speaker_tag_do_not_carry_over() -> None:
    assert spoken(parse("(happy) <|speaker:1|> Hey")) == [("Hey", 1, ())]


def test_speaker_is_kept_across_expression_changes() -> None:
    segments = parse("<|speaker:1|>(happy) a (sad) b")
    assert spoken(segments) == [("a", 1, ("happy",)), ("b", 1, ("sad",))]


def test_tags_never_glue_words_together() -> None:
    assert strip("Hello(happy)world") == "Hello world"
    assert strip("one[soft]two") == "one two"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n",
        "(happy)",
        "(happy)(sad)",
        "[whispering]",
        "<|speaker:1|>",
        "<|speaker:1|>(sad)[softly]  ",
    ],
)
def test_text_without_speech_gives_no_segments(text: str) -> None:
    assert parse(text) == []
    assert strip(text) == ""


def test_empty_segments_are_dropped() -> None:
    segments = parse("(happy) <|speaker:1|> (sad) [calm] Text <|speaker:2|> (angry)")
    assert spoken(segments) == [("Text", 1, ("sad", "calm"))]
    assert all(segment.text.strip() for segment in segments)


def test_strip_joins_segments_with_spaces() -> None:
    text = "<|speaker:0|>(happy) Hello there. <|speaker:1|>[whispering] Hi! (see above)"
    assert strip(text) == "Hello there. Hi! (see above)"


@pytest.mark.parametrize(
    ("text", "carried"),
    [
        ("Plain words.", ""),
        ("<|speaker:1|>Hello there.", "<|speaker:1|>"),
        ("<|speaker:0|>Hi. <|speaker:2|>(sad) I lost it.", "<|speaker:2|>[sad]"),
        ("[whispering, slowly] Quiet now.", "[whispering, slowly]"),
        ("(happy) Yes! Plain again? No, still happy.", "[happy]"),
    ],
)
def test_what_is_in_force_carries_to_the_next_piece(text: str, carried: str) -> None:
    assert in_force_after(text) == carried
    following, last = parse(carried + "And then more.")[0], parse(text)[-1]
    assert (following.speaker, following.expressions) == (last.speaker, last.expressions)


def test_tags_alone_stay_in_force() -> None:
    assert in_force_after(" <|speaker:1|> (sad) ") == "<|speaker:1|>(sad)"
    assert in_force_after("...") == ""
