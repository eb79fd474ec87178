"""The Fish voice library (``/model``) through the app in-process, with several accounts.

Clips are real speech: Shoal's own TTS (Piper) as WAV. Every model that comes back is parsed
by both SDK flavours' own response models (``fishaudio.types.Voice`` and
``fish_audio_sdk.schemas.ModelEntity``), so a field either SDK needs cannot go missing.
"""

from __future__ import annotations

import base64
import re
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgpack
import numpy as np
import pytest
import pytest_asyncio
from fastapi import FastAPI
from fish_audio_sdk.schemas import ModelEntity
from fishaudio.types import Voice
from sqlalchemy import select

from shoal.auth.keys import KeySpec, create_key
from shoal.billing.accounts import create_account
from shoal.services import Services
from shoal.storage.db.tables import voice_model_labels
from shoal.voices.models import KEEP_SECONDS, count_use, find_voice, get_voice_model
from tests.asr_helpers import Speech, pcm_wav, synthesize, wer

pytestmark = pytest.mark.asyncio

BASE_URL = "http://shoal.test"
FIRST = "The quick brown fox jumps over the lazy dog beside the old stone wall."
SECOND = "She opened the window and listened to the birds singing outside."
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def png() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@dataclass
class Caller:
    account_id: str
    name: str
    http: httpx.AsyncClient


@asynccontextmanager
async def calling(app: FastAPI, services: Services) -> AsyncIterator[Caller]:
    """A key on a new account of its own."""
    account = await create_account(services.db, name=unique("voices"), prepaid=False)
    _, secret = await create_key(services.db, KeySpec(name=unique("voices"), account_id=account.id))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as http:
        yield Caller(account.id, account.name, http)


@pytest_asyncio.fixture
async def alice(app: FastAPI, services: Services) -> AsyncIterator[Caller]:
    async with calling(app, services) as caller:
        yield caller


@pytest_asyncio.fixture
async def bob(app: FastAPI, services: Services) -> AsyncIterator[Caller]:
    async with calling(app, services) as caller:
        yield caller


@pytest_asyncio.fixture(scope="module")
async def speech(app: FastAPI, api_key: str) -> tuple[Speech, Speech]:
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as http:
        return await synthesize(http, FIRST), await synthesize(http, SECOND)


def parsed(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` after both SDKs accepted it as a voice model."""
    voice = Voice.model_validate(body)
    legacy = ModelEntity.model_validate(body)
    assert voice.id == legacy.id == body["_id"]
    assert HEX32.fullmatch(body["_id"]), body["_id"]
    return body


def files(*voices: bytes, cover: bytes | None = None) -> list[tuple[str, tuple[str, bytes, str]]]:
    """File parts as both SDKs send them: named ``upload``, ``application/octet-stream``."""
    parts = [("voices", ("upload", voice, "application/octet-stream")) for voice in voices]
    if cover is not None:
        parts.append(("cover_image", ("upload", cover, "application/octet-stream")))
    return parts


async def create(caller: Caller, *voices: bytes, cover: bytes | None = None, **fields: Any) -> dict[str, Any]:
    data = {"title": unique("voice"), "type": "tts", "train_mode": "fast", "visibility": "private", **fields}
    response = await caller.http.post("/model", data=data, files=files(*voices, cover=cover))
    assert response.status_code == 201, response.text
    return parsed(response.json())


def fish_error(response: httpx.Response, status: int) -> str:
    """Exactly ``{"status", "message"}`` (the legacy SDK builds its exception from those two keys)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "message"}, body
    assert body["status"] == status
    return str(body["message"])


def kui_error(response: httpx.Response) -> list[list[Any]]:
    """Kui's 422 array; returns each item's ``loc``."""
    assert response.status_code == 422, response.text
    items = response.json()
    assert isinstance(items, list) and items
    for item in items:
        assert {"loc", "type", "msg", "in"} <= set(item)
    return [item["loc"] for item in items]


async def listed(caller: Caller, **params: Any) -> dict[str, Any]:
    response = await caller.http.get("/model", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"total", "items"}
    for item in body["items"]:
        parsed(item)
    return dict(body)


def ids(page: dict[str, Any]) -> list[str]:
    return [item["_id"] for item in page["items"]]


# -- creating -------------------------------------------------------------------------------------


async def test_create_returns_the_full_entity_with_clips_texts_and_owner(
    alice: Caller, speech: tuple[Speech, Speech]
) -> None:
    first, second = speech
    data = {
        "title": "  Two sentences  ",
        "description": "Piper reading two lines",
        "visibility": "private",
        "type": "tts",
        "train_mode": "fast",
        "texts": [first.text, second.text],
        "tags": ["calm", "english", "calm", " "],
        "enhance_audio_quality": "true",
    }
    response = await alice.http.post("/model", data=data, files=files(first.wav, second.wav))
    assert response.status_code == 201, response.text
    body = parsed(response.json())
    assert (body["title"], body["description"], body["visibility"]) == (
        "Two sentences", "Piper reading two lines", "private",
    )  # fmt: skip
    assert (body["type"], body["train_mode"], body["lock_visibility"]) == ("tts", "fast", False)
    # The clips were analysed at creation: the voice is ready to speak with.
    assert body["state"] == "trained"
    assert body["tags"] == ["calm", "english"]
    assert body["author"] == {"_id": alice.account_id, "nickname": alice.name, "avatar": ""}
    assert body["cover_image"] == ""
    counts = ("like_count", "mark_count", "shared_count", "task_count", "liked", "marked")
    assert [body[key] for key in counts] == [0, 0, 0, 0, False, False]
    created = datetime.fromisoformat(body["created_at"])
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=1)
    assert body["updated_at"] == body["created_at"]
    # The owner sees the clips as samples, with the transcripts given, behind working links.
    assert [sample["text"] for sample in body["samples"]] == [first.text, second.text]
    for sample, clip in zip(body["samples"], (first, second), strict=True):
        downloaded = await alice.http.get(sample["audio"], headers={"Authorization": ""})
        assert downloaded.status_code == 200
        assert downloaded.content == clip.wav


async def test_clips_without_texts_are_transcribed_and_give_the_language(
    alice: Caller, speech: tuple[Speech, Speech]
) -> None:
    first, second = speech
    body = await create(alice, first.wav, second.wav, texts=[first.text])  # the second has none
    texts = [sample["text"] for sample in body["samples"]]
    assert texts[0] == first.text
    assert wer(second.text, texts[1]) <= 0.2, texts[1]
    assert body["languages"] == ["en"]

    every = await create(alice, first.wav)
    assert wer(first.text, every["samples"][0]["text"]) <= 0.2


async def test_json_and_msgpack_bodies_create_models_too(
    alice: Caller, speech: tuple[Speech, Speech]
) -> None:
    first, _ = speech
    as_json = {
        "title": "json", "voices": base64.b64encode(first.wav).decode(), "texts": first.text,
        "visibility": "unlist", "tags": "single", "description": None,
    }  # fmt: skip
    response = await alice.http.post("/model", json=as_json)
    assert response.status_code == 201, response.text
    body = parsed(response.json())
    assert (body["visibility"], body["tags"], body["description"]) == ("unlist", ["single"], "")

    as_msgpack = {
        "title": "msgpack", "voices": [first.wav], "texts": [first.text], "visibility": "public",
        "cover_image": png(), "tags": ["a", "b"], "type": "tts", "train_mode": "fast",
    }  # fmt: skip
    response = await alice.http.post(
        "/model", content=msgpack.packb(as_msgpack), headers={"Content-Type": "application/msgpack"}
    )
    assert response.status_code == 201, response.text
    assert parsed(response.json())["visibility"] == "public"


async def test_a_public_model_needs_a_cover_image_which_is_served_without_a_key(
    app: FastAPI, alice: Caller, speech: tuple[Speech, Speech]
) -> None:
    first, _ = speech
    data = {"title": "public", "visibility": "public", "texts": first.text}
    message = fish_error(await alice.http.post("/model", data=data, files=files(first.wav)), 422)
    assert "cover_image is required when visibility is public" in message

    not_an_image = await alice.http.post("/model", data=data, files=files(first.wav, cover=b"GIF? no"))
    assert "not a PNG, JPEG, GIF or WebP image" in fish_error(not_an_image, 422)

    cover = png()
    body = await create(alice, first.wav, cover=cover, visibility="public", texts=first.text)
    assert body["cover_image"].startswith(f"{BASE_URL}/v1/files/")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as anonymous:
        image = await anonymous.get(body["cover_image"])
    assert image.status_code == 200
    assert (image.content, image.headers["content-type"]) == (cover, "image/png")


async def test_clips_and_cover_are_kept_until_the_model_is_deleted(
    alice: Caller, services: Services, speech: tuple[Speech, Speech]
) -> None:
    first, _ = speech
    body = await create(alice, first.wav, cover=png(), texts=first.text)
    model = await get_voice_model(services.db, body["_id"])
    assert model is not None and model.cover is not None
    keep_until = datetime.now(UTC) + timedelta(seconds=KEEP_SECONDS * 0.99)
    blobs = [clip.blob for clip in model.clips] + [model.cover]
    for blob in blobs:
        stored = await services.blobs.get(blob.id)
        assert stored is not None and stored.info.expires_at > keep_until
    assert (await alice.http.delete(f"/model/{body['_id']}")).status_code == 200
    for blob in blobs:
        assert await services.blobs.get(blob.id) is None
    assert (await alice.http.get(body["cover_image"])).status_code == 404


# -- bad uploads ----------------------------------------------------------------------------------


async def test_bad_clips_are_422_with_the_reason_and_nothing_is_stored(
    alice: Caller, speech: tuple[Speech, Speech]
) -> None:
    first, _ = speech
    rate = 8000
    tone = 0.2 * np.sin(2 * np.pi * 220 * np.arange(int(rate * 301)) / rate)
    half_second = tone[: rate // 2]
    cases = {
        b"this is a text file, not audio" * 20: "voices[0]: the upload is not decodable audio",
        png(): "voices[0]: the upload contains no audio stream",
        pcm_wav(half_second, rate): "voices[0]: the clip holds 0.50 s of audio; each clip needs at least 1 s",
        pcm_wav(tone, rate): "voices[0]: the audio is longer than the limit of 300 s",
        pcm_wav(np.zeros(rate * 2), rate): "voices[0]: the clip is silent",
    }  # fmt: skip
    for clip, reason in cases.items():
        response = await alice.http.post(
            "/model", data={"title": "bad", "visibility": "private"}, files=files(clip)
        )
        assert reason in fish_error(response, 422)
    # The second clip is the bad one: the reason names it.
    response = await alice.http.post(
        "/model", data={"title": "bad", "visibility": "private"}, files=files(first.wav, b"\x00" * 4000)
    )
    assert fish_error(response, 422).startswith("voices[1]: ")
    assert (await listed(alice, self="true"))["total"] == 0


async def test_missing_or_invalid_fields_are_kui_422_naming_the_field(
    alice: Caller, speech: tuple[Speech, Speech]
) -> None:
    first, _ = speech
    assert kui_error(
        await alice.http.post("/model", data={"visibility": "private"}, files=files(first.wav))
    ) == [["title"]]
    assert kui_error(await alice.http.post("/model", data={"title": "   "}, files=files(first.wav))) == [
        ["title"]
    ]
    # Without files the SDKs send an urlencoded body: no voices at all.
    assert kui_error(await alice.http.post("/model", data={"title": "no voices"})) == [["voices"]]
    assert kui_error(await alice.http.post("/model", json={"title": "empty", "voices": []})) == [["voices"]]
    too_many = files(*[first.wav] * 21)
    assert kui_error(await alice.http.post("/model", data={"title": "many"}, files=too_many)) == [["voices"]]
    for field, value in (("type", "svc"), ("train_mode", "full"), ("visibility", "secret")):
        response = await alice.http.post("/model", data={"title": "t", field: value}, files=files(first.wav))
        assert kui_error(response) == [[field]]
    response = await alice.http.post("/model", json={"title": "t", "voices": "not base64!"})
    assert kui_error(response) == [["voices", 0]]
    response = await alice.http.post(
        "/model",
        data={"title": "t", "visibility": "private", "texts": ["one", "two"]},
        files=files(first.wav),
    )
    assert "texts has 2 entries for 1 voices" in fish_error(response, 422)
    assert (await listed(alice, self="true"))["total"] == 0


async def test_uploads_are_bounded_with_or_without_a_content_length(
    alice: Caller, services: Services, speech: tuple[Speech, Speech], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = speech
    limit = len(first.wav) // 2
    monkeypatch.setattr(services.settings.server, "max_body_bytes", limit)
    declared = await alice.http.post("/model", data={"title": "big"}, files=files(first.wav))
    assert "the limit is" in fish_error(declared, 413)

    request = alice.http.build_request("POST", "/model", data={"title": "big"}, files=files(first.wav))
    body = request.read()

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16384):
            yield body[start : start + 16384]

    headers = {"Content-Type": request.headers["Content-Type"]}
    streamed = await alice.http.post("/model", content=chunked(), headers=headers)
    assert "content-length" not in streamed.request.headers
    assert "the limit is" in fish_error(streamed, 413)
    monkeypatch.undo()
    assert (await listed(alice, self="true"))["total"] == 0


async def test_a_request_without_a_key_is_401(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as anonymous:
        for response in (await anonymous.get("/model"), await anonymous.get(f"/model/{'0' * 32}")):
            fish_error(response, 401)


# -- who sees what --------------------------------------------------------------------------------


async def test_visibility_by_id_and_in_listings_across_accounts(
    app: FastAPI, services: Services, alice: Caller, bob: Caller, speech: tuple[Speech, Speech]
) -> None:
    first, _ = speech
    private = await create(alice, first.wav, texts=first.text, visibility="private")
    unlisted = await create(alice, first.wav, texts=first.text, visibility="unlist")
    public = await create(alice, first.wav, texts=first.text, visibility="public", cover=png())
    mine = {model["_id"] for model in (private, unlisted, public)}

    # By id: the owner sees all three; anyone else the unlisted and the public one, and a 404
    # for the private one, worded exactly like a model that does not exist.
    for model in (private, unlisted, public):
        assert (await alice.http.get(f"/model/{model['_id']}")).status_code == 200
    for model in (unlisted, public):
        seen = await bob.http.get(f"/model/{model['_id']}")
        assert seen.status_code == 200
        body = parsed(seen.json())
        assert body["samples"] == []  # reference recordings stay with their owner
        assert body["author"]["_id"] == alice.account_id
    hidden = fish_error(await bob.http.get(f"/model/{private['_id']}"), 404)
    missing = fish_error(await bob.http.get(f"/model/{'f' * 32}"), 404)
    assert hidden.replace(private["_id"], "ID") == missing.replace("f" * 32, "ID")

    # Listings: public models only, for everyone (the owner too); with self, the owner's own, all of them.
    for caller in (alice, bob):
        everyone = await listed(caller, page_size=100)
        assert mine & set(ids(everyone)) == {public["_id"]}
    own = await listed(alice, self="true", page_size=100)
    assert set(ids(own)) == mine and own["total"] == 3
    assert not mine & set(ids(await listed(bob, self="true", page_size=100)))
    by_author = await listed(bob, author_id=alice.account_id)
    assert ids(by_author) == [public["_id"]] and by_author["total"] == 1
    # author_id is ignored with self=true, as Fish documents.
    assert set(ids(await listed(alice, self="true", author_id=bob.account_id))) == mine

    # The lookup the TTS pipeline uses follows the same rules.
    assert await find_voice(services.db, bob.account_id, private["_id"]) is None
    for model in (unlisted, public):
        assert await find_voice(services.db, bob.account_id, model["_id"]) is not None
    owned = await find_voice(services.db, alice.account_id, private["_id"])
    assert owned is not None and [clip.text for clip in owned.clips] == [first.text]
    assert await find_voice(services.db, alice.account_id, "not-an-id") is None


async def test_only_the_owner_changes_or_deletes_and_others_get_404(
    alice: Caller, bob: Caller, speech: tuple[Speech, Speech]
) -> None:
    first, _ = speech
    models = [
        await create(alice, first.wav, texts=first.text, visibility="private"),
        await create(alice, first.wav, texts=first.text, visibility="unlist"),
        await create(alice, first.wav, texts=first.text, visibility="public", cover=png()),
    ]
    for model in models:
        path = f"/model/{model['_id']}"
        fish_error(await bob.http.patch(path, json={"title": "stolen"}), 404)
        fish_error(await bob.http.patch(path, data={"visibility": "private"}), 404)
        fish_error(await bob.http.delete(path), 404)
        after = parsed((await alice.http.get(path)).json())
        assert (after["title"], after["visibility"]) == (model["title"], model["visibility"])
    for path in (f"/model/{'0' * 32}", "/model/nonsense"):
        fish_error(await alice.http.patch(path, json={"title": "x"}), 404)
        fish_error(await alice.http.delete(path), 404)
        fish_error(await alice.http.get(path), 404)


# -- changing and deleting ------------------------------------------------------------------------


async def test_patch_in_every_encoding(alice: Caller, speech: tuple[Speech, Speech]) -> None:
    first, _ = speech
    model = await create(alice, first.wav, texts=first.text, tags=["old"])
    path = f"/model/{model['_id']}"

    response = await alice.http.patch(
        path, json={"title": "From JSON", "tags": ["json"], "description": None}
    )
    assert response.status_code == 200, response.text
    body = parsed(response.json())
    assert (body["title"], body["tags"], body["description"]) == ("From JSON", ["json"], "")
    assert body["updated_at"] > model["updated_at"]

    # What both SDKs send without a cover: urlencoded, tags repeated.
    response = await alice.http.patch(path, data={"title": "From a form", "tags": ["a", "b"]})
    body = parsed(response.json())
    assert (body["title"], body["tags"]) == ("From a form", ["a", "b"])

    packed = msgpack.packb({"description": "From msgpack", "visibility": "unlist", "tags": "one"})
    response = await alice.http.patch(path, content=packed, headers={"Content-Type": "application/msgpack"})
    body = parsed(response.json())
    assert (body["description"], body["visibility"], body["tags"]) == ("From msgpack", "unlist", ["one"])

    # With a cover, the SDKs send multipart; now the model may be public.
    cover = png()
    response = await alice.http.patch(
        path,
        data={"visibility": "public"},
        files=[("cover_image", ("upload", cover, "application/octet-stream"))],
    )
    body = parsed(response.json())
    assert body["visibility"] == "public" and body["cover_image"]
    assert (await alice.http.get(body["cover_image"])).content == cover
    old_cover = body["cover_image"]
    response = await alice.http.patch(path, files=[("cover_image", ("upload", png(), "image/png"))])
    replaced = parsed(response.json())["cover_image"]
    assert replaced != old_cover
    assert (await alice.http.get(old_cover)).status_code == 404  # the replaced image is gone
    assert (await alice.http.get(replaced)).status_code == 200

    # Tags filter on what PATCH set.
    assert ids(await listed(alice, self="true", tag="one")) == [model["_id"]]
    assert ids(await listed(alice, self="true", tag="a")) == []


async def test_patch_rules(alice: Caller, speech: tuple[Speech, Speech]) -> None:
    first, _ = speech
    model = await create(alice, first.wav, texts=first.text)
    path = f"/model/{model['_id']}"
    message = fish_error(await alice.http.patch(path, json={"visibility": "public"}), 422)
    assert "cover_image is required when visibility is public" in message
    assert kui_error(await alice.http.patch(path, json={"visibility": "everyone"})) == [["visibility"]]
    assert kui_error(await alice.http.patch(path, data={"title": ""})) == [["title"]]
    not_an_image = await alice.http.patch(
        path, files=[("cover_image", ("upload", b"<svg/>", "image/svg+xml"))]
    )
    assert "not a PNG" in fish_error(not_an_image, 422)
    after = parsed((await alice.http.get(path)).json())
    assert (after["visibility"], after["title"], after["cover_image"]) == ("private", model["title"], "")


async def test_delete_removes_the_model_its_labels_and_its_files(
    alice: Caller, services: Services, speech: tuple[Speech, Speech]
) -> None:
    first, _ = speech
    model = await create(alice, first.wav, tags=["gone"])  # transcribed: has a language label too
    path = f"/model/{model['_id']}"
    response = await alice.http.delete(path)
    assert (response.status_code, response.content) == (200, b"")
    fish_error(await alice.http.get(path), 404)
    fish_error(await alice.http.delete(path), 404)
    assert (await alice.http.get(model["samples"][0]["audio"])).status_code == 404
    async with services.db.read() as connection:
        labels = (
            await connection.execute(
                select(voice_model_labels).where(voice_model_labels.c.model_id == model["_id"])
            )
        ).all()
    assert labels == []


# -- listing --------------------------------------------------------------------------------------


async def test_listing_filters_pages_and_sorts(
    alice: Caller, services: Services, speech: tuple[Speech, Speech]
) -> None:
    first, _ = speech
    marker = unique("Lantern")
    made = []
    for number, tags in enumerate((["x", "y"], ["x"], ["y", "z"]), start=1):
        made.append(await create(alice, first.wav, texts=first.text, title=f"{marker} {number}", tags=tags))
    first_id, second_id, third_id = (model["_id"] for model in made)
    other = await create(alice, first.wav, title=unique("Other"))  # transcribed: languages ["en"]

    def mine(page: dict[str, Any]) -> list[str]:
        return [model_id for model_id in ids(page) if model_id in {first_id, second_id, third_id}]

    # Title: a case-insensitive part; newest first when sorted by creation.
    by_title = await listed(alice, self="true", title=marker.lower(), sort_by="created_at")
    assert ids(by_title) == [third_id, second_id, first_id] and by_title["total"] == 3
    assert (await listed(alice, self="true", title="100%_"))["total"] == 0  # wildcards are literal
    # Tags: every one given must be there.
    assert set(ids(await listed(alice, self="true", tag="x"))) == {first_id, second_id}
    assert ids(await listed(alice, self="true", tag=["x", "y"])) == [first_id]
    assert ids(await listed(alice, self="true", tag=["x", "z"])) == []
    # Language: any of those given (only the transcribed model has one).
    assert ids(await listed(alice, self="true", language=["de", "en"])) == [other["_id"]]
    # Pages.
    page_one = await listed(alice, self="true", title=marker, sort_by="created_at", page_size=2)
    page_two = await listed(
        alice, self="true", title=marker, sort_by="created_at", page_size=2, page_number=2
    )
    assert (ids(page_one), page_one["total"], page_one["has_more"]) == ([third_id, second_id], 3, True)
    assert (ids(page_two), page_two["has_more"]) == ([first_id], False)
    # Uses counted by the TTS pipeline order task_count and score.
    for _ in range(2):
        await count_use(services.db, first_id)
    await count_use(services.db, second_id)
    for sort_by in ("task_count", "score"):
        assert mine(await listed(alice, self="true", title=marker, sort_by=sort_by)) == [
            first_id, second_id, third_id,
        ]  # fmt: skip
    assert parsed((await alice.http.get(f"/model/{first_id}")).json())["task_count"] == 2


async def test_listing_parameters_are_validated_like_fish(alice: Caller) -> None:
    for params in ({"page_size": 0}, {"page_size": 101}, {"page_number": 0}, {"sort_by": "likes"}):
        (loc,) = kui_error(await alice.http.get("/model", params=params))
        assert loc == [next(iter(params))]
    # What the new SDK sends by default, with title_language accepted and ignored.
    page = await listed(
        alice, page_size=10, page_number=1, self="false", sort_by="task_count", title_language="en"
    )
    assert page["total"] >= len(page["items"])
