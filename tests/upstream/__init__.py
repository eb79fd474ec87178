"""A fake third-party OpenAI-compatible LLM (``openai_upstream``), run as its own process by the tests."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent.parent


@dataclass
class FakeUpstream:
    """A running ``python -m tests.upstream.openai_upstream`` and a way to read what it saw."""

    port: int
    process: subprocess.Popen[str]
    log_path: Path

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    @classmethod
    def start(cls, port: int, log_path: Path, *args: str) -> FakeUpstream:
        with log_path.open("w") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.upstream.openai_upstream", "--port", str(port), *args],
                stdout=sink, stderr=subprocess.STDOUT, text=True, cwd=REPO,
            )  # fmt: skip
        upstream = cls(port, process, log_path)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"fake upstream exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{upstream.root}/_health", timeout=1).status_code == 200:
                    return upstream
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        process.kill()
        raise AssertionError(f"fake upstream did not start:\n{log_path.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> dict[str, Any]:
        response = httpx.get(f"{self.root}/_log", timeout=5)
        response.raise_for_status()
        return dict(response.json())

    def clear(self) -> None:
        httpx.delete(f"{self.root}/_log", timeout=5).raise_for_status()

    def fail_all(self, on: bool) -> None:
        httpx.post(f"{self.root}/_mode", json={"fail_all": on}, timeout=5).raise_for_status()

    def requests_with(self, marker: str) -> list[dict[str, Any]]:
        """Recorded chat requests whose body mentions ``marker`` (tests put a unique one in a message)."""
        return [entry for entry in self.log()["requests"] if marker in repr(entry["body"])]

    def request_with(self, marker: str) -> dict[str, Any]:
        found = self.requests_with(marker)
        assert len(found) == 1, f"expected one upstream request carrying {marker!r}, got {len(found)}"
        return found[0]

    def disconnect_of(self, marker: str, timeout: float = 5.0) -> dict[str, Any] | None:
        """The recorded client disconnect of the request carrying ``marker``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            numbers = {entry["n"] for entry in log["requests"] if marker in repr(entry["body"])}
            for entry in log["disconnects"]:
                if entry["n"] in numbers:
                    return dict(entry)
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)
