"""The platform's command line: accounts, keys with every flag, plans, usage, and its errors."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from subprocess import CompletedProcess

import httpx
import pytest

from tests.conftest import RunningServer, run_cli


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def last_line(result: CompletedProcess[str]) -> str:
    return result.stdout.strip().splitlines()[-1]


def table_rows(output: str) -> list[list[str]]:
    """The body rows of a rich table, as lists of stripped cells."""
    lines = [line.strip() for line in output.splitlines() if "│" in line]
    return [[cell.strip() for cell in line[1:-1].split("│")] for line in lines]


def test_accounts_create_list_and_idempotent_topup(tmp_path: Path) -> None:
    created = run_cli("accounts", "create", "acme", "--credits", "5", data_dir=tmp_path)
    assert "Created account acme with 5 credits." in created.stdout
    account_id = last_line(created)
    assert re.fullmatch(r"[0-9a-f]{32}", account_id)
    house = last_line(run_cli("accounts", "create", "house", "--unmetered", data_dir=tmp_path))

    first = run_cli("accounts", "topup", "acme", "2.5", "--idempotency-key", "invoice-17", data_dir=tmp_path)
    again = run_cli(
        "accounts", "topup", account_id, "2.5", "--idempotency-key", "invoice-17", data_dir=tmp_path
    )
    assert first.stdout.strip() == "Added 2.5 credits; balance 7.5."
    assert again.stdout.strip() == "Already added 2.5 credits; balance 7.5."

    rows = {row[0]: row for row in table_rows(run_cli("accounts", "list", data_dir=tmp_path).stdout)}
    assert rows[account_id][1:5] == ["acme", "prepaid", "7.5", "7.5"]
    assert rows[house][1:5] == ["house", "unmetered", "0", "0"]


def test_plans_table(tmp_path: Path) -> None:
    rows = {row[0]: row[1:] for row in table_rows(run_cli("plans", data_dir=tmp_path).stdout)}
    assert rows["free"] == ["10", "2", ""]
    assert rows["starter"] == ["60", "10", ""]
    assert rows["pro"] == ["unlimited", "unlimited", "yes"]


def test_clear_errors(tmp_path: Path) -> None:
    cases: list[tuple[tuple[str, ...], int, str]] = [
        (
            ("keys", "create", "--name", "x", "--plan", "gold"),
            1,
            "plan 'gold' is not configured; plans: free,",
        ),
        (("keys", "create", "--name", "x", "--account", "nope"), 1, "account 'nope' does not exist"),
        (("keys", "create", "--name", "x", "--expires", "tomorrow"), 2, "use 30d, 12h, 90m"),
        (("accounts", "topup", "nope", "5"), 1, "account 'nope' not found"),
        (("keys", "create", "--name", "x", "--account", "default", "--credits", "1"), 1, "is unmetered"),
    ]

    def attempt(index: int) -> CompletedProcess[str]:
        # Separate data dirs: each process migrates its own fresh database.
        return run_cli(*cases[index][0], data_dir=tmp_path / str(index), check=False)

    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        results = list(pool.map(attempt, range(len(cases))))
    for (args, code, message), result in zip(cases, results, strict=True):
        assert result.returncode == code, (args, result.stdout, result.stderr)
        assert message in " ".join(result.stderr.split()), (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert "sk-shoal-" not in result.stdout


def wait_for_status(http: httpx.Client, status: int) -> httpx.Response:
    """The CLI changes the database; a server reuses a verified key for a few seconds (key cache)."""
    deadline = time.monotonic() + 20
    while True:
        response = http.get("/wallet/self/api-credit")
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


@pytest.mark.e2e
def test_keys_with_every_flag_against_a_server(server: RunningServer) -> None:
    name = unique("everything")
    created = run_cli(
        "keys", "create", "--name", name, "--credits", "2", "--tier", "wholesale", "--plan", "starter",
        "--discount", "20", "--monthly-cap", "1.5", "--models", "s2-pro", "--expires", "30d", "--rpm", "120",
        "--concurrency", "3", data_dir=server.data_dir,
    )  # fmt: skip
    secret = last_line(created)
    assert secret.startswith("sk-shoal-")
    match = re.search(
        r"Created key ([0-9a-f]{32}) \(.+\) on account ([0-9a-f]{32}), tier wholesale, plan starter",
        created.stdout,
    )
    assert match, created.stdout
    key_id, account_id = match.groups()
    with sqlite3.connect(server.data_dir / "shoal.db") as db:
        (expires,) = db.execute("SELECT expires_at FROM api_keys WHERE id = ?", (key_id,)).fetchone()
    expires_at = datetime.fromisoformat(expires).replace(tzinfo=UTC)
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)

    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=60
    ) as http:
        spoken = http.post("/v1/tts", json={"text": "Hi.", "format": "pcm"}, headers={"model": "s2-pro"})
        assert spoken.status_code == 200, spoken.text
        assert Decimal(spoken.headers["x-shoal-cost"]) == Decimal("0.000036")  # 3 bytes at 15/M, 20 % off
        assert Decimal(spoken.headers["x-shoal-balance"]) == Decimal("1.999964")
        assert spoken.headers["x-ratelimit-limit-requests"] == "120"
        assert spoken.headers["x-ratelimit-limit-concurrency"] == "3"
        other_model = http.post("/v1/tts", json={"text": "Hi.", "format": "pcm"}, headers={"model": "s1"})
        assert other_model.status_code == 403 and "s2-pro" in other_model.json()["message"]

        listing = run_cli("keys", "list", "--account", name, data_dir=server.data_dir)
        [row] = table_rows(listing.stdout)
        assert row[0] == key_id and row[1] == name and row[3] == account_id
        assert row[4:] == ["wholesale", "starter", "20%", "1.5", row[8], "active"]
        assert row[8] != "never"  # last used
        assert secret not in listing.stdout

        disabled = run_cli("keys", "update", key_id[:8], "--disable", data_dir=server.data_dir)
        assert table_rows(disabled.stdout)[0][-1] == "disabled"
        refused = wait_for_status(http, 401)
        assert refused.status_code == 401 and "disabled" in refused.json()["message"]
        run_cli("keys", "update", key_id, "--enable", data_dir=server.data_dir)
        assert wait_for_status(http, 200).status_code == 200

    usage = run_cli("usage", "--account", name, data_dir=server.data_dir)
    rows = table_rows(usage.stdout)
    assert [row[1:] for row in rows[:-1]] == [["s2-pro", "tts", "1", "3", "utf8_bytes", "0.000036"]]
    assert (
        rows[0][0] == datetime.now(UTC).date().isoformat()
        or rows[0][0] == (datetime.now(UTC) - timedelta(minutes=5)).date().isoformat()
    )
    assert rows[-1] == ["total", "", "", "1", "", "", "0.000036"]
