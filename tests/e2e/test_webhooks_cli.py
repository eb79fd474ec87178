"""``shoal webhooks secret``: show and rotate an account's signing secret; the API serves the same one."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import launch, run_cli, stop

pytestmark = pytest.mark.e2e

SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_secret_show_rotate_and_the_api_agree(tmp_path: Path) -> None:
    account = last_line(run_cli("accounts", "create", "hooks", "--unmetered", data_dir=tmp_path).stdout)
    shown = run_cli("webhooks", "secret", "--account", "hooks", data_dir=tmp_path).stdout
    first = last_line(shown)
    assert SECRET.fullmatch(first)
    assert shown.strip() == first  # no previous secret yet: the secret alone
    assert last_line(run_cli("webhooks", "secret", "--account", account, data_dir=tmp_path).stdout) == first

    rotated = run_cli("webhooks", "secret", "--account", "hooks", "--rotate", data_dir=tmp_path).stdout
    second = last_line(rotated)
    assert SECRET.fullmatch(second) and second != first
    assert re.search(
        r"Rotated\. The previous secret also signs until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", rotated
    )
    again = run_cli("webhooks", "secret", "--account", "hooks", data_dir=tmp_path).stdout
    assert "The previous secret also signs until" in again
    assert last_line(again) == second

    final = run_cli("webhooks", "secret", "--account", "hooks", "--rotate", "--grace", "0", data_dir=tmp_path)
    assert "Rotated. The previous secret no longer signs." in final.stdout
    third = last_line(final.stdout)

    missing = run_cli("webhooks", "secret", "--account", "nobody", data_dir=tmp_path, check=False)
    assert missing.returncode == 1
    assert "account 'nobody' not found" in missing.stderr

    key = last_line(
        run_cli("keys", "create", "--name", "hooks", "--account", "hooks", data_dir=tmp_path).stdout
    )
    base_url, process, _ = launch(tmp_path)
    try:
        answer = httpx.get(f"{base_url}/v1/webhooks/secret", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200
        assert answer.json()["secret"] == third
        assert answer.json()["previous_secret_expires_at"] is None
    finally:
        stop(process)
