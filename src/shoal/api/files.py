"""``GET /v1/files/{blob}``: stored results behind signed, expiring links. No API key: the link is the
capability. Every refusal (bad or expired signature, unknown or expired blob) is the same 404, so a
link reveals nothing about blobs it does not grant.
"""

from __future__ import annotations

import math
import time

from fastapi import APIRouter
from starlette.responses import Response

from shoal.api.deps import ServicesDep
from shoal.errors import NotFound
from shoal.storage.links import file_name

router = APIRouter(tags=["Files"])

_NOT_FOUND = "not found: this file link is unknown, malformed or expired"


@router.head("/v1/files/{name}", include_in_schema=False)  # players probe before fetching
@router.get(
    "/v1/files/{name}",
    summary="Download a stored result",
    responses={200: {"content": {"audio/*": {}}, "description": "The stored bytes."}},
)
async def download(
    name: str, services: ServicesDep, expires: str | None = None, sig: str | None = None
) -> Response:
    blob_id = name.split(".", 1)[0]  # the extension is for players and downloads; not signed
    if not services.file_links.verify(blob_id, expires, sig):
        raise NotFound(_NOT_FOUND)
    blob = await services.blobs.get(blob_id)
    if blob is None:
        raise NotFound(_NOT_FOUND)
    # The link may outlive nothing: caches keep the bytes no longer than the link is valid.
    max_age = max(0, math.floor(min(blob.info.expires_at.timestamp(), float(expires or 0)) - time.time()))
    return Response(
        blob.data,
        media_type=blob.info.content_type,
        headers={
            "Cache-Control": f"private, max-age={max_age}",
            "Content-Disposition": f'inline; filename="{file_name(blob.info)}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
