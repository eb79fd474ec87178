"""Voice matching, measured: how much closer to a reference speaker the adapted base voice sounds,
and what it costs in intelligibility.

We have no recordings of real people, so the reference speakers are other synthesizers, made
here from Debian packages (bench only; Shoal does not use them):

* flite's ``slt`` (US female), ``rms`` (US male) and ``awb`` (Scottish male) — voices built from
  the CMU ARCTIC recordings of real speakers (package ``flite``);
* Festival's ``cmu_us_slt_arctic_hts`` (the same ``slt`` speaker through a different
  synthesizer, HTS) and ``ked_diphone`` (US male) (packages ``festival festvox-us-slt-hts
  festvox-kdlpc16k``);
* espeak-ng's formant voices ``en-us+f3``, ``en-us+f5`` (female variants) and ``en-us+m3`` (male)
  (package ``espeak-ng``; mbrola voices are not available).

Each reference speaks ``REFERENCE_TEXT``; ``shoal.voices.analysis.analyse`` turns it into a
profile over Shoal's base voice (Piper ``joe``, the only neural English voice; espeak-ng's
voices are not offered as bases here, as they would trivially "match" the espeak references).
Then ``TEST_TEXT`` — different words, about 100 of them — is spoken by Piper: plainly (the
*base*), and at the profile's tempo with each sentence adapted by ``VoiceAdapter`` (the
*matched* output). Piper samples its durations and noise, so each reference gets ``--repeats``
fresh takes of both (2 by default) and the figures are their means.

Judged, per reference and on average:

* speaker similarity (cosine) of base and matched output to the reference, by **Resemblyzer**
  (GE2E) — an embedder the adaptation never sees; the adaptation's own d-vector
  (VoiceFilter-Lite) figure is printed beside it for comparison;
* a control, *round trip*: the base take through the adapter with nothing to change (forced
  past its shortcut), showing how much similarity the vocoder's colouring alone brings;
* word error rate of base and matched output, transcribed by Shoal's Whisper base (int8,
  the packaged model) and scored by jiwer.

Target: mean similarity gain ≥ 0.15 with the mean WER rising by at most 2 points.
Also printed: the adapter's real-time factor (this machine: 2 cores; pyworld uses one) and the
analysis time per reference. A run takes about 5 minutes.

    .venv/bin/python bench/voices.py [--save DIR] [--only NAME ...] [--repeats N] [--verbose]

Resemblyzer needs PyTorch: the judge runs in its own venv, ``bench/.venv-voices``, created on
first run with ``pip install torch==2.13.0 resemblyzer==0.1.4 'setuptools<81' jiwer==4.0.0``
(torch 2.13.0 comes from this machine's local wheel; about 1.4 GB, a few minutes). None of it
goes into Shoal's own install. Debian packages for the references:
``apt-get install espeak-ng flite festival festvox-us-slt-hts festvox-kdlpc16k``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile  # type: ignore[import-untyped]
import soxr

from shoal.audio.dsp import to_float
from shoal.engines.base import SynthesisRequest
from shoal.engines.piper import PiperEngine
from shoal.engines.whisper import resolve_model
from shoal.voices import embedding
from shoal.voices.adapt import VoiceAdapter
from shoal.voices.analysis import CALIBRATION_TEXT, analyse, measure_base
from shoal.voices.profile import VoiceProfile

BENCH = Path(__file__).resolve().parent
JUDGE_VENV = BENCH / ".venv-voices"
JUDGE_PACKAGES = ["torch==2.13.0", "resemblyzer==0.1.4", "setuptools<81", "jiwer==4.0.0"]
MODELS_DIR = JUDGE_VENV / "models"
"""Where Whisper base is assembled from its packaged parts (once)."""

REFERENCE_TEXT = (
    "Please call Stella. Ask her to bring these things with her from the store: six spoons of "
    "fresh snow peas, five thick slabs of blue cheese, and maybe a snack for her brother Bob. "
    "We also need a small plastic snake and a big toy frog for the kids."
)
TEST_TEXT = (
    "The morning train was late again, so everyone waited on the cold platform. "
    "She opened the window and listened to the rain falling on the garden. "
    "Our team reviewed the proposal and decided to move forward next week. "
    "A small boat drifted slowly across the quiet lake at sunset. "
    "Please remember to lock the door and turn off the lights before leaving. "
    "The museum will host a special exhibition about ancient maps this summer. "
    "He bought fresh bread, a bottle of milk and some apples at the market. "
    "The engineers tested the bridge carefully before it opened to traffic."
)
"""About 100 words, so one misheard word moves the WER by about one point."""


@dataclass(frozen=True)
class Reference:
    name: str
    description: str
    female: bool
    command: list[str]
    """Writes the reference to ``{out}`` reading ``{text}`` (a file with REFERENCE_TEXT)."""


REFERENCES = [
    Reference("flite-slt", "flite slt, US female (CMU ARCTIC)", True,
              ["flite", "-voice", "slt", "-f", "{text}", "-o", "{out}"]),
    Reference("festival-slt-hts", "Festival HTS slt, US female (same speaker, other synth)", True,
              ["text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)", "{text}", "-o", "{out}"]),
    Reference("espeak-f3", "espeak-ng en-us+f3, female formant synth", True,
              ["espeak-ng", "-v", "en-us+f3", "-f", "{text}", "-w", "{out}"]),
    Reference("espeak-f5", "espeak-ng en-us+f5, female formant synth", True,
              ["espeak-ng", "-v", "en-us+f5", "-f", "{text}", "-w", "{out}"]),
    Reference("flite-rms", "flite rms, US male (CMU ARCTIC)", False,
              ["flite", "-voice", "rms", "-f", "{text}", "-o", "{out}"]),
    Reference("flite-awb", "flite awb, Scottish male (CMU ARCTIC)", False,
              ["flite", "-voice", "awb", "-f", "{text}", "-o", "{out}"]),
    Reference("festival-ked", "Festival ked diphone, US male", False,
              ["text2wave", "-eval", "(voice_ked_diphone)", "{text}", "-o", "{out}"]),
    Reference("espeak-m3", "espeak-ng en-us+m3, male formant synth", False,
              ["espeak-ng", "-v", "en-us+m3", "-f", "{text}", "-w", "{out}"]),
]  # fmt: skip


# ---- the judge (its own venv) -------------------------------------------------------------------


def judge_python() -> Path:
    """The judge venv's interpreter, created and installed on first use."""
    python = JUDGE_VENV / "bin" / "python"
    check = [str(python), "-c", "import resemblyzer, jiwer, torch"]
    if not (python.exists() and subprocess.run(check, capture_output=True).returncode == 0):
        print(f"installing the judge ({', '.join(JUDGE_PACKAGES)}) into {JUDGE_VENV} (once) …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(JUDGE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *JUDGE_PACKAGES], check=True)
    return python


class Judge:
    """``bench/_voice_judge.py`` in the judge venv, spoken to one JSON line at a time."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [str(judge_python()), str(BENCH / "_voice_judge.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._read()

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the judge process exited")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        return self._read()

    def embed(self, paths: list[Path]) -> list[np.ndarray]:
        return [np.asarray(v) for v in self._ask({"embed": [str(p) for p in paths]})["embeddings"]]

    def wer(self, pairs: list[tuple[str, str]]) -> list[float]:
        return [float(v) for v in self._ask({"wer": [list(pair) for pair in pairs]})["wer"]]

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)


# ---- audio --------------------------------------------------------------------------------------


def make_references(workdir: Path, only: list[str]) -> list[tuple[Reference, Path]]:
    text = workdir / "reference.txt"
    text.write_text(REFERENCE_TEXT + "\n")
    made: list[tuple[Reference, Path]] = []
    for reference in REFERENCES:
        if only and reference.name not in only:
            continue
        if shutil.which(reference.command[0]) is None:
            print(f"skipping {reference.name}: {reference.command[0]} is not installed")
            continue
        out = workdir / f"reference-{reference.name}.wav"
        args = [part.format(text=text, out=out) for part in reference.command]
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            print(f"skipping {reference.name}: {' '.join(args)} failed: {done.stderr.strip()[-300:]}")
            continue
        made.append((reference, out))
    return made


def speak(engine: PiperEngine, text: str, speed: float = 1.0) -> list[np.ndarray]:
    """Piper's output, one float32 array per sentence."""
    request = SynthesisRequest(text, "en", speed=speed)
    return [to_float(pcm) for pcm in engine.synthesize_blocking(request)]


@contextmanager
def timed() -> Iterator[list[float]]:
    cell = [0.0]
    start = time.perf_counter()
    yield cell
    cell[0] = time.perf_counter() - start


def transcriber() -> Any:
    from faster_whisper import WhisperModel

    path = resolve_model("packaged:base", models_dir=MODELS_DIR)
    return WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(model: Any, samples: np.ndarray, rate: int) -> str:
    audio = soxr.resample(samples, rate, 16000).astype(np.float32)
    segments, _ = model.transcribe(
        audio, language="en", beam_size=1, vad_filter=True, condition_on_previous_text=False
    )
    return " ".join(segment.text.strip() for segment in segments)


# ---- the run ------------------------------------------------------------------------------------


@dataclass
class Row:
    reference: Reference
    profile: VoiceProfile
    similarity_base: float
    similarity_matched: float
    similarity_round_trip: float
    """The control: the base voice through the vocoder with nothing changed."""
    dvector_base: float
    dvector_matched: float
    wer_base: float
    wer_matched: float
    analysis_seconds: float

    @property
    def gain(self) -> float:
        return self.similarity_matched - self.similarity_base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--save", type=Path, help="keep the reference, base and matched clips here")
    parser.add_argument("--only", nargs="*", default=[], help="reference names to run")
    parser.add_argument("--verbose", action="store_true", help="print what Whisper heard")
    parser.add_argument(
        "--repeats", type=int, default=2, help="takes of the test text per reference (Piper varies)"
    )
    args = parser.parse_args()

    judge = Judge()
    engine = PiperEngine()
    engine.load()
    rate = engine.sample_rate
    whisper = transcriber()
    calibration = np.concatenate(speak(engine, CALIBRATION_TEXT))
    base = measure_base("joe", calibration, rate)
    print(
        f"base voice joe: F0 {base.f0_median_hz:.0f} Hz, spread {base.f0_spread_semitones:.1f} st, "
        f"{base.words_per_second:.2f} words/s"
    )

    with tempfile.TemporaryDirectory(prefix="shoal-voices-") as tmp:
        workdir = args.save or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        references = make_references(workdir, args.only)
        if len(references) < 2:
            raise SystemExit(
                "fewer than two reference speakers could be made; "
                "apt-get install espeak-ng flite festival festvox-us-slt-hts festvox-kdlpc16k"
            )
        adapt_seconds = audio_seconds = 0.0
        rows: list[Row] = []
        for reference, path in references:
            samples, reference_rate = soundfile.read(path, dtype="float32", always_2d=True)
            samples = samples.mean(axis=1)
            with timed() as analysis_time:
                profile = analyse(samples, reference_rate, base, transcript=REFERENCE_TEXT)
            adapter = VoiceAdapter(profile, base, rate)
            # The control: the vocoder round trip alone, nothing changed (forced past the shortcut).
            round_trip = VoiceAdapter(
                VoiceProfile("joe", base.f0_median_hz, base.f0_spread_semitones), base, rate
            )
            round_trip.identity = False
            own = embedding.embed(samples, reference_rate)
            cells: list[list[float]] = []
            for repeat in range(args.repeats):
                # Piper samples its durations and noise: a fresh base and matched take each time.
                plain_sentences = speak(engine, TEST_TEXT)
                plain = np.concatenate(plain_sentences)
                control = np.concatenate([round_trip.process(sentence) for sentence in plain_sentences])
                pieces = []
                for sentence in speak(engine, TEST_TEXT, speed=profile.tempo):
                    with timed() as spent:
                        pieces.append(adapter.process(sentence))
                    adapt_seconds += spent[0]
                    audio_seconds += len(sentence) / rate
                matched = np.concatenate(pieces)
                clips = {"base": plain, "matched": matched, "round-trip": control}
                for kind, clip in clips.items():
                    soundfile.write(workdir / f"{kind}-{reference.name}-{repeat}.wav", clip, rate)
                ref_vec, base_vec, matched_vec, control_vec = judge.embed(
                    [path, *(workdir / f"{kind}-{reference.name}-{repeat}.wav" for kind in clips)]
                )
                heard = {kind: transcribe(whisper, clips[kind], rate) for kind in ("base", "matched")}
                if args.verbose:
                    for kind, text in heard.items():
                        print(f"  {reference.name} {kind} heard: {text}")
                wer_base, wer_matched = judge.wer([(TEST_TEXT, heard["base"]), (TEST_TEXT, heard["matched"])])
                cells.append(
                    [
                        float(ref_vec @ base_vec), float(ref_vec @ matched_vec), float(ref_vec @ control_vec),
                        embedding.similarity(own, embedding.embed(plain, rate)),
                        embedding.similarity(own, embedding.embed(matched, rate)),
                        wer_base, wer_matched,
                    ]
                )  # fmt: skip
            base_sim, matched_sim, control_sim, base_dvec, matched_dvec, base_wer, matched_wer = (
                float(value) for value in np.mean(cells, axis=0)
            )
            rows.append(
                Row(
                    reference, profile, base_sim, matched_sim, control_sim, base_dvec, matched_dvec,
                    base_wer, matched_wer, analysis_time[0],
                )
            )  # fmt: skip
            print_row(rows[-1])
        judge.close()

    print()
    print_table(rows)
    print()
    rtf = adapt_seconds / audio_seconds
    analysis = statistics.median(row.analysis_seconds for row in rows)
    print(f"adapter RTF {rtf:.3f} (DIO+StoneMask, CheapTrick, D4C, synthesis, STFT reshaping; one core)")
    print(f"analysis {analysis:.1f} s per reference (median; about 10 s clips, warp search included)")
    gain = statistics.mean(row.gain for row in rows)
    wer_rise = statistics.mean(row.wer_matched - row.wer_base for row in rows)
    verdict = "met" if gain >= 0.15 and wer_rise <= 0.02 else "NOT met"
    print(
        f"target (gain >= 0.15, WER rise <= 2 points): {verdict} — "
        f"gain {gain:+.3f}, WER {wer_rise * 100:+.1f} points"
    )


HEADER = (
    f"{'reference':18} {'F0 Hz':>5} {'formant':>7} {'tilt':>5} {'tempo':>5} | "
    f"{'base':>5} {'matched':>7} {'gain':>6} {'round trip':>10} | {'base':>5} {'matched':>7} | "
    f"{'base':>5} {'matched':>7}"
)
GROUPS = (
    f"{'':18} {'':5} {'':7} {'':5} {'':5} | {'similarity (Resemblyzer)':^33} | {'d-vector':^13} | {'WER':^13}"
)


def _measures(rows: list[Row]) -> str:
    def mean(name: str) -> float:
        return statistics.mean(float(getattr(row, name)) for row in rows)

    return (
        f"{mean('similarity_base'):5.3f} {mean('similarity_matched'):7.3f} {mean('gain'):+6.3f} "
        f"{mean('similarity_round_trip'):10.3f} | "
        f"{mean('dvector_base'):5.3f} {mean('dvector_matched'):7.3f} | "
        f"{mean('wer_base'):5.3f} {mean('wer_matched'):7.3f}"
    )


def print_row(row: Row) -> None:
    p = row.profile
    print(
        f"{row.reference.name:18} {p.f0_median_hz:5.0f} {p.formant_scale:7.3f} {p.tilt_db_per_octave:+5.1f} "
        f"{p.tempo:5.2f} | {_measures([row])}",
        flush=True,
    )


def print_table(rows: list[Row]) -> None:
    print(GROUPS)
    print(HEADER)
    for row in rows:
        print_row(row)
    groups = [("mean, female refs", [r for r in rows if r.reference.female]),
              ("mean, male refs", [r for r in rows if not r.reference.female]),
              ("mean, all", rows)]  # fmt: skip
    for label, group in groups:
        if group:
            print(f"{label:18} {'':5} {'':7} {'':5} {'':5} | {_measures(group)}")


if __name__ == "__main__":
    main()
