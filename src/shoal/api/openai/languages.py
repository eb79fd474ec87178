"""Whisper's language codes and the English names OpenAI's ``verbose_json`` reports."""

from __future__ import annotations

_NAMES = {
    "en": "english", "zh": "chinese", "de": "german", "es": "spanish", "ru": "russian", "ko": "korean",
    "fr": "french", "ja": "japanese", "pt": "portuguese", "tr": "turkish", "pl": "polish", "ca": "catalan",
    "nl": "dutch", "ar": "arabic", "sv": "swedish", "it": "italian", "id": "indonesian", "hi": "hindi",
    "fi": "finnish", "vi": "vietnamese", "he": "hebrew", "uk": "ukrainian", "el": "greek", "ms": "malay",
    "cs": "czech", "ro": "romanian", "da": "danish", "hu": "hungarian", "ta": "tamil", "no": "norwegian",
    "th": "thai", "ur": "urdu", "hr": "croatian", "bg": "bulgarian", "lt": "lithuanian", "la": "latin",
    "fa": "persian", "sk": "slovak", "sr": "serbian", "bn": "bengali", "lv": "latvian", "sl": "slovenian",
    "et": "estonian", "sw": "swahili", "yue": "cantonese",
}  # fmt: skip


def language_name(code: str | None) -> str:
    """OpenAI's name for a language code ("en" → "english"); the code itself when unlisted."""
    if code is None:
        return "unknown"
    return _NAMES.get(code, code)
