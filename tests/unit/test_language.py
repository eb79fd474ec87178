from __future__ import annotations

import itertools

import pytest

from shoal.text.language import detect_language, split_by_script


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, world!", "en"),
        ("Café résumé naïve", "en"),
        ("你好，世界", "zh"),
        ("二〇二四年", "zh"),
        ("日本語のテキスト", "ja"),
        ("こんにちは", "ja"),
        ("カタカナ", "ja"),
        ("東京タワー", "ja"),
        ("안녕하세요", "ko"),
        ("Привет, мир!", "ru"),
        ("Γειά σου κόσμε", "el"),
        ("مرحبا بالعالم", "ar"),
        ("שלום עולם", "he"),
        ("สวัสดีครับ", "th"),
        ("नमस्ते दुनिया", "hi"),
        ("გამარჯობა", "ka"),
        ("Բարեւ աշխարհ", "hy"),
        ("Hello 你好 world", "en"),
        ("我喜欢用iPhone拍照", "zh"),
        ("Hello world, привет", "en"),
        ("123, 456... !?", "en"),
        ("١٢٣٤", "en"),
        ("   \n\t", "en"),
        ("", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_detect_language_default() -> None:
    assert detect_language("Guten Tag", default="de") == "de"
    assert detect_language("42!", default="fr") == "fr"
    assert detect_language("", default="es") == "es"
    assert detect_language("你好", default="de") == "zh"


def test_any_kana_makes_japanese() -> None:
    assert detect_language("漢字漢字漢字漢字の") == "ja"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, world!", [("en", "Hello, world!")]),
        ("你好，世界", [("zh", "你好，世界")]),
        ("日本語のテキスト", [("ja", "日本語のテキスト")]),
        ("안녕하세요, 세계!", [("ko", "안녕하세요, 세계!")]),
        ("Привет, мир!", [("ru", "Привет, мир!")]),
        ("Hello 你好 world", [("en", "Hello "), ("zh", "你好 "), ("en", "world")]),
        ("  你好 hi", [("zh", "  你好 "), ("en", "hi")]),
        ("Hello, Москва! 2024", [("en", "Hello, "), ("ru", "Москва! 2024")]),
        ("東京 is big. これはペン", [("ja", "東京 "), ("en", "is big. "), ("ja", "これはペン")]),
        ("我喜欢用iPhone拍照", [("zh", "我喜欢用"), ("en", "iPhone"), ("zh", "拍照")]),
        ("서울 and 東京", [("ko", "서울 "), ("en", "and "), ("zh", "東京")]),
        ("123, 456!", [("en", "123, 456!")]),
        ("١٢٣", [("en", "١٢٣")]),
        ("", []),
    ],
)
def test_split_by_script(text: str, expected: list[tuple[str, str]]) -> None:
    assert split_by_script(text) == expected


def test_split_uses_default_for_latin() -> None:
    assert split_by_script("Bonjour 世界", default="fr") == [("fr", "Bonjour "), ("zh", "世界")]


def test_combining_marks_stay_with_their_letters() -> None:
    assert split_by_script("नमस्ते दुनिया") == [("hi", "नमस्ते दुनिया")]
    assert split_by_script("e\u0301t\u00e9 мир") == [("en", "e\u0301t\u00e9 "), ("ru", "мир")]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello 你好 world",
        "日本語のテキスト and English, 한국어도; Ελληνικά! ١٢٣ مرحبا... שלום",
        "...!!! 123",
        "  leading and trailing  ",
        "混合 text 日本語 テキスト 中文 😀 emoji\n新行",
    ],
)
def test_split_round_trips(text: str) -> None:
    runs = split_by_script(text)
    assert "".join(run for _, run in runs) == text
    assert all(run for _, run in runs)
    # maximal: neighbours differ in language
    assert all(a[0] != b[0] for a, b in itertools.pairwise(runs))
