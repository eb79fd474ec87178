"""The voice library through both official Fish SDK flavours against ``shoal serve``.

``fishaudio`` (``client.voices.*``, sync and async) and the legacy ``fish_audio_sdk.Session``
(``*_model``) create, read, list, update and delete voice models with their own request
encodings and parse every answer with their own response models. Three accounts: an owner,
another customer who must not see (or change) the owner's private voice, and a third who
finds only the public one. Clips are the server's own speech (Piper, ``/v1/tts`` as WAV).
"""

from __future__ import annotations

import asyncio
import struct
import uuid
import zlib
from typing import Any

import httpx
import numpy as np
import pytest
from fish_audio_sdk import HttpCodeErr, Session
from fishaudio import AsyncFishAudio, FishAudio
from fishaudio.exceptions import APIError, NotFoundError

from tests.asr_helpers import pcm_wav, synthesize_sync, wer
from tests.conftest import RunningServer, run_cli

pytestmark = pytest.mark.e2e

FIRST = "Good morning, this is the first reference clip for my new voice."
SECOND = "And this second clip was recorded a little later the same day."


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x10\x20\x30"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def admin_secret(server: RunningServer) -> str:
    created = run_cli(
        "keys", "create", "--name", unique("voices-admin"), "--tier", "admin", data_dir=server.data_dir
    )
    return created.stdout.strip().splitlines()[-1]


def new_account(server: RunningServer, admin_secret: str) -> dict[str, Any]:
    """A key on an account of its own (a prepaid account: the voice library costs nothing)."""
    response = httpx.post(
        f"{server.base_url}/v1/admin/keys",
        json={"name": unique("voices"), "credits": "1"},
        headers={"Authorization": f"Bearer {admin_secret}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def clips(server: RunningServer) -> tuple[bytes, bytes]:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as http:
        return synthesize_sync(http, FIRST).wav, synthesize_sync(http, SECOND).wav


def test_new_sdk_creates_reads_lists_updates_and_deletes_with_privacy(
    server: RunningServer, admin_secret: str, clips: tuple[bytes, bytes]
) -> None:
    owner, other, third = (new_account(server, admin_secret) for _ in range(3))
    tag = unique("tag")
    with (
        FishAudio(api_key=owner["secret"], base_url=server.base_url) as mine,
        FishAudio(api_key=other["secret"], base_url=server.base_url) as theirs,
        FishAudio(api_key=third["secret"], base_url=server.base_url) as outsider,
    ):
        private = mine.voices.create(
            title="My private voice", voices=list(clips), texts=[FIRST, SECOND], tags=[tag, "calm"],
            description="two clips",
        )  # fmt: skip
        assert (private.visibility, private.train_mode, private.type) == ("private", "fast", "tts")
        assert private.state == "trained"  # analysed at creation
        assert private.author.id == owner["account_id"]
        assert [sample.text for sample in private.samples] == [FIRST, SECOND]
        assert private.tags == [tag, "calm"] and private.description == "two clips"

        transcribed = mine.voices.create(title="Transcribed", voices=[clips[0]], tags=[tag])
        assert wer(FIRST, transcribed.samples[0].text) <= 0.2
        assert transcribed.languages == ["en"]

        assert mine.voices.get(private.id).title == "My private voice"
        own = mine.voices.list(self_only=True, tags=tag)
        assert {voice.id for voice in own.items} == {private.id, transcribed.id} and own.total == 2
        assert mine.voices.list(self_only=True, tags=[tag, "calm"]).total == 1

        # Another account: the private voice does not exist for it, to read, change or delete.
        for call in (
            lambda: theirs.voices.get(private.id),
            lambda: theirs.voices.update(private.id, title="stolen"),
            lambda: theirs.voices.delete(private.id),
        ):
            with pytest.raises(NotFoundError):
                call()
        assert theirs.voices.list(self_only=True).total == 0
        assert private.id not in {voice.id for voice in theirs.voices.list(page_size=100).items}

        # Update: urlencoded without a cover, multipart with one (both as the SDK sends them).
        mine.voices.update(private.id, title="Renamed", tags=["renamed"], visibility="unlist")
        renamed = mine.voices.get(private.id)
        assert (renamed.title, renamed.tags, renamed.visibility) == ("Renamed", ["renamed"], "unlist")
        assert theirs.voices.get(private.id).title == "Renamed"  # unlisted: anyone with the id
        assert private.id not in {voice.id for voice in theirs.voices.list(page_size=100).items}

        mine.voices.update(private.id, cover_image=png(), visibility="public")
        public = outsider.voices.get(private.id)
        assert public.visibility == "public" and public.cover_image.startswith(server.base_url)
        assert httpx.get(public.cover_image, timeout=30).content == png()
        assert public.samples == []  # the owner's recordings stay the owner's
        by_author = outsider.voices.list(author_id=owner["account_id"])
        assert [voice.id for voice in by_author.items] == [private.id]

        mine.voices.delete(private.id)
        with pytest.raises(NotFoundError):
            mine.voices.get(private.id)
        mine.voices.delete(transcribed.id)
        assert mine.voices.list(self_only=True).total == 0


def test_async_new_sdk_lists_and_gets(
    server: RunningServer, admin_secret: str, clips: tuple[bytes, bytes]
) -> None:
    owner = new_account(server, admin_secret)

    async def run() -> None:
        async with AsyncFishAudio(api_key=owner["secret"], base_url=server.base_url) as client:
            created = await client.voices.create(title="async", voices=[clips[1]], texts=[SECOND])
            page = await client.voices.list(self_only=True, sort_by="created_at")
            assert [voice.id for voice in page.items] == [created.id]
            assert (await client.voices.get(created.id)).samples[0].text == SECOND
            await client.voices.update(created.id, description="changed")
            assert (await client.voices.get(created.id)).description == "changed"
            await client.voices.delete(created.id)

    asyncio.run(run())


def test_legacy_sdk_creates_reads_lists_updates_and_deletes_with_privacy(
    server: RunningServer, admin_secret: str, clips: tuple[bytes, bytes]
) -> None:
    owner, other = new_account(server, admin_secret), new_account(server, admin_secret)
    tag = unique("legacy")
    with (
        Session(owner["secret"], base_url=server.base_url) as mine,
        Session(other["secret"], base_url=server.base_url) as theirs,
    ):
        model = mine.create_model(title="Legacy voice", voices=list(clips), texts=[FIRST, SECOND], tags=[tag])
        assert (model.visibility, model.state, model.train_mode) == ("private", "trained", "fast")
        assert mine.get_model(model.id).title == "Legacy voice"
        page = mine.list_models(self_only=True, tag=tag)
        assert [item.id for item in page.items] == [model.id] and page.total == 1

        for call in (
            lambda: theirs.get_model(model.id),
            lambda: theirs.update_model(model.id, title="stolen"),
            lambda: theirs.delete_model(model.id),
        ):
            with pytest.raises(HttpCodeErr) as refused:
                call()
            assert refused.value.status == 404 and "not found" in refused.value.message

        mine.update_model(model.id, title="Legacy renamed", tags=["x", "y"])  # urlencoded
        mine.update_model(model.id, cover_image=png(), visibility="public")  # multipart
        seen = theirs.get_model(model.id)
        assert (seen.title, seen.tags, seen.visibility) == ("Legacy renamed", ["x", "y"], "public")
        assert model.id in {item.id for item in theirs.list_models(page_size=100, tag=["x", "y"]).items}

        mine.delete_model(model.id)
        with pytest.raises(HttpCodeErr) as gone:
            mine.get_model(model.id)
        assert gone.value.status == 404


def test_both_sdks_report_why_an_upload_was_refused(
    server: RunningServer, admin_secret: str, clips: tuple[bytes, bytes]
) -> None:
    owner = new_account(server, admin_secret)
    rate = 16000
    short = pcm_wav(0.3 * np.sin(np.arange(rate // 2) / 5), rate)
    cases = [
        (b"%PDF-1.4 definitely not audio" * 50, "not decodable audio"),
        (short, "each clip needs at least 1 s"),
    ]
    with (
        FishAudio(api_key=owner["secret"], base_url=server.base_url) as client,
        Session(owner["secret"], base_url=server.base_url) as session,
    ):
        for clip, reason in cases:
            with pytest.raises(APIError) as new:
                client.voices.create(title="bad", voices=[clip])
            assert new.value.status == 422 and reason in new.value.message
            with pytest.raises(HttpCodeErr) as legacy:
                session.create_model(title="bad", voices=[clip])
            assert legacy.value.status == 422 and reason in legacy.value.message
        with pytest.raises(APIError) as public:
            client.voices.create(title="public", voices=[clips[0]], texts=[FIRST], visibility="public")
        assert public.value.status == 422 and "cover_image is required" in public.value.message
        assert client.voices.list(self_only=True).total == 0
