"""Signed file links (storage/links.py): their shape, and that only untouched, unexpired ones verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from shoal.storage.blobs import BlobInfo, new_blob_id
from shoal.storage.links import FileLinks

SECRET = b"s" * 32


def blob(content_type: str = "audio/mpeg", seconds: float = 3600) -> BlobInfo:
    return BlobInfo(new_blob_id(), content_type, 1, None, datetime.now(UTC) + timedelta(seconds=seconds))


def parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path.rsplit("/", 1)[1].split(".")[0], query["expires"][0], query["sig"][0]


def test_a_link_verifies_on_any_replica_with_the_same_secret() -> None:
    info = blob()
    blob_id, expires, sig = parts(FileLinks(SECRET).url(info, "http://a.test"))
    assert blob_id == info.id
    assert int(expires) == int(info.expires_at.timestamp())
    assert FileLinks(SECRET).verify(blob_id, expires, sig)
    assert not FileLinks(b"t" * 32).verify(blob_id, expires, sig)


@pytest.mark.parametrize(
    ("content_type", "suffix"),
    [("audio/mpeg", ".mp3"), ("audio/ogg", ".opus"), ("audio/wav", ".wav"), ("application/json", "")],
)
def test_the_path_carries_the_extension_of_the_content_type(content_type: str, suffix: str) -> None:
    info = blob(content_type)
    assert FileLinks(SECRET).path(info).startswith(f"/v1/files/{info.id}{suffix}?expires=")


def test_public_url_is_the_base_when_set() -> None:
    info = blob()
    assert (
        FileLinks(SECRET, "https://speech.example.com/shoal/")
        .url(info, "http://internal:8080/")
        .startswith(f"https://speech.example.com/shoal/v1/files/{info.id}.mp3?")
    )
    assert FileLinks(SECRET).url(info, "http://internal:8080/").startswith("http://internal:8080/v1/files/")
    with pytest.raises(ValueError, match="public_url"):
        FileLinks(SECRET).url(info)


def test_tampering_or_expiry_fails_verification() -> None:
    links = FileLinks(SECRET)
    blob_id, expires, sig = parts(links.url(blob(), "http://a.test"))
    other = new_blob_id()
    assert not links.verify(other, expires, sig)
    assert not links.verify(blob_id, str(int(expires) + 1), sig)
    assert not links.verify(blob_id, expires, sig[:-1])
    assert not links.verify(blob_id, expires, sig + "A")
    assert not links.verify(blob_id, expires, "é" * 43)
    for bad in (None, "", "-5", "1e9", "9" * 13):
        assert not links.verify(blob_id, bad, sig)
    assert not links.verify(blob_id, expires, None)
    past_id, past_expires, past_sig = parts(links.url(blob(seconds=-1), "http://a.test"))
    assert not links.verify(past_id, past_expires, past_sig)
