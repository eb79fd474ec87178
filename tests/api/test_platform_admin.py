"""The admin API (``/v1/admin/…``) through the app in-process, with an admin-tier key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from shoal.auth.keys import KeySpec, create_key, find_key
from shoal.services import Services

pytestmark = pytest.mark.asyncio

BASE_URL = "http://shoal.test"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def client_for(app: FastAPI, secret: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {secret}"},
    )


@pytest_asyncio.fixture
async def admin(app: FastAPI, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, admin_key) as http:
        yield http


def envelope(response: httpx.Response, status: int, code: str | None, error_type: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code
    assert body["error"]["type"] == error_type
    return str(body["error"]["message"])


async def new_account(admin: httpx.AsyncClient, credits: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": unique("acct")}
    if credits is not None:
        body["credits"] = credits
    response = await admin.post("/v1/admin/accounts", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_accounts_create_list_get(admin: httpx.AsyncClient) -> None:
    name = unique("acme")
    created = await admin.post("/v1/admin/accounts", json={"name": name, "credits": "7.25"})
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["object"] == "account" and account["name"] == name
    assert account["prepaid"] is True
    assert account["balance"] == account["topped_up"] == "7.25"

    listing = (await admin.get("/v1/admin/accounts")).json()
    assert listing["object"] == "list"
    assert [a for a in listing["data"] if a["id"] == account["id"]] == [account]

    for ref in (account["id"], name):  # by id or by its (unique) name
        got = await admin.get(f"/v1/admin/accounts/{ref}")
        assert got.status_code == 200
        assert got.json()["id"] == account["id"]
        assert got.json()["ledger_total"] == got.json()["balance"] == "7.25"

    unmetered = await admin.post("/v1/admin/accounts", json={"name": unique("own"), "prepaid": False})
    assert unmetered.json()["prepaid"] is False and unmetered.json()["balance"] == "0"
    missing = await admin.get("/v1/admin/accounts/no-such-account")
    assert "no-such-account" in envelope(missing, 404, "not_found", "not_found_error")
    invalid = await admin.post("/v1/admin/accounts", json={"name": ""})
    envelope(invalid, 400, "invalid_value", "invalid_request_error")


async def test_top_up_is_idempotent(admin: httpx.AsyncClient) -> None:
    account = await new_account(admin, "1")
    path = f"/v1/admin/accounts/{account['id']}/credits"
    idempotency = {"Idempotency-Key": unique("topup")}
    first = await admin.post(path, json={"credits": "2.5", "note": "invoice 1"}, headers=idempotency)
    replay = await admin.post(path, json={"credits": "2.5", "note": "invoice 1"}, headers=idempotency)
    mismatch = await admin.post(path, json={"credits": "3"}, headers=idempotency)
    other = await admin.post(path, json={"credits": "0.5"}, headers={"Idempotency-Key": unique("topup")})

    assert first.status_code == 201, first.text
    assert first.json()["replayed"] is False
    assert first.json()["credits"] == "2.5" and first.json()["balance"] == "3.5"
    assert replay.status_code == 200
    assert replay.json()["replayed"] is True
    assert replay.json()["id"] == first.json()["id"] and replay.json()["balance"] == "3.5"
    assert "Idempotency-Key" in envelope(mismatch, 422, "idempotency_key_reused", "invalid_request_error")
    assert other.status_code == 201 and other.json()["balance"] == "4"

    got = (await admin.get(f"/v1/admin/accounts/{account['id']}")).json()
    assert got["balance"] == got["topped_up"] == got["ledger_total"] == "4"  # 1 + 2.5 (once) + 0.5
    zero = await admin.post(path, json={"credits": "0"})
    envelope(zero, 400, "invalid_value", "invalid_request_error")
    missing = await admin.post("/v1/admin/accounts/nope/credits", json={"credits": "1"})
    envelope(missing, 404, "not_found", "not_found_error")


@pytest.mark.parametrize("route", ["/v1/admin/accounts", "/v1/admin/keys"])
async def test_funded_creation_retried_with_the_same_idempotency_key_funds_once(
    admin: httpx.AsyncClient, route: str
) -> None:
    name = unique("retried")
    headers = {"Idempotency-Key": unique("create")}
    first = await admin.post(route, json={"name": name, "credits": "5"}, headers=headers)
    retry = await admin.post(route, json={"name": name, "credits": "5"}, headers=headers)
    assert first.status_code == 201
    if route.endswith("/keys"):
        # A key's secret is shown once: the retry cannot replay it, so it says which key exists.
        envelope(retry, 409, "idempotency_key_in_use", "invalid_request_error")
        assert first.json()["id"] in retry.json()["error"]["message"]
    else:
        assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    accounts = [a for a in (await admin.get("/v1/admin/accounts")).json()["data"] if a["name"] == name]
    assert sum(Decimal(account["topped_up"]) for account in accounts) == 5


async def test_ledger_listing(app: FastAPI, admin: httpx.AsyncClient) -> None:
    created = await admin.post("/v1/admin/keys", json={"name": unique("ledger"), "credits": "1"})
    key = created.json()
    async with client_for(app, key["secret"]) as http:
        assert (await http.post("/v1/tts", json={"text": "Hi.", "format": "pcm"})).status_code == 200
    ledger = await admin.get(f"/v1/admin/accounts/{key['account_id']}/ledger")
    assert ledger.status_code == 200
    entries = ledger.json()["data"]
    assert [entry["kind"] for entry in entries] == ["hold", "topup"]  # newest first; no release: exact cost
    hold, topup = entries
    assert Decimal(topup["amount"]) == 1 and topup["key_id"] is None
    assert Decimal(hold["amount"]) == Decimal("-0.000045") and hold["key_id"] == key["id"]
    assert Decimal(hold["balance_after"]) == sum(Decimal(entry["amount"]) for entry in entries)
    limited = await admin.get(f"/v1/admin/accounts/{key['account_id']}/ledger", params={"limit": 1})
    assert limited.json()["data"] == entries[:1]


async def test_keys_create_list_get(app: FastAPI, admin: httpx.AsyncClient) -> None:
    name = unique("customer")
    created = await admin.post(
        "/v1/admin/keys",
        json={
            "name": name, "credits": "3", "plan": "starter", "discount_percent": 10, "monthly_cap": "2",
            "models": ["s2-pro"], "expires_at": "2099-01-01T00:00:00Z", "requests_per_minute": 30,
        },
    )  # fmt: skip
    assert created.status_code == 201, created.text
    key = created.json()
    secret = key.pop("secret")
    assert secret.startswith("sk-shoal-") and secret.startswith(key["prefix"])
    assert key["object"] == "api_key" and key["name"] == name and key["status"] == "active"
    assert (key["tier"], key["plan"], key["discount_percent"], key["monthly_cap"]) == (
        "standard",
        "starter",
        10,
        "2",
    )
    assert key["models"] == ["s2-pro"] and key["requests_per_minute"] == 30
    assert key["expires_at"].startswith("2099-01-01")

    account = (await admin.get(f"/v1/admin/accounts/{key['account_id']}")).json()
    assert account["name"] == name and account["prepaid"] is True and account["balance"] == "3"

    got = await admin.get(f"/v1/admin/keys/{key['id']}")
    assert got.json() == key  # the secret is never shown again
    by_prefix = await admin.get(f"/v1/admin/keys/{key['id'][:8]}")
    assert by_prefix.json()["id"] == key["id"]
    everything = await admin.get("/v1/admin/keys")
    assert key["id"] in {k["id"] for k in everything.json()["data"]}
    assert secret not in everything.text
    one_account = await admin.get("/v1/admin/keys", params={"account_id": key["account_id"]})
    assert [k["id"] for k in one_account.json()["data"]] == [key["id"]]

    async with client_for(app, secret) as http:
        wallet = await http.get("/wallet/self/api-credit")
    assert wallet.status_code == 200 and wallet.json()["credit"] == "3"
    assert wallet.headers["x-ratelimit-limit-requests"] == "30"  # its own limit beats the plan's 60

    on_existing = await admin.post(
        "/v1/admin/keys", json={"name": unique("second"), "account_id": account["name"], "tier": "wholesale"}
    )
    assert on_existing.status_code == 201
    assert on_existing.json()["account_id"] == key["account_id"] and on_existing.json()["tier"] == "wholesale"
    bad_plan = await admin.post("/v1/admin/keys", json={"name": unique("x"), "plan": "gold"})
    assert "gold" in envelope(bad_plan, 400, None, "invalid_request_error")
    no_account = await admin.post("/v1/admin/keys", json={"name": unique("x"), "account_id": "nope"})
    envelope(no_account, 404, "not_found", "not_found_error")
    bad_tier = await admin.post("/v1/admin/keys", json={"name": unique("x"), "tier": "platinum"})
    envelope(bad_tier, 400, "invalid_value", "invalid_request_error")
    assert (await admin.get("/v1/admin/keys/ffffffffffff")).status_code == 404


async def test_keys_patch_and_delete(app: FastAPI, admin: httpx.AsyncClient) -> None:
    key = (await admin.post("/v1/admin/keys", json={"name": unique("patched")})).json()
    path = f"/v1/admin/keys/{key['id']}"
    async with client_for(app, key["secret"]) as http:
        assert (await http.get("/wallet/self/api-credit")).status_code == 200  # now cached by the server

        disabled = await admin.patch(path, json={"disabled": True})
        assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
        refused = await http.get("/wallet/self/api-credit")
        assert refused.status_code == 401 and "disabled" in refused.json()["message"]

        enabled = await admin.patch(path, json={"disabled": False, "plan": "free", "discount_percent": 50})
        assert enabled.json()["status"] == "active"
        assert (enabled.json()["plan"], enabled.json()["discount_percent"]) == ("free", 50)
        allowed = await http.get("/wallet/self/api-credit")
        assert allowed.status_code == 200
        assert allowed.headers["x-ratelimit-limit-requests"] == "10"
        assert allowed.headers["x-ratelimit-limit-concurrency"] == "2"

        invalid_plan = await admin.patch(path, json={"plan": "gold"})
        assert "gold" in envelope(invalid_plan, 400, None, "invalid_request_error")
        null_name = await admin.patch(path, json={"name": None})
        envelope(null_name, 400, None, "invalid_request_error")
        unknown_field = await admin.patch(path, json={"secret": "sk-shoal-mine"})
        envelope(unknown_field, 400, "invalid_value", "invalid_request_error")
        assert (await admin.get(path)).json()["plan"] == "free"

        revoked = await admin.delete(path)
        assert revoked.status_code == 200
        assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
        gone = await http.get("/wallet/self/api-credit")
        assert gone.status_code == 401 and "revoked" in gone.json()["message"]
    assert (await admin.patch("/v1/admin/keys/ffffffffffff", json={"plan": "pro"})).status_code == 404


async def test_plans(admin: httpx.AsyncClient) -> None:
    response = await admin.get("/v1/admin/plans")
    assert response.status_code == 200
    plans = {plan["id"]: plan for plan in response.json()["data"]}
    assert plans["free"] == {
        "object": "plan", "id": "free", "requests_per_minute": 10, "concurrent_requests": 2, "default": False
    }  # fmt: skip
    assert (plans["starter"]["requests_per_minute"], plans["starter"]["concurrent_requests"]) == (60, 10)
    assert plans["pro"]["requests_per_minute"] is None and plans["pro"]["default"] is True


async def test_usage_of_any_account(app: FastAPI, admin: httpx.AsyncClient) -> None:
    key = (await admin.post("/v1/admin/keys", json={"name": unique("usage"), "credits": "1"})).json()
    async with client_for(app, key["secret"]) as http:
        for text in ("Hi.", "Hello."):
            assert (await http.post("/v1/tts", json={"text": text, "format": "pcm"})).status_code == 200
    by_account = await admin.get("/v1/admin/usage", params={"account_id": key["account_id"]})
    by_key = await admin.get("/v1/admin/usage", params={"key_id": key["id"]})
    assert by_account.status_code == by_key.status_code == 200
    [row] = by_account.json()["data"]
    assert (row["model"], row["requests"], row["units"]) == ("s2-pro", 2, 9)
    assert Decimal(row["cost"]) == Decimal(by_account.json()["total_cost"]) == Decimal("0.000135")
    assert by_key.json()["data"] == by_account.json()["data"]
    missing = await admin.get("/v1/admin/usage", params={"account_id": "nope"})
    envelope(missing, 404, "not_found", "not_found_error")
    backwards = await admin.get(
        "/v1/admin/usage", params={"start_date": "2026-03-02", "end_date": "2026-03-01"}
    )
    envelope(backwards, 400, None, "invalid_request_error")


ADMIN_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/admin/accounts", None),
    ("POST", "/v1/admin/accounts", {"name": "sneaky", "credits": "1000"}),
    ("GET", "/v1/admin/accounts/default", None),
    ("POST", "/v1/admin/accounts/default/credits", {"credits": "1000"}),
    ("GET", "/v1/admin/accounts/default/ledger", None),
    ("GET", "/v1/admin/keys", None),
    ("POST", "/v1/admin/keys", {"name": "sneaky", "tier": "admin"}),
    ("GET", "/v1/admin/keys/{own}", None),
    ("PATCH", "/v1/admin/keys/{own}", {"tier": "admin"}),
    ("DELETE", "/v1/admin/keys/{own}", None),
    ("GET", "/v1/admin/plans", None),
    ("GET", "/v1/admin/usage", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
async def test_standard_key_is_refused_on_every_admin_route(
    app: FastAPI, services: Services, method: str, path: str, body: dict[str, Any] | None
) -> None:
    key, secret = await create_key(services.db, KeySpec(name=unique("standard")))
    async with client_for(app, secret) as http:
        response = await http.request(method, path.format(own=key.id), json=body)
        still_works = await http.get("/wallet/self/api-credit")
    assert "admin-tier key" in envelope(response, 403, "permission_denied", "permission_error")
    assert still_works.status_code == 200  # nothing changed: not revoked, not promoted
    after = await find_key(services.db, key.id)
    assert after is not None and after.tier == "standard" and after.status() == "active"
