"""Verified keys kept for a few seconds, so a request costs no database read to authenticate."""

from __future__ import annotations

import time

from shoal.auth.keys import ApiKey


class KeyCache:
    """Keys by secret hash, each for ``seconds``. Only keys that exist are kept (misses are not)."""

    def __init__(self, seconds: float, max_entries: int = 10_000) -> None:
        self._seconds = seconds
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, ApiKey]] = {}

    def get(self, secret_hash: str) -> ApiKey | None:
        entry = self._entries.get(secret_hash)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[secret_hash]
            return None
        return entry[1]

    def put(self, secret_hash: str, key: ApiKey) -> None:
        if self._seconds <= 0:
            return
        if len(self._entries) >= self._max_entries:
            self._entries.clear()  # rare: a cold start for everyone beats unbounded memory
        self._entries[secret_hash] = (time.monotonic() + self._seconds, key)

    def forget(self, key_id: str) -> None:
        """Drop a key whose settings changed, so this replica applies the change at once."""
        for secret_hash in [digest for digest, (_, key) in self._entries.items() if key.id == key_id]:
            del self._entries[secret_hash]
