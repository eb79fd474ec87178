"""The command-line contract: keys with or without a server, and local synthesis."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from shoal.settings import load_settings
from tests.audio_checks import assert_speech, decode
from tests.conftest import RunningServer, launch, run_cli, stop

pytestmark = pytest.mark.e2e


def test_keys_create_list_revoke_without_a_server(tmp_path: Path) -> None:
    created = run_cli("keys", "create", "--name", "alice", data_dir=tmp_path)
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("sk-shoal-") and len(secret) >= 40
    listing = run_cli("keys", "list", data_dir=tmp_path).stdout
    assert "alice" in listing and secret[:15] in listing
    assert secret not in listing and secret not in (tmp_path / "shoal.db").read_bytes().decode("latin-1")
    key_id = next(line.split()[1] for line in listing.splitlines() if "alice" in line)
    run_cli("keys", "revoke", key_id, data_dir=tmp_path)
    assert "revoked" in run_cli("keys", "list", data_dir=tmp_path).stdout
    missing = run_cli("keys", "revoke", "does-not-exist", data_dir=tmp_path, check=False)
    assert missing.returncode == 1 and "no single active key" in missing.stderr


def test_keys_work_while_the_server_runs(server: RunningServer) -> None:
    secret = (
        run_cli("keys", "create", "--name", "live", data_dir=server.data_dir).stdout.strip().splitlines()[-1]
    )
    headers = {"Authorization": f"Bearer {secret}"}
    body = {"text": "Key made while serving.", "format": "pcm"}
    assert httpx.post(f"{server.base_url}/v1/tts", json=body, headers=headers, timeout=60).status_code == 200
    listing = run_cli("keys", "list", data_dir=server.data_dir).stdout
    key_id = next(line.split()[1] for line in listing.splitlines() if " live " in line)
    run_cli("keys", "revoke", key_id, data_dir=server.data_dir)
    # The server reuses a verified key for key_cache_seconds (its cache entry was made before the revoke),
    # so a request sent once that has passed must be refused; earlier ones may still be served.
    cached_for = load_settings(data_dir=server.data_dir).server.key_cache_seconds
    deadline = time.monotonic() + cached_for
    while True:
        after_expiry = time.monotonic() > deadline
        status = httpx.post(f"{server.base_url}/v1/tts", json=body, headers=headers, timeout=60).status_code
        if status == 401 or after_expiry:
            break
        assert status == 200
        time.sleep(0.25)
    assert status == 401


def test_first_start_prints_one_usable_key(tmp_path: Path) -> None:
    base_url, process, log = launch(tmp_path)
    try:
        printed = [
            line.strip() for line in log.read_text().splitlines() if line.strip().startswith("sk-shoal-")
        ]
        assert len(printed) == 1
        response = httpx.post(
            f"{base_url}/v1/tts",
            json={"text": "First key works.", "format": "pcm"},
            headers={"Authorization": f"Bearer {printed[0]}"},
            timeout=60,
        )
        assert response.status_code == 200
    finally:
        # uvicorn re-raises the SIGTERM it handled after a clean shutdown, hence -15.
        assert stop(process) in (0, -15)
    assert "Finished server process" in log.read_text() and "Traceback" not in log.read_text()
    _, again, second_log = launch(tmp_path)
    stop(again)
    assert "sk-shoal-" not in second_log.read_text()


def test_say_text_argument_and_format_from_extension(tmp_path: Path) -> None:
    out = tmp_path / "hello.wav"
    run_cli("say", "Hello from the command line.", "-o", str(out), data_dir=tmp_path)
    decoded = decode(out.read_bytes())
    assert decoded.codec == "pcm_s16le"
    assert_speech(decoded, min_seconds=1.0, max_seconds=5)


def test_say_from_stdin_and_file(tmp_path: Path) -> None:
    out = tmp_path / "stdin.mp3"
    run_cli("say", "-o", str(out), data_dir=tmp_path, stdin="Text piped on standard input.")
    assert_speech(decode(out.read_bytes()), min_seconds=1.0, max_seconds=5)
    source = tmp_path / "text.txt"
    source.write_text("Text read from a file.", encoding="utf-8")
    opus = tmp_path / "file.ogg"
    run_cli("say", "--input", str(source), "-o", str(opus), "--format", "opus", data_dir=tmp_path)
    assert decode(opus.read_bytes()).codec == "opus"


def test_say_rejects_bad_input(tmp_path: Path) -> None:
    bad_format = run_cli("say", "hi", "-o", str(tmp_path / "x.wma"), data_dir=tmp_path, check=False)
    assert bad_format.returncode == 2 and "unknown format" in bad_format.stderr
    bad_voice = run_cli(
        "say", "hi", "-o", str(tmp_path / "x.mp3"), "--voice", "nobody", data_dir=tmp_path, check=False
    )
    assert bad_voice.returncode == 1 and "nobody" in bad_voice.stderr
