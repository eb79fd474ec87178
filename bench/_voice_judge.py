"""The judge for ``bench/voices.py``: Resemblyzer speaker embeddings and jiwer word error rates.

Runs in the bench's own venv (``bench/.venv-voices``: torch 2.13.0 CPU from local disk,
resemblyzer, jiwer), never in Shoal's, so the adaptation cannot use the embedder that grades it.
A line protocol on stdin/stdout, one JSON object per line:

    {"embed": ["a.wav", ...]}                 -> {"embeddings": [[256 floats], ...]}
    {"wer": [["reference", "hypothesis"], ...]} -> {"wer": [0.0, ...]}
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import jiwer  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402
from resemblyzer import VoiceEncoder, preprocess_wav  # noqa: E402

_NORMALISE = jiwer.Compose(
    [
        jiwer.ToLowerCase(),
        jiwer.RemovePunctuation(),
        jiwer.RemoveMultipleSpaces(),
        jiwer.Strip(),
        jiwer.ReduceToListOfListOfWords(),
    ]
)


def main() -> None:
    encoder = VoiceEncoder("cpu", verbose=False)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if "embed" in request:
            vectors = []
            for path in request["embed"]:
                samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
                wav = preprocess_wav(samples.mean(axis=1), source_sr=rate)
                vectors.append(np.asarray(encoder.embed_utterance(wav), dtype=float).tolist())
            print(json.dumps({"embeddings": vectors}), flush=True)
        elif "wer" in request:
            rates = [
                float(
                    jiwer.wer(
                        reference,
                        hypothesis,
                        reference_transform=_NORMALISE,
                        hypothesis_transform=_NORMALISE,
                    )
                )
                for reference, hypothesis in request["wer"]
            ]
            print(json.dumps({"wer": rates}), flush=True)
        else:
            print(json.dumps({"error": f"unknown request {sorted(request)}"}), flush=True)


if __name__ == "__main__":
    main()
