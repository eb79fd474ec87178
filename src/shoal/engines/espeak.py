"""espeak-ng: formant synthesis for the languages the neural voices do not speak.

Robotic but intelligible, tiny and fast (hundreds of times faster than real
time), with voices for about a hundred languages. The library and its data come
from the ``espeakng-loader`` wheel and are driven through ``ctypes``.

espeak-ng keeps all of its state in globals, so a process has one binding to the
library (``_Library``), shared by every ``EspeakEngine`` and guarded by a lock.
That copy is separate from the one Piper links statically into
``piper/espeakbridge.so``: both libraries are opened with ``RTLD_LOCAL`` (the
default for extension modules and ``ctypes.CDLL``), so neither sees the other's
``espeak_*`` symbols, and each has its own data directory and voice.

Japanese caveat: espeak-ng reads kana only. It has no kanji readings and says
each kanji as its Unicode name ("Chinese letter"), so Japanese with kanji comes
out wrong; kana-only text is fine.
"""

from __future__ import annotations

import ctypes
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from shoal.engines.base import BlockingEngine, Pcm, SynthesisRequest, Voice
from shoal.errors import EngineFailed

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
"""espeak_Synth returns when the text is spoken, having handed every sample to the
synth callback; nothing is played and no thread is started."""
_INITIALIZE_DONT_EXIT = 0x8000
"""Without it espeak_Initialize calls exit(1) when its data is missing."""
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_PARAMETER_RATE = 1
_EE_OK = 0
_RATE_MIN, _RATE_MAX = 80, 450
"""espeakRATE_MINIMUM and espeakRATE_MAXIMUM, in words per minute."""

_BUFFER_MS = 200
"""How much audio espeak hands to the callback at a time."""
_PIECE_SECONDS = 0.5
"""Longest piece ``synthesize_blocking`` yields."""

VOICE_PREFIX = "espeak-"

_PREFERRED_VOICES = {"en": "gmw/en-US", "zh": "sit/cmn"}
"""espeak voice (identifier) for a language where espeak's own priorities pick another:
American English like the default Piper voice; Mandarin read with English for Latin
letters rather than the pinyin variant."""

_NOT_ISO_639_1 = frozenset({"py"})
"""Two-letter codes espeak uses for languages that have no ISO 639-1 code ("py" is Pyash)."""

# int callback(short *wav, int numsamples, espeak_EVENT *events)
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)


class _VoiceStruct(ctypes.Structure):
    """espeak_VOICE."""

    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, NUL-terminated language)*, then a 0 byte
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


@dataclass(frozen=True, slots=True)
class EspeakVoice:
    """An espeak-ng voice file and the ISO 639-1 language it is used for."""

    language: str
    identifier: str
    """Path under espeak-ng-data/voices or /lang, e.g. ``sit/cmn``; espeak_SetVoiceByName takes it."""
    name: str


def _voice_languages(address: int | None) -> list[tuple[int, str]]:
    """Decode espeak_VOICE.languages: ``(priority, language)`` pairs; lower priority is better."""
    pairs: list[tuple[int, str]] = []
    if not address:
        return pairs
    while (priority := ctypes.c_ubyte.from_address(address).value) != 0:
        language = ctypes.string_at(address + 1)
        pairs.append((priority, language.decode("ascii", "replace")))
        address += 2 + len(language)
    return pairs


def choose_voices(listed: list[tuple[str, str, list[tuple[int, str]]]]) -> dict[str, EspeakVoice]:
    """One voice per ISO 639-1 code from ``(name, identifier, languages)`` as espeak lists them.

    A voice serves each two-letter language it declares; of several, the one with
    the best (lowest) priority wins, then the one listed first, unless
    ``_PREFERRED_VOICES`` names it.
    """
    best: dict[str, tuple[int, EspeakVoice]] = {}
    for name, identifier, languages in listed:
        for priority, language in languages:
            if len(language) != 2 or not language.isalpha() or language in _NOT_ISO_639_1:
                continue
            rank = -1 if _PREFERRED_VOICES.get(language) == identifier else priority
            if language not in best or rank < best[language][0]:
                best[language] = (rank, EspeakVoice(language, identifier, name))
    return {language: voice for language, (_, voice) in sorted(best.items())}


class _Library:
    """The process's binding to libespeak-ng. Every call into it holds ``lock``."""

    def __init__(self) -> None:
        import espeakng_loader

        self.lock = threading.Lock()
        lib = ctypes.CDLL(str(espeakng_loader.get_library_path()))
        lib.espeak_Initialize.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = (_SynthCallback,)
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_ListVoices.argtypes = (ctypes.c_void_p,)
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceStruct))
        lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = (
            ctypes.c_char_p,  # text
            ctypes.c_size_t,  # size
            ctypes.c_uint,  # position
            ctypes.c_int,  # position_type
            ctypes.c_uint,  # end_position
            ctypes.c_uint,  # flags
            ctypes.c_void_p,  # unique_identifier
            ctypes.c_void_p,  # user_data
        )
        lib.espeak_Synth.restype = ctypes.c_int
        self._lib = lib

        data_path = str(espeakng_loader.get_data_path()).encode()
        with self.lock:
            rate = int(
                lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, data_path, _INITIALIZE_DONT_EXIT)
            )
            if rate <= 0:
                raise EngineFailed(f"espeak-ng failed to initialize (returned {rate})")
            self.sample_rate = rate
            self._sink: list[bytes] = []
            # ctypes does not keep the callback alive for the C side: hold it for the process's life.
            self._callback = _SynthCallback(self._receive)
            lib.espeak_SetSynthCallback(self._callback)
            self._current_voice: str | None = None
            self.voices = choose_voices(self._list_voices())
        if "en" not in self.voices:
            raise EngineFailed(f"espeak-ng found no voices in {data_path.decode()!r}")

    def _receive(self, wav: int | None, samples: int, events: int | None) -> int:
        if wav and samples > 0:
            self._sink.append(ctypes.string_at(wav, samples * 2))
        return 0  # continue

    def _list_voices(self) -> list[tuple[str, str, list[tuple[int, str]]]]:
        listed: list[tuple[str, str, list[tuple[int, str]]]] = []
        array = self._lib.espeak_ListVoices(None)
        index = 0
        while array[index]:
            voice = array[index].contents
            listed.append(
                (
                    (voice.name or b"").decode("utf-8", "replace").strip(),
                    (voice.identifier or b"").decode("utf-8", "replace"),
                    _voice_languages(voice.languages),
                )
            )
            index += 1
        return listed

    def synthesize(self, voice: str, rate: int, text: str) -> Pcm:
        """All of ``text`` spoken by ``voice`` at ``rate`` words per minute, in one array."""
        data = text.encode("utf-8") + b"\0"
        with self.lock:
            if voice != self._current_voice:
                status = int(self._lib.espeak_SetVoiceByName(voice.encode()))
                if status != _EE_OK:
                    self._current_voice = None
                    raise EngineFailed(f"espeak-ng cannot load voice {voice!r} (error {status})")
                self._current_voice = voice
            self._lib.espeak_SetParameter(_PARAMETER_RATE, rate, 0)
            self._sink = []
            try:
                status = int(
                    self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
                )
                chunks = self._sink
            finally:
                self._sink = []
        if status != _EE_OK:
            raise EngineFailed(f"espeak-ng failed to synthesize (error {status})")
        return np.frombuffer(bytearray(b"".join(chunks)), dtype=np.int16)  # writable, owns its memory


_library: _Library | None = None
_library_lock = threading.Lock()


def _get_library() -> _Library:
    global _library
    with _library_lock:
        if _library is None:
            _library = _Library()
        return _library


class EspeakEngine(BlockingEngine):
    """espeak-ng voices, one per language (ISO 639-1), with ids ``espeak-<language>``."""

    name = "espeak"

    def __init__(self, *, max_queue: int = 16, rate_wpm: int = 175) -> None:
        super().__init__(max_queue=max_queue)
        self.rate_wpm = rate_wpm
        self._library: _Library | None = None

    def load(self) -> None:
        library = self._ensure_library()
        self.sample_rate = library.sample_rate
        # Warm-up: loads the default voice and its dictionary before the first request.
        for _ in self.synthesize_blocking(SynthesisRequest("Ready.", "en")):
            pass

    def _ensure_library(self) -> _Library:
        if self._library is None:
            self._library = _get_library()
            self.sample_rate = self._library.sample_rate
        return self._library

    def languages(self) -> frozenset[str]:
        return frozenset(self._ensure_library().voices)

    def voices(self) -> list[Voice]:
        return [
            Voice(
                id=f"{VOICE_PREFIX}{language}",
                name=f"eSpeak {voice.name}",
                languages=(language,),
                matchable=False,
            )
            for language, voice in self._ensure_library().voices.items()
        ]

    def voice_for(self, request: SynthesisRequest) -> EspeakVoice:
        """The request's voice if it is one of ours, else its language's, else English."""
        table = self._ensure_library().voices
        if request.voice is not None and request.voice.startswith(VOICE_PREFIX):
            voice = table.get(request.voice.removeprefix(VOICE_PREFIX))
            if voice is not None:
                return voice
        language = request.language.replace("_", "-").split("-")[0].lower()
        return table.get(language) or table["en"]

    def rate_for(self, speed: float) -> int:
        """espeak's rate (words per minute) for a tempo factor, within espeak's limits."""
        if not math.isfinite(speed) or speed <= 0:
            speed = 1.0
        return max(_RATE_MIN, min(_RATE_MAX, round(self.rate_wpm * speed)))

    def synthesize_blocking(self, request: SynthesisRequest) -> Iterator[Pcm]:
        """Speak the whole chunk in one espeak call, then yield it in pieces of at most 0.5 s.

        The one call happens before the first piece, inside a single step of the
        worker thread, so chunks of concurrent requests never interleave inside
        espeak's global state.
        """
        library = self._ensure_library()
        text = request.text.replace("\0", " ")
        if not text.strip():
            return
        audio = library.synthesize(self.voice_for(request).identifier, self.rate_for(request.speed), text)
        piece = max(1, int(library.sample_rate * _PIECE_SECONDS))
        for start in range(0, len(audio), piece):
            yield audio[start : start + piece]
