"""As a new user would: submit long text with a ``callback_url`` to a real server, get a task id at
once, and receive a signed callback (checked with ``standardwebhooks``) whose audio URL plays."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from tests.audio_checks import assert_speech, decode
from tests.conftest import launch, run_cli, stop
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

LONG_TEXT = " ".join(
    [
        "Long texts take a while to speak, so this one is queued.",
        "The server answers with a task id at once and calls back when the audio is ready.",
        "The callback is signed, so the receiver knows it came from Shoal.",
    ]
)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def test_a_callback_arrives_signed_with_a_playable_audio_url(tmp_path: Path, receiver: Receiver) -> None:
    key = run_cli("keys", "create", "--name", "hooks", data_dir=tmp_path).stdout.strip().splitlines()[-1]
    env = {"SHOAL_TASKS__CALLBACK_ALLOW_NETWORKS": json.dumps(["127.0.0.0/8"])}
    base_url, process, log = launch(tmp_path, env=env)
    auth = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(base_url=base_url, headers=auth, timeout=30) as http:
            secret = http.get("/v1/webhooks/secret").json()["secret"]
            path = receiver.path("flow")
            started = time.monotonic()
            submitted = http.post(
                "/v1/tts", json={"text": LONG_TEXT, "format": "mp3", "callback_url": receiver.url(path)}
            )
            assert submitted.status_code == 200, submitted.text
            assert time.monotonic() - started < 2.0  # answered before the speech is made
            task_id = submitted.json()["task_id"]

            [callback] = receiver.wait(path, timeout=30)
            assert callback.headers["webhook-id"] == f"msg_{task_id}"
            payload = Webhook(secret).verify(callback.body, callback.headers)
            assert payload["type"] == "task.succeeded", payload
            assert (payload["task_id"], payload["status"], payload["format"]) == (task_id, "succeeded", "mp3")
            assert len(callback.body) < 20_000  # a URL, not the audio

            audio = httpx.get(payload["audio_url"], timeout=30)  # signed: no key needed
            assert audio.status_code == 200
            decoded = decode(audio.content)
            assert decoded.codec.startswith("mp3")
            assert_speech(decoded, min_seconds=5, max_seconds=40)

            # An internal callback address is refused at submission, in the surface's error format.
            refused = http.post(
                "/v1/run",
                json={"model": "tts-1", "inputs": {"text": "x"}, "callback_url": "http://169.254.169.254/x"},
            )
            assert refused.status_code == 400
            error = refused.json()["error"]
            assert (error["param"], error["code"]) == ("callback_url", "invalid_callback_url")
            assert "metadata" in error["message"]
    except AssertionError:
        print(log.read_text()[-4000:])
        raise
    finally:
        stop(process)
