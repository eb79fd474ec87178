"""Signed, expiring links to stored blobs: ``/v1/files/<id>.<ext>?expires=<unix>&sig=<hmac>``.

The link is the capability (no API key): the signature is HMAC-SHA256 over the id and the
expiry with a secret all replicas share (kept in the database), so any replica can check
a link any other made, and nobody can extend or forge one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from urllib.parse import urlencode

from shoal.audio.types import CONTENT_TYPES
from shoal.storage.blobs import BlobInfo
from shoal.storage.db.database import Database
from shoal.storage.secrets import server_secret

FILES_PATH = "/v1/files/"
_SECRET_NAME = "file-links"
_EXTENSIONS = {content_type: f".{fmt}" for fmt, content_type in CONTENT_TYPES.items()}
"""By content type; the extension is for players and downloads, the signature ignores it."""


def file_name(info: BlobInfo) -> str:
    """The blob's id with the extension its content type has (``.mp3`` …), if any."""
    return info.id + _EXTENSIONS.get(info.content_type, "")


class FileLinks:
    def __init__(self, secret: bytes, public_url: str | None = None) -> None:
        self._secret = secret
        self._public_url = public_url.rstrip("/") if public_url else None

    def _signature(self, blob_id: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"{blob_id}.{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def path(self, info: BlobInfo) -> str:
        """The signed path of ``info``'s blob, valid until the blob expires."""
        expires = math.floor(info.expires_at.timestamp())
        query = urlencode({"expires": expires, "sig": self._signature(info.id, expires)})
        return f"{FILES_PATH}{file_name(info)}?{query}"

    def url(self, info: BlobInfo, base_url: str | None = None) -> str:
        """The absolute link: on ``server.public_url`` when configured, else on ``base_url``."""
        base = self._public_url or (base_url.rstrip("/") if base_url else None)
        if base is None:
            raise ValueError("no base URL for file links: set server.public_url")
        return base + self.path(info)

    def verify(self, blob_id: str, expires: str | None, signature: str | None) -> bool:
        """Whether the link was made here and has not expired."""
        if expires is None or signature is None or not expires.isdigit() or len(expires) > 12:
            return False
        deadline = int(expires)
        if deadline <= time.time():
            return False
        # As bytes: compare_digest refuses str with non-ASCII characters, which a forged link may carry.
        return hmac.compare_digest(self._signature(blob_id, deadline).encode(), signature.encode())


async def open_file_links(db: Database, public_url: str | None) -> FileLinks:
    return FileLinks(await server_secret(db, _SECRET_NAME), public_url)
