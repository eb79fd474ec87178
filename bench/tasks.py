"""Asynchronous tasks benchmark: the queue's throughput on one node beside synchronous requests, and
callback latency beside a plain loopback POST, in one run.

Against one ``shoal serve`` (SQLite in its data dir, ``tasks.workers`` = 2):

* baseline: N short texts as synchronous ``POST /v1/tts``, 2 at a time (as many as the workers);
* tasks: the same N texts submitted with a ``callback_url`` as fast as 4 client threads can;
  tasks per minute from the first submission to the last task finished (``finished_at``) and to
  the last callback received. Both series run in alternating rounds (4 by default), summed;
* callback latency, from a task's ``finished_at`` (read from the database) to the callback's
  arrival at a receiver on loopback, p50/p95: during the drain above, and for tasks submitted
  one at a time on an idle server; beside a plain POST of a callback-sized body from this
  process to the same receiver (from send to arrival, a new connection each time, as Shoal's
  callbacks to this receiver get).

    python bench/tasks.py [--tasks 200] [--rounds 4] [--idle 20] [--format mp3]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from _server import BenchServer, percentile, running_server


class Receiver:
    """Records the wall-clock arrival of every POST (and its body) on 127.0.0.1; answers 200 at once."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                at = time.time()
                with receiver._arrived:
                    receiver.arrivals.append((at, body))
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 512
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 600) -> None:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.arrivals) >= count, timeout):
                raise RuntimeError(f"{len(self.arrivals)} of {count} callbacks arrived in {timeout:g} s")

    def take(self) -> list[tuple[float, bytes]]:
        with self._lock:
            taken, self.arrivals = self.arrivals, []
        return taken

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.close()


def finished_at(data_dir: str) -> dict[str, float]:
    """Each task's ``finished_at`` as a Unix time, at the database's full precision."""

    def unix(value: str) -> float:
        moment = datetime.fromisoformat(value)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    with sqlite3.connect(f"file:{Path(data_dir) / 'shoal.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id, finished_at FROM tasks WHERE finished_at IS NOT NULL").fetchall()
    return {task_id: unix(value) for task_id, value in rows}


def latencies(arrivals: list[tuple[float, bytes]], finished: dict[str, float]) -> list[float]:
    return [at - finished[json.loads(body)["task_id"]] for at, body in arrivals]


def synchronous(server: BenchServer, texts: list[str], audio_format: str) -> float:
    """Seconds for all ``texts`` as synchronous requests, 2 at a time."""

    def speak(client: httpx.Client, text: str) -> None:
        response = client.post("/v1/tts", json={"text": text, "format": audio_format})
        response.raise_for_status()

    with server.client() as client, ThreadPoolExecutor(max_workers=2) as pool:
        start = time.perf_counter()
        list(pool.map(lambda text: speak(client, text), texts))
        return time.perf_counter() - start


def submit(client: httpx.Client, text: str, audio_format: str, callback_url: str) -> str:
    response = client.post(
        "/v1/tts", json={"text": text, "format": audio_format, "callback_url": callback_url}
    )
    response.raise_for_status()
    task_id: str = response.json()["task_id"]
    return task_id


def as_tasks(
    server: BenchServer, receiver: Receiver, texts: list[str], audio_format: str
) -> tuple[float, float, list[float]]:
    """``texts`` as tasks: (seconds to the last finish, to the last callback; callback latencies)."""
    receiver.take()
    with server.client() as client, ThreadPoolExecutor(max_workers=4) as pool:
        start = time.time()
        ids = list(pool.map(lambda text: submit(client, text, audio_format, receiver.url), texts))
        receiver.wait_for(len(ids))
    arrivals = receiver.take()
    finished = finished_at(server.data_dir)
    last_finish = max(finished[task_id] for task_id in ids)
    return last_finish - start, max(at for at, _ in arrivals) - start, latencies(arrivals, finished)


def one_at_a_time(server: BenchServer, receiver: Receiver, count: int, audio_format: str) -> list[float]:
    """Callback latencies for ``count`` tasks, each submitted once the previous one's callback came."""
    receiver.take()
    with server.client() as client:
        for n in range(count):
            submit(client, f"Idle task number {n}.", audio_format, receiver.url)
            receiver.wait_for(n + 1)
            time.sleep(0.1)  # idle: the deliverer is waiting, not finishing the last batch
    return latencies(receiver.take(), finished_at(server.data_dir))


def plain_posts(receiver: Receiver, count: int) -> list[float]:
    """Send-to-arrival of a callback-sized POST from this process, a new connection each time."""
    body = json.dumps(
        {"type": "task.succeeded", "timestamp": "2026-01-01T00:00:00.000Z", "task_id": "0" * 32,
         "status": "succeeded", "audio_url": "http://127.0.0.1:8000/v1/files/" + "x" * 120, "format": "mp3",
         "duration": 1.5, "usage": {"utf8_bytes": 22}, "cost": 0.00033}
    ).encode()  # fmt: skip
    receiver.take()
    sent: list[float] = []
    for _ in range(count):
        with httpx.Client(timeout=30) as client:
            sent.append(time.time())
            client.post(receiver.url, content=body, headers={"content-type": "application/json"})
    return [at - start for (at, _), start in zip(receiver.take(), sent, strict=True)]


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200, help="short texts in each series (default 200)")
    parser.add_argument("--idle", type=int, default=20, help="tasks sent one at a time (default 20)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds the texts are split into")
    parser.add_argument("--format", default="mp3", choices=["mp3", "wav", "opus", "pcm"])
    args = parser.parse_args()
    texts = [f"Short task number {n}." for n in range(args.tasks)]

    env = {"SHOAL_TASKS__CALLBACK_ALLOW_NETWORKS": '["127.0.0.0/8"]', "SHOAL_STT__PRELOAD": "false"}
    with running_server(**env) as server, receiving() as receiver:
        synchronous(server, [f"Warm-up {n}." for n in range(4)], args.format)
        as_tasks(server, receiver, [f"Warm-up task {n}." for n in range(4)], args.format)
        plain = plain_posts(receiver, 5)

        # In rounds, alternating, so the machine's drift touches both series alike.
        sync_seconds = to_finish = to_callback = 0.0
        loaded: list[float] = []
        for chunk in (texts[start :: args.rounds] for start in range(args.rounds)):
            sync_seconds += synchronous(server, chunk, args.format)
            finish, callback, latency = as_tasks(server, receiver, chunk, args.format)
            to_finish, to_callback = to_finish + finish, to_callback + callback
            loaded += latency
        idle = one_at_a_time(server, receiver, args.idle, args.format)
        plain = plain_posts(receiver, args.tasks)

    n = args.tasks
    sync_rate = n / sync_seconds * 60
    print(f"Shoal tasks benchmark — {n} short texts ({min(map(len, texts))}-{max(map(len, texts))} "
          f"characters, {args.format}) in {args.rounds} rounds, one node, SQLite, 2 workers; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print()
    print(
        f"baseline: synchronous POST /v1/tts, 2 at a time: {sync_seconds:.1f} s, {sync_rate:.0f} requests/min"
    )
    for label, seconds in (("to the last finish", to_finish), ("to the last callback", to_callback)):
        rate = n / seconds * 60
        print(f"tasks, {label + ':':<22}{seconds:>6.1f} s, {rate:>5.0f} tasks/min  "
              f"({rate / sync_rate:.2f}x the baseline)")  # fmt: skip
    print()
    print("callback latency, finished_at to arrival at a loopback receiver:")
    base50, base95 = percentile(plain, 50), percentile(plain, 95)
    print(f"  baseline: plain POST from this process, send to arrival ({len(plain)}): "
          f"p50 {ms(plain, 50)}, p95 {ms(plain, 95)}")  # fmt: skip
    for label, values in (
        (f"during the {n}-task drain", loaded),
        (f"idle, one at a time ({len(idle)})", idle),
    ):
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"  {label:<34} p50 {ms(values, 50)} ({p50 / base50:.1f}x), "
              f"p95 {ms(values, 95)} ({p95 / base95:.1f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
