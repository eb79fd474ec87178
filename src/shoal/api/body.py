"""Reading request bodies: bounded in size, decoded by Content-Type (JSON, msgpack, forms)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgpack
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message

from shoal.errors import MalformedBody, MissingField, RequestTooLarge, UnsupportedEncoding

MSGPACK_TYPES = frozenset({"application/msgpack", "application/x-msgpack", "application/vnd.msgpack"})


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing more than ``limit`` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(int(declared), limit)
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise RequestTooLarge(size, limit)
        parts.append(part)
    return b"".join(parts)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as a mapping, from JSON (also when no Content-Type is given) or msgpack."""
    kind = media_type(request)
    raw = await read_body(request, limit)
    if not raw:
        raise MalformedBody("request body is empty; send a JSON or msgpack object")
    if kind in MSGPACK_TYPES:
        try:
            value = msgpack.unpackb(raw, raw=False, strict_map_key=False)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as error:
            raise MalformedBody(f"request body is not valid msgpack: {error}") from None
        encoding = "msgpack"
    elif kind in ("", "application/json", "text/json", "text/plain") or kind.endswith("+json"):
        try:
            value = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise MalformedBody(f"request body is not valid JSON: {error}") from None
        encoding = "JSON"
    else:
        raise UnsupportedEncoding(
            f"Content-Type {kind!r} is not supported here; send application/json or application/msgpack"
        )
    if not isinstance(value, dict):
        raise MalformedBody(
            f"request body must be a {encoding} object (a map of fields), not {type(value).__name__}"
        )
    return value


MULTIPART_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def _bounded(request: Request, limit: int) -> Request:
    """``request`` whose body stream fails past ``limit`` bytes (a chunked upload states no length)."""
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise RequestTooLarge(received, limit)
        return message

    return Request(request.scope, receive)


@asynccontextmanager
async def open_form(request: Request, limit: int) -> AsyncIterator[FormData]:
    """A multipart or urlencoded form, refusing bodies over ``limit`` bytes; closed on exit.

    Files are spooled (to disk past 1 MB) by the parser; ``upload_bytes`` reads one
    back with the same bound, and leaving the block deletes the spooled files.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(int(declared), limit)
    try:
        form = await _bounded(request, limit).form(max_files=32, max_fields=256)
    except (MultiPartException, ValueError, KeyError) as error:
        raise MalformedBody(f"the form could not be parsed: {error}") from None
    try:
        yield form
    finally:
        await form.close()


async def upload_bytes(value: UploadFile | str | None, *, field: str, limit: int) -> bytes:
    """The content of a form's file field, at most ``limit`` bytes."""
    if value is None:
        raise MissingField(field, f"the form has no {field!r} file; attach the audio as {field}=@file")
    if isinstance(value, str):
        raise MalformedBody(f"{field!r} must be a file upload, not a text field")
    data = await value.read(limit + 1)
    if len(data) > limit:
        raise RequestTooLarge(len(data), limit)
    return data
