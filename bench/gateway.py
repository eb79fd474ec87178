"""The gateway's cost: chat completions through Shoal and through LiteLLM's proxy, beside the upstream alone.

In one run, against one fake OpenAI-compatible upstream (``bench/_upstream.py``, its own process,
measured alone in the same run to show it is never the bottleneck):

* **direct** to the upstream;
* **Shoal** (``shoal serve``, SQLite): a chat model routed to the upstream, called with a key on a
  prepaid account holding a large balance and a plan with a large rate and concurrency limit — so
  authentication, limits and credits all run on every request;
* **LiteLLM**'s proxy (``litellm[proxy]``, installed on first run into ``bench/.venv-litellm`` and
  reused): the same model and upstream, the master key, the deployment's own ``rpm`` limit with
  pre-call checks, a price per token; no database, so no virtual keys and no enforced budget.

It prints sequential latency p50/p99 (non-streamed, interleaved so drift hits all three) and what
each gateway adds to the direct figure; requests per second at ``--connections`` from ``wrk`` with a
Lua script posting the body (streamed too), and the server's CPU time per request; streamed time to
the first ``data:`` event. Then the time to the first audio byte of ``POST /v1/audio/speech``
through a two-Shoal chain (Shoal A's ``s2-pro`` routed to Shoal B as a Fish upstream) versus Shoal B
directly. Targets: Shoal adds ≤ 2 ms at p50, serves ≥ 2x LiteLLM's requests per second, and the
chain adds ≤ 5 ms to the first audio byte.

    python bench/gateway.py [--requests 300] [--seconds 10] [--connections 64] [--repeats 3]
                            [--upstream-delay-ms 0] [--skip-litellm] [--skip-speech]

``--upstream-delay-ms`` makes the upstream wait before each answer, as a real model does, so many
requests are in flight at once (with ``--connections 256``, say): what a gateway's upstream client
pool costs then does not show with an upstream that answers in microseconds.

Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]

from _server import SHOAL, _free_port, percentile

BENCH = Path(__file__).resolve().parent
LITELLM_VENV = BENCH / ".venv-litellm"
MODEL = "bench-chat"
UPSTREAM_MODEL = "upstream-model"
UPSTREAM_KEY = "sk-upstream-bench"
LITELLM_MASTER_KEY = "sk-bench-master-0123456789"
MESSAGES = [{"role": "user", "content": "Say hello."}]
PRICE_IN, PRICE_OUT = 0.5, 1.5  # credits (US dollars) per million tokens, the same in both gateways
SPEECH_TEXT = "Hello there."
LOG_PROBLEM = re.compile(r"\b(ERROR|CRITICAL)\b")


def chat_body(model: str, stream: bool = False) -> bytes:
    body: dict[str, object] = {"model": model, "messages": MESSAGES, "max_tokens": 16}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class Target:
    """Something that answers ``POST {path}`` for chat completions."""

    name: str
    port: int
    path: str
    key: str
    model: str
    pid: int
    log: Path | None = None
    log_start: int = 0
    """Bytes of the log written before the measurement (its start-up and the wrong-key check)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


# ---- processes --------------------------------------------------------------------------------


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path | None, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-3000:] if log else ""
            raise RuntimeError(f"{url}: the server exited ({process.returncode})\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready in {seconds:.0f} s")


@contextmanager
def _process(
    args: list[str], ready_url: str, log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server in its own process group (LiteLLM forks workers), stopped with its children at exit."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            args, stdout=sink, stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True
        )
    try:
        _wait_ready(ready_url, process, log)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def upstream(workdir: Path, delay_ms: float = 0.0) -> Iterator[Target]:
    port = _free_port()
    args = [sys.executable, str(BENCH / "_upstream.py"), "--port", str(port), "--delay-ms", str(delay_ms)]
    with _process(args, f"http://127.0.0.1:{port}/v1/models", workdir / "upstream.log") as process:
        yield Target("direct", port, "/v1/chat/completions", UPSTREAM_KEY, UPSTREAM_MODEL, process.pid)


def _shoal(data_dir: Path, config: Path, *args: str) -> str:
    """Run a ``shoal`` command; its last line of output (an id or a secret)."""
    done = subprocess.run(
        [SHOAL, *args, "--data-dir", str(data_dir), "--config", str(config)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


BENCH_PLAN = """
[billing.plans.bench]
requests_per_minute = 1000000000
concurrent_requests = 100000
"""


@contextmanager
def shoal_server(workdir: Path, name: str, config_text: str) -> Iterator[tuple[int, str, int, Path]]:
    """``shoal serve`` with ``config_text``, and a key on a prepaid account (a billion credits) on the
    ``bench`` plan (a billion requests a minute): (port, key, pid, log)."""
    data_dir = workdir / name
    data_dir.mkdir()
    config = data_dir / "shoal.toml"
    config.write_text('bootstrap_key = "never"\n' + config_text + BENCH_PLAN)
    account = _shoal(data_dir, config, "accounts", "create", "bench", "--credits", "1000000000")
    key = _shoal(
        data_dir, config, "keys", "create", "--name", "bench", "--account", account, "--plan", "bench"
    )
    port = _free_port()
    log = data_dir / "server.log"
    args = [SHOAL, "serve", "--port", str(port), "--data-dir", str(data_dir), "--config", str(config)]
    with _process(args, f"http://127.0.0.1:{port}/health", log) as process:
        yield port, key, process.pid, log


@contextmanager
def shoal_chat(workdir: Path, upstream_port: int) -> Iterator[Target]:
    config = f"""
[stt]
preload = false

[upstreams.llm]
kind = "openai"
base_url = "http://127.0.0.1:{upstream_port}/v1"
api_key = "{UPSTREAM_KEY}"

[chat.models."{MODEL}"]
deployments = [{{upstream = "llm", model = "{UPSTREAM_MODEL}"}}]

[billing.prices."{MODEL}"]
per_million_input_tokens = {PRICE_IN}
per_million_output_tokens = {PRICE_OUT}
"""
    with shoal_server(workdir, "shoal-chat", config) as (port, key, pid, log):
        yield Target("Shoal", port, "/v1/chat/completions", key, MODEL, pid, log)


def litellm_python() -> tuple[Path, str]:
    """The LiteLLM venv's interpreter (created and installed on first use) and LiteLLM's version."""
    python = LITELLM_VENV / "bin" / "python"
    version = [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"]
    if not (python.exists() and subprocess.run(version, capture_output=True).returncode == 0):
        print(f"installing litellm[proxy] into {LITELLM_VENV} (once) …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(LITELLM_VENV)], check=True)
        # httptools: uvicorn's fast HTTP parser, which Shoal runs on too (uvicorn[standard] brings it).
        subprocess.run([str(python), "-m", "pip", "install", "-q", "litellm[proxy]", "httptools"], check=True)
    return python, subprocess.run(version, capture_output=True, text=True, check=True).stdout.strip()


@contextmanager
def litellm_proxy(workdir: Path, upstream_port: int) -> Iterator[Target]:
    python, _ = litellm_python()
    home = workdir / "litellm"
    home.mkdir()
    # No database: auth is the master key only (virtual keys, per-key budgets and spend need Postgres).
    # Limits: the deployment's rpm, checked before each call. Credits: a price per token, so each
    # response's cost is computed (and a zero-cost diagnostic pass is skipped), but nothing holds a balance.
    (home / "config.yaml").write_text(
        f"""model_list:
  - model_name: {MODEL}
    litellm_params:
      model: openai/{UPSTREAM_MODEL}
      api_base: http://127.0.0.1:{upstream_port}/v1
      api_key: {UPSTREAM_KEY}
      rpm: 1000000000
      input_cost_per_token: {PRICE_IN / 1e6:.10f}
      output_cost_per_token: {PRICE_OUT / 1e6:.10f}
router_settings:
  enable_pre_call_checks: true
general_settings:
  master_key: {LITELLM_MASTER_KEY}
litellm_settings:
  telemetry: false
"""
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DIRECT_URL")}
    env |= {
        "LITELLM_TELEMETRY": "False", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
        "LITELLM_MODE": "PRODUCTION",  # read no .env file found above the working directory
    }  # fmt: skip
    port = _free_port()
    workers = str(os.cpu_count() or 1)  # LiteLLM's docs: as many workers as cores
    args = [str(python), "-m", "litellm.proxy.proxy_cli", "--config", "config.yaml", "--host", "127.0.0.1",
            "--port", str(port), "--num_workers", workers]  # fmt: skip
    log = home / "proxy.log"
    with _process(args, f"http://127.0.0.1:{port}/health/liveliness", log, cwd=home, env=env) as process:
        yield Target("LiteLLM", port, "/v1/chat/completions", LITELLM_MASTER_KEY, MODEL, process.pid, log)


# ---- measuring --------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection (stdlib http.client: tens of µs a request, alike for all)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
        self.headers = {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json"}
        self.to_headers = 0.0
        """Seconds to the response's status line and headers, in the last ``time_to_event``."""

    def post(self, body: bytes, path: str | None = None) -> tuple[int, dict[str, str], bytes]:
        self.connection.request("POST", path or self.target.path, body, self.headers)
        response = self.connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()

    def time_to_event(self, body: bytes, marker: bytes = b"data:", path: str | None = None) -> float:
        """Seconds from sending the request to the first body bytes holding ``marker`` (b"" = any byte)."""
        started = time.perf_counter()
        self.connection.request("POST", path or self.target.path, body, self.headers)
        response = self.connection.getresponse()
        self.to_headers = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"{self.target.name}: {response.status} {response.read()[:300]!r}")
        seen = b""
        while True:
            piece = response.read1(65536)
            if not piece:
                raise RuntimeError(f"{self.target.name}: the stream ended before {marker!r}")
            seen += piece
            if marker in seen:
                elapsed = time.perf_counter() - started
                break
        response.read()
        return elapsed

    def close(self) -> None:
        self.connection.close()


def interleaved(
    targets: list[Target], runs: int, warmup: int, one: Callable[[Client], float]
) -> dict[str, list[float]]:
    """``one`` timed ``runs`` times per target, round-robin with the order rotated every round."""
    clients = [Client(target) for target in targets]
    timings: dict[str, list[float]] = {target.name: [] for target in targets}
    try:
        for round_ in range(warmup + runs):
            shift = round_ % len(clients)
            for client in clients[shift:] + clients[:shift]:
                elapsed = one(client)
                if round_ >= warmup:
                    timings[client.target.name].append(elapsed)
    finally:
        for client in clients:
            client.close()
    return timings


def timed_completion(client: Client) -> float:
    body = chat_body(client.target.model)
    started = time.perf_counter()
    status, _, payload = client.post(body)
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"{client.target.name}: {status} {payload[:300]!r}")
    return elapsed


def stream_first_event(client: Client) -> float:
    return client.time_to_event(chat_body(client.target.model, stream=True))


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (LiteLLM's workers)."""
    process = psutil.Process(pid)
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    errors: list[str] = field(default_factory=list)
    spread: str = ""
    """Lowest-highest requests per second over the repeats."""


def _wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if match is None:
        return float("nan")
    return float(match[1]) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[match[2]]


def wrk(target: Target, body: bytes, seconds: float, connections: int, workdir: Path) -> Load:
    script = workdir / f"wrk-{target.name}-{len(body)}.lua"
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = [[{body.decode()}]]\n'
        f'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {target.key}"\n'
    )
    cpu_before = tree_cpu_seconds(target.pid)
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "--latency",
         "-s", str(script), target.url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    cpu = tree_cpu_seconds(target.pid) - cpu_before
    out = result.stdout
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    errors = [line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    return Load(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
        p50_ms=_wrk_ms(out, "50%"),
        p99_ms=_wrk_ms(out, "99%"),
        cpu_ms_per_request=cpu / max(requests, 1) * 1000,
        errors=errors,
    )


def median_load(loads: list[Load]) -> Load:
    """The run with the median requests per second (its latencies), the median CPU time, the range."""
    ordered = sorted(loads, key=lambda load: load.rps)
    middle = ordered[len(ordered) // 2]
    cpu = sorted(load.cpu_ms_per_request for load in loads)[len(loads) // 2]
    return Load(
        middle.rps, middle.p50_ms, middle.p99_ms, cpu, [error for load in loads for error in load.errors],
        f"{ordered[0].rps:.0f}-{ordered[-1].rps:.0f}",
    )  # fmt: skip


# ---- checks -----------------------------------------------------------------------------------


def check_target(target: Target) -> dict[str, str]:
    """One completion answers 200 with the upstream's text; a wrong key is refused. The response's headers."""
    client = Client(target)
    try:
        status, headers, payload = client.post(chat_body(target.model))
        if status != 200 or json.loads(payload)["choices"][0]["message"]["content"] != "Hello there!":
            raise RuntimeError(f"{target.name}: unexpected answer {status} {payload[:300]!r}")
        if target.name != "direct":
            client.headers["Authorization"] = "Bearer sk-not-a-key"
            refused, _, _ = client.post(chat_body(target.model))
            if refused == 200:
                raise RuntimeError(f"{target.name} accepted a wrong key: authentication is off")
            headers["refused-wrong-key"] = str(refused)
        return {name.lower(): value for name, value in headers.items()}
    finally:
        client.close()


def log_problems(target: Target) -> list[str]:
    """What the target logged as errors since the measurement started: error lines, and for each
    traceback the exception it ends with."""
    if target.log is None or not target.log.exists():
        return []
    with target.log.open("rb") as log:
        log.seek(target.log_start)
        lines = log.read().decode(errors="replace").splitlines()
    found = []
    in_traceback = False
    for line in lines:
        if line.startswith("Traceback"):
            in_traceback = True
        elif in_traceback and line and not line[0].isspace():
            found.append(f"{target.name}: {line}")
            in_traceback = False
        elif LOG_PROBLEM.search(line):
            found.append(f"{target.name}: {line}")
    return found


def mark_log(target: Target) -> None:
    if target.log is not None and target.log.exists():
        target.log_start = target.log.stat().st_size


# ---- speech through two Shoals ----------------------------------------------------------------


Timings = dict[str, list[float]]


def speech_chain(workdir: Path, runs: int, warmup: int) -> tuple[Timings, Timings, list[str]]:
    """Times to the first audio byte and to the response headers, Shoal B directly and Shoal A → B;
    and problems in their logs. The headers leave A only once B's have arrived, after both have
    billed and before synthesis: they show the hop without the synthesis time's noise."""
    body = json.dumps(
        {"model": "s2-pro", "input": SPEECH_TEXT, "voice": "alloy", "response_format": "pcm"}
    ).encode()
    path = "/v1/audio/speech"
    with ExitStack() as stack:
        b_port, b_key, b_pid, b_log = stack.enter_context(
            shoal_server(workdir, "shoal-b", "[stt]\npreload = false\n")
        )
        chain = f"""
[stt]
preload = false

[upstreams.b]
kind = "fish"
base_url = "http://127.0.0.1:{b_port}"
api_key = "{b_key}"

[tts.models.s2-pro]
deployments = [{{upstream = "b", model = "s2-pro"}}]
"""
        a_port, a_key, a_pid, a_log = stack.enter_context(shoal_server(workdir, "shoal-a", chain))
        targets = [
            Target("Shoal B", b_port, path, b_key, "s2-pro", b_pid, b_log),
            Target("Shoal A → B", a_port, path, a_key, "s2-pro", a_pid, a_log),
        ]
        headers: Timings = {target.name: [] for target in targets}

        def first_byte(client: Client) -> float:
            elapsed = client.time_to_event(body, marker=b"")
            headers[client.target.name].append(client.to_headers)
            return elapsed

        timings = interleaved(targets, runs, warmup, first_byte)
        headers = {name: values[warmup:] for name, values in headers.items()}
        problems = [line for target in targets for line in log_problems(target)]
    return timings, headers, problems


# ---- report -----------------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return seconds * 1000


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        print("  " + "  ".join(cells))
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))


def ratio(shoal: float, litellm: float, lower_is_better: bool) -> str:
    if not litellm or not shoal or shoal != shoal or litellm != litellm:
        return ""
    value = litellm / shoal if lower_is_better else shoal / litellm
    return f"{value:.1f}x" + (" less" if lower_is_better else "")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=300, help="sequential requests per target (each measure)"
    )
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=64, help="wrk's concurrency")
    parser.add_argument(
        "--repeats", type=int, default=3, help="wrk runs per target, alternated; the median is shown"
    )
    parser.add_argument("--speech-requests", type=int, default=100)
    parser.add_argument(
        "--upstream-delay-ms", type=float, default=0.0,
        help="the upstream waits this long before each answer, as a real model does: more requests in flight",
    )  # fmt: skip
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument("--skip-speech", action="store_true")
    return parser.parse_args()


@dataclass
class ChatResults:
    names: list[str]
    latency: Timings
    first_event: Timings
    load: dict[str, Load]
    stream_load: dict[str, Load]
    balance_before: str
    balance_after: str
    problems: list[str]


def describe(targets: list[Target], args: argparse.Namespace, litellm_version: str) -> str:
    """What ran, and the proof that each gateway authenticates and bills."""
    headers = {target.name: check_target(target) for target in targets}
    lines = [
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start; "
        f"upstream: bench/_upstream.py (one process), answering after {args.upstream_delay_ms:g} ms",
        "Shoal: one process, SQLite, key on a prepaid account + plan 'bench' (rate and concurrency "
        f"limits), price {PRICE_IN}/{PRICE_OUT} per M tokens; "
        f"wrong key -> {headers['Shoal']['refused-wrong-key']}; "
        f"cost header {headers['Shoal'].get('x-shoal-cost', 'MISSING')}",
    ]
    if "LiteLLM" in headers:
        lines.append(
            f"LiteLLM {litellm_version}, {os.cpu_count()} workers, no database: master key auth "
            f"(wrong key -> {headers['LiteLLM']['refused-wrong-key']}; virtual keys need Postgres), "
            f"deployment rpm limit with pre-call checks, price per token "
            f"(cost header {headers['LiteLLM'].get('x-litellm-response-cost', 'MISSING')}); "
            "no balance or budget is enforced without a database"
        )
    return "\n".join(lines)


def measure_chat(args: argparse.Namespace, workdir: Path) -> ChatResults:
    with ExitStack() as stack:
        direct = stack.enter_context(upstream(workdir, args.upstream_delay_ms))
        shoal = stack.enter_context(shoal_chat(workdir, direct.port))
        targets = [direct, shoal]
        litellm_version = ""
        if not args.skip_litellm:
            _, litellm_version = litellm_python()
            targets.append(stack.enter_context(litellm_proxy(workdir, direct.port)))
        names = [target.name for target in targets]
        print(describe(targets, args, litellm_version) + "\n", flush=True)
        balance_before = check_target(shoal).get("x-shoal-balance", "?")
        for target in targets:
            mark_log(target)

        print(f"sequential: {args.requests} non-streamed requests per target after {args.warmup} warm-up …")
        latency = interleaved(targets, args.requests, args.warmup, timed_completion)
        print(f"streamed: {args.requests} requests per target, time to the first data event …")
        first_event = interleaved(targets, args.requests, args.warmup, stream_first_event)

        loads: dict[str, list[Load]] = {name: [] for name in names}
        stream_loads: dict[str, list[Load]] = {name: [] for name in names}
        print(f"wrk: {args.connections} connections, {args.seconds:g} s a run, {args.repeats} repeat(s) …")
        for repeat in range(args.repeats):
            shift = repeat % len(targets)  # alternated, so the machine's drift hits every target
            for stream, runs in ((False, loads), (True, stream_loads)):
                for target in targets[shift:] + targets[:shift]:
                    body = chat_body(target.model, stream=stream)
                    runs[target.name].append(wrk(target, body, args.seconds, args.connections, workdir))
        load = {name: median_load(runs) for name, runs in loads.items()}
        stream_load = {name: median_load(runs) for name, runs in stream_loads.items()}

        balance_after = check_target(shoal).get("x-shoal-balance", "?")
        problems = [line for target in targets for line in log_problems(target)]
        problems += [
            f"{name} under load: {error}"
            for name in names
            for error in load[name].errors + stream_load[name].errors
        ]
    return ChatResults(
        names, latency, first_event, load, stream_load, balance_before, balance_after, problems
    )


def print_chat(results: ChatResults, args: argparse.Namespace) -> None:
    names, load, stream_load = results.names, results.load, results.stream_load
    versus = "LiteLLM" in names
    print("\nChat completions (model bench-chat, 12 prompt + 3 completion tokens), one upstream:\n")
    p = {n: (ms(percentile(results.latency[n], 50)), ms(percentile(results.latency[n], 99))) for n in names}
    t = {
        n: (ms(percentile(results.first_event[n], 50)), ms(percentile(results.first_event[n], 99)))
        for n in names
    }

    def row(
        label: str, values: dict[str, float], fmt: str, lower: bool | None, skip_direct: bool = False
    ) -> tuple[str, ...]:
        cells = ["" if skip_direct and name == "direct" else format(values[name], fmt) for name in names]
        extra = (ratio(values["Shoal"], values["LiteLLM"], lower) if lower is not None else "",)
        return (label, *cells, *(extra if versus else ()))

    def spread_row(loads: dict[str, Load]) -> list[tuple[str, ...]]:
        if args.repeats < 2:
            return []
        return [("  range over the repeats", *(loads[n].spread for n in names), *(("",) if versus else ()))]

    added50 = {name: p[name][0] - p["direct"][0] for name in names}
    added99 = {name: p[name][1] - p["direct"][1] for name in names}
    stream_added50 = {name: t[name][0] - t["direct"][0] for name in names}
    c = args.connections
    print_table([
        ("", *names, *(("Shoal vs LiteLLM",) if versus else ())),
        row("latency p50, ms (sequential)", {n: p[n][0] for n in names}, ".2f", True),
        row("latency p99, ms", {n: p[n][1] for n in names}, ".2f", True),
        row("added p50, ms (through - direct)", added50, ".2f", True, skip_direct=True),
        row("added p99, ms", added99, ".2f", True, skip_direct=True),
        row(f"throughput, req/s (c={c})", {n: load[n].rps for n in names}, ".0f", False),
        *spread_row(load),
        row("  wrk latency p50, ms", {n: load[n].p50_ms for n in names}, ".1f", True),
        row("  wrk latency p99, ms", {n: load[n].p99_ms for n in names}, ".1f", True),
        row("  server CPU per request, ms", {n: load[n].cpu_ms_per_request for n in names}, ".2f", True),
        row("streamed first event p50, ms", {n: t[n][0] for n in names}, ".2f", True),
        row("streamed first event p99, ms", {n: t[n][1] for n in names}, ".2f", True),
        row("streamed added p50, ms", stream_added50, ".2f", True, skip_direct=True),
        row(f"streamed throughput, req/s (c={c})", {n: stream_load[n].rps for n in names}, ".0f", False),
        *spread_row(stream_load),
    ])  # fmt: skip
    print()
    fastest_gateway = max(load[name].rps for name in names if name != "direct")
    headroom = load["direct"].rps / fastest_gateway
    print(
        f"upstream alone: {load['direct'].rps:.0f} req/s = {headroom:.0f}x the fastest gateway, "
        f"p50 {p['direct'][0]:.2f} ms: "
        + ("not the bottleneck" if headroom >= 10 else "TOO SLOW to tell gateways apart")
    )
    verdict = "met" if added50["Shoal"] <= 2.0 else "MISSED"
    print(f"target: Shoal adds <= 2 ms at p50: {added50['Shoal']:.2f} ms, {verdict}")
    if versus:
        times = load["Shoal"].rps / load["LiteLLM"].rps
        print(
            f"target: Shoal's throughput >= 2x LiteLLM's: {times:.2f}x, {'met' if times >= 2 else 'MISSED'}"
        )
    print(f"Shoal's balance: {results.balance_before} -> {results.balance_after} (every request billed)")


def measure_and_print_speech(args: argparse.Namespace, workdir: Path) -> list[str]:
    """The two-Shoal chain's table; the problems in its servers' logs."""
    print(
        f"\nTime to the first audio byte (and to the headers), ms, POST /v1/audio/speech "
        f"{SPEECH_TEXT!r} (pcm), {args.speech_requests} requests each:\n"
    )
    try:
        first, headers, problems = speech_chain(workdir, args.speech_requests, min(args.warmup, 10))
    except (RuntimeError, subprocess.CalledProcessError, OSError) as error:
        print(f"  the two-Shoal chain did not run: {error}")
        return [f"two-Shoal chain: {error}"]

    def p50_p99(values: list[float]) -> tuple[float, float]:
        return ms(percentile(values, 50)), ms(percentile(values, 99))

    b, a = p50_p99(first["Shoal B"]), p50_p99(first["Shoal A → B"])
    hb, ha = p50_p99(headers["Shoal B"]), p50_p99(headers["Shoal A → B"])
    added, added_headers = (a[0] - b[0], a[1] - b[1]), (ha[0] - hb[0], ha[1] - hb[1])

    def cells(*pairs: tuple[float, float]) -> tuple[str, ...]:
        return tuple(f"{value:.2f}" for pair in pairs for value in pair)

    print_table([
        ("", "first byte p50", "p99", "headers p50", "p99"),
        ("Shoal B directly", *cells(b, hb)),
        ("Shoal A -> Shoal B (fish upstream)", *cells(a, ha)),
        ("added by the hop", *cells(added, added_headers)),
    ])  # fmt: skip
    print(
        f"\ntarget: the chain adds <= 5 ms at p50: {added[0]:.2f} ms, {'met' if added[0] <= 5 else 'MISSED'}"
    )
    return problems


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    # Stopped with SIGTERM, unwind as on Ctrl-C: the servers run in their own sessions and would outlive us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="shoal-bench-gateway-"))

    chat = measure_chat(args, workdir)
    print_chat(chat, args)
    problems = chat.problems
    if not args.skip_speech:
        problems += measure_and_print_speech(args, workdir)

    print(
        f"\nload average {os.getloadavg()[0]:.1f} at the end (other work on the machine skews every figure)"
    )
    if problems:
        print(f"\nproblems in the servers' logs or under load ({len(problems)}; logs kept in {workdir}):")
        for line, count in Counter(problems).most_common(15):
            print(f"  {count:5d} x {line}")
    else:
        print("\nno errors in the servers' logs or under load")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
