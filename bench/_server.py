"""A throwaway ``shoal serve`` for benchmarks: its own data dir, a key, a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SHOAL = str(Path(sys.executable).with_name("shoal"))


@dataclass
class BenchServer:
    base_url: str
    key: str
    pid: int
    data_dir: str

    def client(self, timeout: float = 600) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {self.key}"}, timeout=timeout
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(**env_overrides: str) -> Iterator[BenchServer]:
    data_dir = Path(tempfile.mkdtemp(prefix="shoal-bench-"))
    env = {**os.environ, "SHOAL_DATA_DIR": str(data_dir), **env_overrides}
    created = subprocess.run(
        [SHOAL, "keys", "create", "--name", "bench"], env=env, capture_output=True, text=True, check=True
    )
    key = created.stdout.strip().splitlines()[-1]
    port = _free_port()
    process = subprocess.Popen(
        [SHOAL, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("the server did not become healthy")
        yield BenchServer(base_url, key, process.pid, str(data_dir))
    finally:
        process.terminate()
        process.wait(timeout=60)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
