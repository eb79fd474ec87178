"""Fish Audio's voice library: ``GET|POST /model`` and ``GET|PATCH|DELETE /model/{id}``.

Bodies come as multipart (what both SDKs send when there are files), urlencoded (the SDKs'
PATCH without a cover), JSON (files as base64) or msgpack (files as bytes); a field may be
sent once or repeated (``tags=a&tags=b``, ``["a", "b"]``), ``tags[]`` names are accepted too,
and ``null`` means absent. Every model comes back as the full ``ModelEntity`` both SDK flavours
validate. Schema errors are Kui's 422 array, like every Fish route; a rule the content breaks
(a clip too short, a public model without a cover) is 422 ``{status, message}``, which both
SDKs turn into a readable exception.

Cover images (and, for the owner, the reference clips as ``samples``) are signed links to the
blob store under ``/v1/files/``: public like Fish's CDN URLs, unguessable, served by any replica.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shoal.api.body import MULTIPART_TYPES, media_type, open_form, read_object, upload_bytes
from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.api.fish.errors import error_response, validation_error_response
from shoal.errors import NotFound
from shoal.services import Services
from shoal.storage.links import FileLinks
from shoal.timestamps import iso_z
from shoal.voices.models import (
    MAX_CLIPS,
    Changes,
    Draft,
    ListQuery,
    SortBy,
    VoiceModel,
    create_voice_model,
    delete_voice_model,
    find_voice,
    list_voice_models,
    update_voice_model,
)
from shoal.voices.uploads import VoiceModelRejected

router = APIRouter(tags=["Fish Audio"])

Visibility = Literal["public", "unlist", "private"]
_LIST_FIELDS = frozenset({"voices", "texts", "tags"})
_TEXT_FIELDS = frozenset({"title", "description"})
"""Form fields where an empty value means empty; in the others it means absent."""


def _binary(value: Any) -> Any:
    """msgpack carries raw bytes, forms carry files; JSON clients send base64."""
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be a file, bytes (msgpack) or a base64 string (JSON)") from None
    return value


def _listed(value: Any) -> Any:
    return [value] if value is not None and not isinstance(value, list | tuple) else value


Binary = Annotated[bytes, BeforeValidator(_binary)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=10_000)]
Tags = Annotated[list[Annotated[str, Field(max_length=100)]] | None, BeforeValidator(_listed)]


class CreateModelRequest(BaseModel):
    """``POST /model``. ``type`` and ``train_mode`` default to the only values Shoal (and the SDK) has."""

    model_config = ConfigDict(extra="ignore")

    title: Title
    voices: Annotated[list[Binary], BeforeValidator(_listed), Field(min_length=1, max_length=MAX_CLIPS)]
    type: Literal["tts"] = "tts"
    train_mode: Literal["fast"] = "fast"
    texts: Annotated[list[str] | None, BeforeValidator(_listed), Field(max_length=MAX_CLIPS)] = None
    """One transcript per clip, in order; omitted (or empty) ones are transcribed."""
    description: Description | None = None
    visibility: Visibility = "public"
    tags: Tags = None
    cover_image: Binary | None = None
    """Required when visibility is public."""
    enhance_audio_quality: bool = True
    generate_sample: bool = False


class UpdateModelRequest(BaseModel):
    """``PATCH /model/{id}``: fields left out stay as they are."""

    model_config = ConfigDict(extra="ignore")

    title: Title | None = None
    description: Description | None = None
    visibility: Visibility | None = None
    tags: Tags = None
    cover_image: Binary | None = None


class SampleEntity(BaseModel):
    title: str
    text: str
    task_id: str
    audio: str


class AuthorEntity(BaseModel):
    id: str = Field(alias="_id")
    nickname: str
    avatar: str


class ModelEntity(BaseModel):
    """What both SDKs parse (``Voice`` / ``ModelEntity``), plus Fish's documented extras."""

    id: str = Field(alias="_id")
    type: Literal["svc", "tts"]
    title: str
    description: str
    cover_image: str
    train_mode: Literal["fast", "full"]
    state: Literal["created", "training", "trained", "failed"]
    state_reason: str | None = Field(None, description="Shoal's extension: why the state is failed.")
    tags: list[str]
    samples: list[SampleEntity]
    created_at: datetime
    updated_at: datetime
    languages: list[str]
    visibility: Visibility
    lock_visibility: bool
    like_count: int
    mark_count: int
    shared_count: int
    task_count: int
    liked: bool
    marked: bool
    unliked: bool
    dmca_taken_down: bool
    default_text: str
    author: AuthorEntity


class ModelList(BaseModel):
    total: int
    items: list[ModelEntity]
    has_more: bool


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    kinds = (
        "multipart/form-data",
        "application/json",
        "application/msgpack",
        "application/x-www-form-urlencoded",
    )
    return {
        "requestBody": {
            "required": True,
            "content": {kind: {"schema": model.model_json_schema()} for kind in kinds},
        }
    }


# -- reading bodies -------------------------------------------------------------------------------


async def _fields(request: Request, limit: int) -> dict[str, Any]:
    """The body's fields, whatever its encoding, with files as bytes and null/absent alike."""
    if media_type(request) not in MULTIPART_TYPES:
        raw = await read_object(request, limit)
        return {key.removesuffix("[]"): value for key, value in raw.items() if value is not None}
    values: dict[str, list[Any]] = {}
    async with open_form(request, limit) as form:
        for key, value in form.multi_items():
            name = key.removesuffix("[]")
            if isinstance(value, UploadFile):
                values.setdefault(name, []).append(await upload_bytes(value, field=name, limit=limit))
            elif value or name in _TEXT_FIELDS or name in _LIST_FIELDS:
                values.setdefault(name, []).append(value)
    return {name: found if name in _LIST_FIELDS else found[-1] for name, found in values.items()}


def _rejected(error: VoiceModelRejected) -> JSONResponse:
    return error_response(422, error.message)


# -- the wire form of a model ---------------------------------------------------------------------


def entity(model: VoiceModel, viewer: str, links: FileLinks, base_url: str) -> dict[str, Any]:
    """The ``ModelEntity`` as ``viewer`` sees it: the owner also gets the reference clips as samples."""
    owner = model.account_id
    cover = links.url(model.cover.info(owner), base_url) if model.cover is not None else ""
    samples = [
        {
            "title": f"Reference {number}",
            "text": clip.text,
            "task_id": "",
            "audio": links.url(clip.blob.info(owner), base_url),
        }
        for number, clip in enumerate(model.clips, start=1)
        if viewer == owner
    ]
    return {
        "_id": model.id,
        "type": model.type,
        "title": model.title,
        "description": model.description,
        "cover_image": cover,
        "train_mode": model.train_mode,
        "state": model.state,
        "state_reason": model.state_reason,
        "tags": list(model.tags),
        "samples": samples,
        "created_at": iso_z(model.created_at),
        "updated_at": iso_z(model.updated_at),
        "languages": list(model.languages),
        "visibility": model.visibility,
        "lock_visibility": False,
        # Shoal has no likes, bookmarks or sharing: these stay zero.
        "like_count": 0,
        "mark_count": 0,
        "shared_count": 0,
        "task_count": model.task_count,
        "liked": False,
        "marked": False,
        "unliked": False,
        "dmca_taken_down": False,
        "default_text": "",
        "author": {"_id": owner, "nickname": model.author_name, "avatar": ""},
    }


def _render(request: Request, services: Services, viewer: str, model: VoiceModel) -> dict[str, Any]:
    return entity(model, viewer, services.file_links, str(request.base_url))


# -- routes ---------------------------------------------------------------------------------------


@router.get("/model", summary="List voice models", response_model=ModelList)
async def list_models(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    page_size: Annotated[int, Query(ge=1, le=100)] = 10,
    page_number: Annotated[int, Query(ge=1)] = 1,
    title: str | None = None,
    tag: Annotated[list[str] | None, Query(description="Repeat for several: models with every tag.")] = None,
    self_only: Annotated[
        bool, Query(alias="self", description="Your own models, whatever their visibility.")
    ] = False,
    author_id: Annotated[str | None, Query(description="Public models of this author.")] = None,
    language: Annotated[list[str] | None, Query(description="Models in any of these languages.")] = None,
    title_language: Annotated[list[str] | None, Query(description="Accepted; not used.")] = None,
    sort_by: SortBy = "score",
) -> JSONResponse:
    query = ListQuery(
        page_size=page_size, page_number=page_number, title=title or None, tags=tuple(tag or ()),
        self_only=self_only, author_id=author_id or None, languages=tuple(language or ()), sort_by=sort_by,
    )  # fmt: skip
    total, models = await list_voice_models(services.db, principal.account_id, query)
    items = [_render(request, services, principal.account_id, model) for model in models]
    return JSONResponse(
        {"total": total, "items": items, "has_more": page_number * page_size < total},
    )


@router.post(
    "/model",
    summary="Create a voice model",
    status_code=201,
    response_model=ModelEntity,
    openapi_extra=_body_schema(CreateModelRequest),
)
async def create_model(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    fields = await _fields(request, services.settings.server.max_body_bytes)
    try:
        body = CreateModelRequest.model_validate(fields)
    except ValidationError as error:
        return validation_error_response(error.errors(include_url=False, include_input=False))
    draft = Draft(
        title=body.title, voices=tuple(body.voices), texts=tuple(body.texts or ()),
        description=body.description or "", visibility=body.visibility, tags=tuple(body.tags or ()),
        cover_image=body.cover_image, enhance_audio_quality=body.enhance_audio_quality,
        type=body.type, train_mode=body.train_mode,
    )  # fmt: skip
    try:
        model = await create_voice_model(services, principal.account_id, draft)
    except VoiceModelRejected as error:
        return _rejected(error)
    return JSONResponse(_render(request, services, principal.account_id, model), status_code=201)


@router.get("/model/{model_id}", summary="Get a voice model", response_model=ModelEntity)
async def get_model(
    model_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> JSONResponse:
    model = await find_voice(services.db, principal.account_id, model_id)
    if model is None:
        raise NotFound(f"model {model_id!r} not found")
    return JSONResponse(_render(request, services, principal.account_id, model))


@router.patch(
    "/model/{model_id}",
    summary="Update a voice model",
    response_model=ModelEntity,
    openapi_extra=_body_schema(UpdateModelRequest),
)
async def update_model(
    model_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    fields = await _fields(request, services.settings.server.max_body_bytes)
    try:
        body = UpdateModelRequest.model_validate(fields)
    except ValidationError as error:
        return validation_error_response(error.errors(include_url=False, include_input=False))
    changes = Changes(
        title=body.title, description=body.description, visibility=body.visibility,
        tags=None if body.tags is None else tuple(body.tags), cover_image=body.cover_image,
    )  # fmt: skip
    try:
        model = await update_voice_model(services, principal.account_id, model_id, changes)
    except VoiceModelRejected as error:
        return _rejected(error)
    return JSONResponse(_render(request, services, principal.account_id, model))


@router.delete(
    "/model/{model_id}",
    summary="Delete a voice model",
    responses={200: {"description": "Deleted; the body is empty (Fish documents none)."}},
)
async def delete_model(model_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    await delete_voice_model(services, principal.account_id, model_id)
    return Response(status_code=200)
