"""One ``shoal serve`` for the whole gateway session, routing chat models to fake upstream LLMs.

Two fake OpenAI-compatible upstreams run as their own processes (``up1`` serves everything;
``up2`` is switched to answering 503 by the breaker test), and a third deployment points at a
port where nothing listens (``dead``), so failover is real.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, launch, run_cli, stop
from tests.upstream import FakeUpstream

UPSTREAM_KEY = "sk-upstream-only-shoal-knows"
PRICE_IN, PRICE_OUT = 1000.0, 2000.0
"""Credits per million input/output tokens of ``echo`` and ``endless``: 0.001 and 0.002 a token."""
KEEPALIVE_SECONDS = 0.3
SLOW_FIRST_SECONDS = 1.5

CONFIG = """\
[stt]
preload = false

[chat]
keepalive_seconds = {keepalive}

[upstreams.up1]
kind = "openai"
base_url = "{up1}"
api_key_env = "SHOAL_TEST_UPSTREAM_KEY"
max_retries = 0
failure_threshold = 2
cooldown_seconds = 30

[upstreams.up2]
kind = "openai"
base_url = "{up2}"
api_key_env = "SHOAL_TEST_UPSTREAM_KEY"
max_retries = 0
failure_threshold = 2
cooldown_seconds = 60

[upstreams.tolerant]  # up1 again, with a breaker that mid-stream failures do not open during the tests
kind = "openai"
base_url = "{up1}"
api_key_env = "SHOAL_TEST_UPSTREAM_KEY"
max_retries = 0
failure_threshold = 50

[upstreams.dead]
kind = "openai"
base_url = "http://127.0.0.1:{dead_port}/v1"
api_key = "sk-nobody-listens"
connect_timeout_seconds = 0.5
max_retries = 0
failure_threshold = 1
cooldown_seconds = 60

[chat.models.echo]
deployments = [{{upstream = "up1", model = "echo"}}]

[chat.models.failover]
deployments = [
    {{upstream = "dead", model = "echo", weight = 100}},
    {{upstream = "up1", model = "echo", weight = 1}},
]

[chat.models.resilient]
deployments = [
    {{upstream = "up2", model = "echo", weight = 100}},
    {{upstream = "up1", model = "echo", weight = 1}},
]

[chat.models.tools]
deployments = [{{upstream = "up1", model = "tools"}}]

[chat.models.slow]
deployments = [{{upstream = "up1", model = "slow-first:delay={slow}"}}]

[chat.models.endless]
deployments = [{{upstream = "up1", model = "endless"}}]

[chat.models.broken]
deployments = [{{upstream = "up1", model = "fail-500"}}]

[chat.models.broken-slow]
deployments = [{{upstream = "tolerant", model = "fail-500:delay=1"}}]

[chat.models.bad]
deployments = [{{upstream = "up1", model = "fail-400"}}]

[chat.models.limited]
deployments = [{{upstream = "up1", model = "fail-429"}}]

[chat.models.flaky]
deployments = [{{upstream = "tolerant", model = "mid-stream-error"}}]

[chat.aliases]
"gpt-4o-mini" = "echo"

[billing.prices.echo]
per_million_input_tokens = {price_in}
per_million_output_tokens = {price_out}

[billing.prices.endless]
per_million_input_tokens = {price_in}
per_million_output_tokens = {price_out}
"""


@dataclass
class Gateway:
    base_url: str
    data_dir: Path
    key: str
    """A standard key on the default, unmetered account."""
    admin_key: str
    up1: FakeUpstream
    up2: FakeUpstream
    log: Path

    @property
    def v1(self) -> str:
        return f"{self.base_url}/v1"

    def prepaid_key(self, credits: str = "100") -> str:
        """A new standard key on a new prepaid account holding ``credits``."""
        body: dict[str, Any] = {"name": f"prepaid-{uuid.uuid4().hex[:8]}"}
        if credits == "0":
            account = self.admin("POST", "/v1/admin/accounts", json={**body, "prepaid": True})
            body["account_id"] = account["id"]
        else:
            body["credits"] = credits
        return str(self.admin("POST", "/v1/admin/keys", json=body)["secret"])

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method, f"{self.base_url}{path}", headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=30, **kwargs,
        )  # fmt: skip
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def upstreams(self) -> list[dict[str, Any]]:
        """``GET /v1/admin/upstreams``: every deployment with its breaker (an OpenAI-style list)."""
        listed = self.admin("GET", "/v1/admin/upstreams")
        assert isinstance(listed, dict) and listed.get("object") == "list", listed
        return list(listed["data"])

    def balance(self, key: str) -> float:
        response = httpx.get(
            f"{self.base_url}/wallet/self/api-credit", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        response.raise_for_status()
        return float(response.json()["credit"])


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data_dir = tmp_path_factory.mktemp("gateway-data")
    up1 = FakeUpstream.start(free_port(), data_dir / "up1.log", "--require-key", UPSTREAM_KEY)
    up2 = FakeUpstream.start(free_port(), data_dir / "up2.log", "--require-key", UPSTREAM_KEY)
    process = None
    try:
        config = data_dir / "shoal.toml"
        config.write_text(
            CONFIG.format(
                keepalive=KEEPALIVE_SECONDS, up1=up1.base_url, up2=up2.base_url, dead_port=free_port(),
                slow=SLOW_FIRST_SECONDS, price_in=PRICE_IN, price_out=PRICE_OUT,
            )
        )  # fmt: skip

        def new_key(*args: str) -> str:
            created = run_cli("keys", "create", *args, "--config", str(config), data_dir=data_dir)
            return created.stdout.strip().splitlines()[-1]

        key = new_key("--name", "gateway")
        admin_key = new_key("--name", "gateway-admin", "--tier", "admin")
        base_url, process, log = launch(
            data_dir, "--config", str(config), env={"SHOAL_TEST_UPSTREAM_KEY": UPSTREAM_KEY}
        )
        yield Gateway(base_url, data_dir, key, admin_key, up1, up2, log)
    finally:
        if process is not None:
            stop(process)
        up1.stop()
        up2.stop()
