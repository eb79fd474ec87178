"""Reading request bodies: bounded in size, decoded by Content-Type (JSON or msgpack)."""

from __future__ import annotations

import json
from typing import Any

import msgpack
from starlette.requests import Request

from shoal.errors import MalformedBody, RequestTooLarge, UnsupportedEncoding

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
