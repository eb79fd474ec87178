"""Voice models (Fish's ``/model`` library): storage, and the rules of who sees and changes what.
(What makes an uploaded clip or cover acceptable is ``shoal.voices.uploads``.)

A voice model belongs to the account that created it. Its reference clips and cover image live
in the blob store (kept until the model is deleted); its row holds the metadata, one transcript
per clip and the computed ``VoiceProfile``, so a TTS request with ``reference_id`` reads one row
and does no analysis.

Visibility: ``private`` models are seen by their owner only; ``unlist`` ones by anyone who has
the id, but never in listings (except the owner's own, with ``self``); ``public`` ones by
everyone. Only the owner changes or deletes a model; to anyone else it does not exist.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from sqlalchemy import and_, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from shoal.errors import InvalidAudio, NotFound
from shoal.pipeline.transcribe import TranscriptionParams
from shoal.storage.blobs import BlobInfo, BlobStore
from shoal.storage.db.database import Database
from shoal.storage.db.tables import accounts, voice_model_labels, voice_models
from shoal.timestamps import read_stored, utc_now
from shoal.voices.builtin import BuiltinVoice
from shoal.voices.profile import VoiceProfile
from shoal.voices.uploads import CheckedClip, VoiceModelRejected, check_clip, image_type

if TYPE_CHECKING:
    from shoal.services import Services

Visibility = Literal["public", "unlist", "private"]
VISIBILITIES: tuple[str, ...] = get_args(Visibility)
State = Literal["created", "training", "trained", "failed"]
SortBy = Literal["score", "task_count", "created_at"]

MAX_CLIPS = 20
"""Fish accepts 1–20 clips (and as many transcripts) per model."""
MAX_TAG_CHARS = 100
KEEP_SECONDS = 100 * 365.25 * 86400.0
"""The blob store's ttl for clips and covers: it has no "forever", and these live until the model is
deleted (which deletes them). Signed cover links are valid as long."""

_ID = re.compile(r"^[0-9a-f]{32}$")


def valid_model_id(model_id: str) -> bool:
    return _ID.fullmatch(model_id) is not None


# -- what a model is ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """What a signed link and a later download need of a blob, kept in the model's row."""

    id: str
    content_type: str
    size: int
    expires_at: datetime

    def info(self, owner: str | None) -> BlobInfo:
        return BlobInfo(self.id, self.content_type, self.size, owner, self.expires_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "blob": self.id,
            "content_type": self.content_type,
            "size": self.size,
            "expires_at": self.expires_at.timestamp(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredBlob:
        expires = datetime.fromtimestamp(float(data["expires_at"]), UTC)
        return cls(str(data["blob"]), str(data["content_type"]), int(data["size"]), expires)

    @classmethod
    def of(cls, info: BlobInfo) -> StoredBlob:
        return cls(info.id, info.content_type, info.size, info.expires_at)


@dataclass(frozen=True, slots=True)
class StoredClip:
    blob: StoredBlob
    seconds: float
    text: str


@dataclass(frozen=True, slots=True)
class VoiceModel:
    id: str
    account_id: str
    """The owner."""
    author_name: str
    type: str
    title: str
    description: str
    visibility: Visibility
    train_mode: str
    state: State
    state_reason: str | None
    """Why the state is ``failed`` (or why analysis is pending)."""
    tags: tuple[str, ...]
    languages: tuple[str, ...]
    clips: tuple[StoredClip, ...]
    cover: StoredBlob | None
    profile: VoiceProfile | None
    """The computed voice state; None until analysed."""
    enhance_audio_quality: bool
    task_count: int
    created_at: datetime
    updated_at: datetime

    def visible_to(self, account_id: str) -> bool:
        """Whether ``account_id`` may use or read this model by its id."""
        return self.account_id == account_id or self.visibility != "private"


async def transcribe(services: Services, clip: CheckedClip, index: int) -> tuple[str, str | None]:
    """The clip's transcript and detected language, from the ASR engine."""
    transcriber = services.transcriber
    plan = await transcriber.prepare(TranscriptionParams(audio=clip.data))
    transcript = await transcriber.run(plan)
    if not transcript.text:
        field = f"voices[{index}]"
        raise VoiceModelRejected(
            field, f"{field}: no speech was recognised in the clip; send its transcript in texts"
        )
    return transcript.text, transcript.language


async def compute_state(
    services: Services, clips: Sequence[CheckedClip], texts: Sequence[str]
) -> tuple[VoiceProfile | None, str | None]:
    """The voice's computed state: (profile, None) once analysed (the model is then ``trained``),
    (None, reason) when the clips hold no usable voice (``failed``)."""
    try:
        profile = await services.voices.analyse_clips([clip.data for clip in clips], texts)
    except InvalidAudio as error:
        return None, error.message
    return profile, None


# -- creating -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """A new model as the client asked for it (wire-validated)."""

    title: str
    voices: tuple[bytes, ...]
    texts: tuple[str, ...] = ()
    """One per clip, in order; missing or empty ones are transcribed."""
    description: str = ""
    visibility: Visibility = "public"
    tags: tuple[str, ...] = ()
    cover_image: bytes | None = None
    enhance_audio_quality: bool = True
    type: str = "tts"
    train_mode: str = "fast"


def clean_tags(tags: Sequence[str]) -> tuple[str, ...]:
    """Trimmed, without empties and repeats, in the order given."""
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise VoiceModelRejected("tags", f"tag {tag[:20]!r}… is longer than {MAX_TAG_CHARS} characters")
        seen.setdefault(tag, None)
    return tuple(seen)


def _check_cover(cover: bytes | None, visibility: str, has_cover: bool) -> str | None:
    """The cover's content type; refuses a non-image, and a public model without any cover."""
    if cover is not None:
        content_type = image_type(cover)
        if content_type is None:
            raise VoiceModelRejected("cover_image", "cover_image is not a PNG, JPEG, GIF or WebP image")
        return content_type
    if visibility == "public" and not has_cover:
        raise VoiceModelRejected(
            "cover_image", "cover_image is required when visibility is public; attach an image or use unlist"
        )
    return None


async def create_voice_model(services: Services, account_id: str, draft: Draft) -> VoiceModel:
    """Check the clips, transcribe those without text, compute the voice state, store it all."""
    if not draft.voices:
        raise VoiceModelRejected("voices", "voices is empty; attach 1 to 20 audio clips")
    if len(draft.texts) > len(draft.voices):
        raise VoiceModelRejected(
            "texts",
            f"texts has {len(draft.texts)} entries for {len(draft.voices)} voices; "
            "send at most one transcript per clip, in the same order",
        )
    tags = clean_tags(draft.tags)
    cover_type = _check_cover(draft.cover_image, draft.visibility, has_cover=False)
    clips = [await asyncio.to_thread(check_clip, data, index) for index, data in enumerate(draft.voices)]
    texts: list[str] = []
    languages: dict[str, None] = {}
    for index, clip in enumerate(clips):
        given = draft.texts[index].strip() if index < len(draft.texts) else ""
        if given:
            texts.append(given)
            continue
        text, language = await transcribe(services, clip, index)
        texts.append(text)
        if language:
            languages.setdefault(language, None)
    profile, failure = await compute_state(services, clips, texts)
    state: State = "trained" if profile is not None else "failed" if failure is not None else "created"
    stored, cover = await _store_blobs(services.blobs, account_id, clips, draft.cover_image, cover_type)
    now = utc_now()
    kept = zip(stored, clips, texts, strict=True)
    model = VoiceModel(
        id=uuid.uuid4().hex, account_id=account_id, author_name="", type=draft.type, title=draft.title,
        description=draft.description, visibility=draft.visibility, train_mode=draft.train_mode,
        state=state, state_reason=failure, tags=tags, languages=tuple(languages),
        clips=tuple(StoredClip(blob, clip.seconds, text) for blob, clip, text in kept),
        cover=cover, profile=profile, enhance_audio_quality=draft.enhance_audio_quality, task_count=0,
        created_at=now, updated_at=now,
    )  # fmt: skip
    try:
        async with services.db.write() as connection:
            await connection.execute(insert(voice_models).values(**_row(model)))
            await _write_labels(connection, model.id, model.tags, model.languages)
    except BaseException:
        await _delete_blobs(services.blobs, model)
        raise
    found = await get_voice_model(services.db, model.id)
    assert found is not None
    return found


async def _store_blobs(
    blobs: BlobStore, owner: str, clips: Sequence[CheckedClip], cover: bytes | None, cover_type: str | None
) -> tuple[list[StoredBlob], StoredBlob | None]:
    stored: list[StoredBlob] = []
    try:
        for clip in clips:
            info = await blobs.put(clip.data, clip.content_type, owner=owner, ttl=KEEP_SECONDS)
            stored.append(StoredBlob.of(info))
        cover_blob = None
        if cover is not None and cover_type is not None:
            cover_blob = StoredBlob.of(await blobs.put(cover, cover_type, owner=owner, ttl=KEEP_SECONDS))
    except BaseException:
        for blob in stored:
            await blobs.delete(blob.id)
        raise
    return stored, cover_blob


async def _delete_blobs(blobs: BlobStore, model: VoiceModel) -> None:
    for clip in model.clips:
        await blobs.delete(clip.blob.id)
    if model.cover is not None:
        await blobs.delete(model.cover.id)


def _row(model: VoiceModel) -> dict[str, Any]:
    return {
        "id": model.id,
        "account_id": model.account_id,
        "type": model.type,
        "title": model.title,
        "description": model.description,
        "visibility": model.visibility,
        "train_mode": model.train_mode,
        "state": model.state,
        "state_reason": model.state_reason,
        "tags": json.dumps(list(model.tags)),
        "languages": json.dumps(list(model.languages)),
        "clips": json.dumps(
            [{**clip.blob.to_json(), "seconds": clip.seconds, "text": clip.text} for clip in model.clips]
        ),
        "cover": None if model.cover is None else json.dumps(model.cover.to_json()),
        "profile": None if model.profile is None else model.profile.to_json(),
        "enhance_audio_quality": model.enhance_audio_quality,
        "task_count": model.task_count,
        "created_at": model.created_at,
        "updated_at": model.updated_at,
    }


async def _write_labels(
    connection: Any, model_id: str, tags: Sequence[str], languages: Sequence[str] | None
) -> None:
    """Replace the model's tags (and languages, unless None) in the filter table."""
    kinds = ["tag"] if languages is None else ["tag", "language"]
    await connection.execute(
        delete(voice_model_labels).where(
            voice_model_labels.c.model_id == model_id, voice_model_labels.c.kind.in_(kinds)
        )
    )
    rows = [{"model_id": model_id, "kind": "tag", "value": tag} for tag in tags]
    rows += [{"model_id": model_id, "kind": "language", "value": code} for code in languages or ()]
    if rows:
        await connection.execute(insert(voice_model_labels), rows)


# -- reading --------------------------------------------------------------------------------------


def _select() -> Any:
    joined = voice_models.outerjoin(accounts, accounts.c.id == voice_models.c.account_id)
    return select(voice_models, accounts.c.name.label("author_name")).select_from(joined)


def _model(row: Any) -> VoiceModel:
    clips = tuple(
        StoredClip(StoredBlob.from_json(item), float(item["seconds"]), str(item["text"]))
        for item in json.loads(row["clips"])
    )
    return VoiceModel(
        id=row["id"], account_id=row["account_id"], author_name=row["author_name"] or row["account_id"],
        type=row["type"], title=row["title"], description=row["description"], visibility=row["visibility"],
        train_mode=row["train_mode"], state=row["state"], state_reason=row["state_reason"],
        tags=tuple(json.loads(row["tags"])), languages=tuple(json.loads(row["languages"])), clips=clips,
        cover=None if row["cover"] is None else StoredBlob.from_json(json.loads(row["cover"])),
        profile=None if row["profile"] is None else VoiceProfile.from_json(row["profile"]),
        enhance_audio_quality=bool(row["enhance_audio_quality"]), task_count=int(row["task_count"]),
        created_at=read_stored(row["created_at"]), updated_at=read_stored(row["updated_at"]),
    )  # fmt: skip


async def get_voice_model(db: Database, model_id: str) -> VoiceModel | None:
    """The model with this id, whoever owns it (callers apply the visibility rules)."""
    if not valid_model_id(model_id):
        return None
    async with db.read() as connection:
        row = (await connection.execute(_select().where(voice_models.c.id == model_id))).mappings().first()
    return None if row is None else _model(row)


async def find_voice(db: Database, account_id: str, model_id: str) -> VoiceModel | None:
    """The model ``account_id`` may use by id: its own, a public one or an unlisted one; else None."""
    model = await get_voice_model(db, model_id)
    return model if model is not None and model.visible_to(account_id) else None


async def count_use(db: Database, model_id: str) -> None:
    """Count one use of the model (a TTS request that spoke with it)."""
    async with db.write() as connection:
        await connection.execute(
            update(voice_models)
            .where(voice_models.c.id == model_id)
            .values(task_count=voice_models.c.task_count + 1)
        )


async def reference_audio(blobs: BlobStore, model: VoiceModel) -> list[tuple[bytes, str]]:
    """The model's clips with their transcripts, as engines that clone from references need them."""
    found: list[tuple[bytes, str]] = []
    for clip in model.clips:
        blob = await blobs.get(clip.blob.id)
        if blob is not None:
            found.append((blob.data, clip.text))
    return found


@dataclass(frozen=True, slots=True)
class ListQuery:
    page_size: int = 10
    page_number: int = 1
    title: str | None = None
    """Part of the title, any case."""
    tags: tuple[str, ...] = ()
    """Models carrying every one of these tags."""
    self_only: bool = False
    """The caller's own models, whatever their visibility; otherwise public models only."""
    author_id: str | None = None
    """Public models of this account (ignored with ``self_only``, as Fish does)."""
    languages: tuple[str, ...] = ()
    """Models speaking any of these languages."""
    sort_by: SortBy = "score"


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _has_label(kind: str, values: Sequence[str]) -> ColumnElement[bool]:
    labels = voice_model_labels.c
    return exists().where(labels.model_id == voice_models.c.id, labels.kind == kind, labels.value.in_(values))


def _filters(viewer: str, query: ListQuery) -> list[ColumnElement[bool]]:
    columns = voice_models.c
    conditions: list[ColumnElement[bool]] = []
    if query.self_only:
        conditions.append(columns.account_id == viewer)
    else:
        conditions.append(columns.visibility == "public")
        if query.author_id is not None:
            conditions.append(columns.account_id == query.author_id)
    if query.title:
        conditions.append(func.lower(columns.title).like(_like(query.title), escape="\\"))
    conditions.extend(_has_label("tag", [tag]) for tag in query.tags)
    if query.languages:
        conditions.append(_has_label("language", query.languages))
    return conditions


async def list_voice_models(db: Database, viewer: str, query: ListQuery) -> tuple[int, list[VoiceModel]]:
    """One page of the models ``viewer`` may list, and how many there are in all."""
    where = and_(*_filters(viewer, query))
    columns = voice_models.c
    # Shoal has no likes or ratings: the score is how much a voice is used, newest first among equals.
    order = {
        "score": (columns.task_count.desc(), columns.created_at.desc()),
        "task_count": (columns.task_count.desc(), columns.created_at.desc()),
        "created_at": (columns.created_at.desc(),),
    }[query.sort_by]
    page = (
        _select()
        .where(where)
        .order_by(*order, columns.id)
        .limit(query.page_size)
        .offset((query.page_number - 1) * query.page_size)
    )
    async with db.read() as connection:
        total = (
            await connection.execute(select(func.count()).select_from(voice_models).where(where))
        ).scalar()
        rows = (await connection.execute(page)).mappings().all()
    return int(total or 0), [_model(row) for row in rows]


# -- changing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Changes:
    """A PATCH: None leaves a field as it is."""

    title: str | None = None
    description: str | None = None
    visibility: Visibility | None = None
    tags: tuple[str, ...] | None = None
    cover_image: bytes | None = None


def _not_found(model_id: str) -> NotFound:
    return NotFound(f"model {model_id!r} not found")


async def _owned(connection: Any, account_id: str, model_id: str) -> VoiceModel:
    """The caller's own model, locked for the transaction; any other is "not found" (nothing leaks)."""
    if not valid_model_id(model_id):
        raise _not_found(model_id)
    statement = _select().where(voice_models.c.id == model_id).with_for_update(of=voice_models)
    row = (await connection.execute(statement)).mappings().first()
    if row is None or row["account_id"] != account_id:
        raise _not_found(model_id)
    return _model(row)


async def update_voice_model(
    services: Services, account_id: str, model_id: str, changes: Changes
) -> VoiceModel:
    """Apply a PATCH from the owner; anyone else gets NotFound."""
    tags = None if changes.tags is None else clean_tags(changes.tags)
    if changes.title is not None and not changes.title.strip():
        raise VoiceModelRejected("title", "title must not be empty")
    cover_type = _check_cover(changes.cover_image, "private", has_cover=True)
    new_cover: StoredBlob | None = None
    if changes.cover_image is not None and cover_type is not None:
        # Stored before the transaction: a database blob store must not wait on its write lock.
        info = await services.blobs.put(changes.cover_image, cover_type, owner=account_id, ttl=KEEP_SECONDS)
        new_cover = StoredBlob.of(info)
    replaced: StoredBlob | None = None
    try:
        async with services.db.write() as connection:
            model = await _owned(connection, account_id, model_id)
            visibility = changes.visibility or model.visibility
            _check_cover(None, visibility, has_cover=model.cover is not None or new_cover is not None)
            values: dict[str, Any] = {"updated_at": utc_now(), "visibility": visibility}
            if changes.title is not None:
                values["title"] = changes.title.strip()
            if changes.description is not None:
                values["description"] = changes.description
            if tags is not None:
                values["tags"] = json.dumps(list(tags))
                await _write_labels(connection, model_id, tags, None)
            if new_cover is not None:
                values["cover"] = json.dumps(new_cover.to_json())
                replaced = model.cover
            await connection.execute(
                update(voice_models).where(voice_models.c.id == model_id).values(**values)
            )
    except BaseException:
        if new_cover is not None:
            await services.blobs.delete(new_cover.id)
        raise
    if replaced is not None:
        await services.blobs.delete(replaced.id)
    found = await get_voice_model(services.db, model_id)
    if found is None:  # deleted meanwhile
        raise _not_found(model_id)
    return found


async def delete_voice_model(services: Services, account_id: str, model_id: str) -> None:
    """Delete the owner's model and its clips and cover; anyone else gets NotFound."""
    async with services.db.write() as connection:
        model = await _owned(connection, account_id, model_id)
        await connection.execute(delete(voice_model_labels).where(voice_model_labels.c.model_id == model_id))
        await connection.execute(delete(voice_models).where(voice_models.c.id == model_id))
    await _delete_blobs(services.blobs, model)


SYSTEM_ACCOUNT = "shoal"
"""Owner of the built-in voices (no account row: its name shows as "shoal")."""


async def ensure_builtin_voices(db: Database, voices: Sequence[BuiltinVoice]) -> None:
    """Keep the built-in voices as public voice models (listed, usable by id, uses counted),
    inserting the missing ones and refreshing the rest; safe when replicas start together."""
    now = utc_now()
    for voice in voices:
        model = VoiceModel(
            id=voice.id, account_id=SYSTEM_ACCOUNT, author_name=SYSTEM_ACCOUNT, type="tts", title=voice.title,
            description=voice.description, visibility="public", train_mode="fast", state="trained",
            state_reason=None, tags=tuple(voice.tags), languages=tuple(voice.languages), clips=(), cover=None,
            profile=voice.profile, enhance_audio_quality=False, task_count=0, created_at=now, updated_at=now,
        )  # fmt: skip
        row = _row(model)
        try:
            async with db.write() as connection:
                existing = (
                    await connection.execute(
                        select(voice_models.c.profile).where(voice_models.c.id == voice.id)
                    )
                ).first()
                if existing is None:
                    await connection.execute(insert(voice_models).values(**row))
                    await _write_labels(connection, model.id, model.tags, model.languages)
                elif existing.profile != row["profile"]:
                    changed = {key: row[key] for key in ("title", "description", "profile", "updated_at")}
                    await connection.execute(
                        update(voice_models).where(voice_models.c.id == voice.id).values(**changed)
                    )
        except IntegrityError:
            pass  # another replica inserted it at the same moment
