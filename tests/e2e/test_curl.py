"""The seed document's curl examples, with only the host and key changed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.audio_checks import assert_speech, decode
from tests.conftest import RunningServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]

SINGLE_SPEAKER = """curl --request POST https://api.fish.audio/v1/tts \\
  --header "Authorization: Bearer $FISH_API_KEY" \\
  --header "Content-Type: application/json" \\
  --header "model: s2-pro" \\
  --data '{
    "text": "Hello! Welcome to Fish Audio.",
    "reference_id": "<voice-model-id>",
    "format": "mp3",
    "mp3_bitrate": 128,
    "latency": "normal"
  }' \\
  --output out.mp3"""

MULTI_SPEAKER = """curl --request POST https://api.fish.audio/v1/tts \\
  --header "Authorization: Bearer $FISH_API_KEY" \\
  --header "Content-Type: application/json" \\
  --header "model: s2-pro" \\
  --data '{
    "text": "<|speaker:0|>Good morning!<|speaker:1|>Good morning! How are you?",
    "reference_id": ["<speaker-0-id>", "<speaker-1-id>"],
    "format": "mp3"
  }' \\
  --output dialogue.mp3"""


def run_example(example: str, server: RunningServer, cwd: Path, voices: dict[str, str]) -> None:
    """Point the example at Shoal and fill in the voice placeholders, as a user would."""
    script = example.replace("https://api.fish.audio", server.base_url)
    for placeholder, voice in voices.items():
        script = script.replace(placeholder, voice)
    result = subprocess.run(
        ["bash", "-c", f"set -e; {script} --fail-with-body --silent --show-error"],
        cwd=cwd, env={"FISH_API_KEY": server.api_key, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout


def test_single_speaker_example(server: RunningServer, tmp_path: Path) -> None:
    run_example(SINGLE_SPEAKER, server, tmp_path, {"<voice-model-id>": "joe"})
    assert_speech(decode((tmp_path / "out.mp3").read_bytes()), min_seconds=1.0, max_seconds=5)


def test_multi_speaker_example(server: RunningServer, tmp_path: Path) -> None:
    run_example(MULTI_SPEAKER, server, tmp_path, {"<speaker-0-id>": "joe", "<speaker-1-id>": "espeak-en"})
    assert_speech(decode((tmp_path / "dialogue.mp3").read_bytes()), min_seconds=1.5, max_seconds=6)


def test_readme_example(server: RunningServer, tmp_path: Path) -> None:
    """The README's own curl example, run as printed there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("<!-- readme-curl -->", 2)[1].split("```bash", 1)[1].split("```", 1)[0]
    script = block.replace("http://127.0.0.1:8080", server.base_url).strip()
    result = subprocess.run(
        ["bash", "-c", f"set -e; {script}"],
        cwd=tmp_path, env={"SHOAL_API_KEY": server.api_key, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_speech(decode((tmp_path / "hello.mp3").read_bytes()), min_seconds=1.0, max_seconds=8)
