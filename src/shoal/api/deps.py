"""Dependencies shared by every route, as ``Annotated`` aliases: a signature reads as its needs.

``PrincipalDep`` is the whole admission of a request: the bearer key is verified
(unknown, revoked, disabled and expired keys get 401), its concurrency slot is taken
(held until the response has been sent or the client went away) and its
requests-per-minute window counted; refusals are 429 with the limit's state in headers.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from shoal.api.middleware import add_response_headers, on_request_end
from shoal.api.status import limit_headers
from shoal.auth.keys import ApiKey, hash_secret, touch_key, verify_secret
from shoal.errors import (
    AuthenticationFailed,
    ConcurrencyLimitExceeded,
    LimitState,
    PermissionDenied,
    RequestRateExceeded,
)
from shoal.pipeline.transcribe import Transcriber
from shoal.services import Services

_TOUCH_EVERY_SECONDS = 60.0
_RATE_WINDOW_SECONDS = 60.0


async def get_services(connection: HTTPConnection) -> Services:
    # async: a plain def dependency would run in the thread pool on every request.
    services: Services = connection.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_transcriber(services: ServicesDep) -> Transcriber:
    return services.transcriber


TranscriberDep = Annotated[Transcriber, Depends(get_transcriber)]


def bearer_token(connection: HTTPConnection) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise AuthenticationFailed("missing API key: send the header 'Authorization: Bearer <your key>'")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("malformed Authorization header: expected 'Bearer <your key>'")
    return token.strip()


async def authenticate(connection: HTTPConnection, services: Services) -> ApiKey:
    """The key behind a request's or a WebSocket handshake's bearer token, if it may be used."""
    secret = bearer_token(connection)
    digest = hash_secret(secret)
    key = services.key_cache.get(digest)
    if key is None:
        key = await verify_secret(services.db, secret)
        if key is not None:
            services.key_cache.put(digest, key)
    if key is None:
        raise AuthenticationFailed("invalid API key: it is unknown or has been revoked")
    status = key.status()
    if status == "revoked":
        raise AuthenticationFailed("invalid API key: it is unknown or has been revoked")
    if status == "disabled":
        raise AuthenticationFailed("this API key is disabled; ask the administrator to enable it")
    if status == "expired" and key.expires_at is not None:
        raise AuthenticationFailed(f"this API key expired at {key.expires_at:%Y-%m-%d %H:%M} UTC")
    now = time.monotonic()
    if now - services.key_last_touched.get(key.id, -_TOUCH_EVERY_SECONDS) >= _TOUCH_EVERY_SECONDS:
        services.key_last_touched[key.id] = now
        await touch_key(services.db, key.id)
    return key


def limits_of(key: ApiKey, services: Services) -> tuple[int | None, int | None]:
    """(requests per minute, concurrent requests) for ``key``: its overrides, else its plan's."""
    plan = services.settings.billing.plans.get(key.plan)
    if plan is None:
        raise PermissionDenied(f"this key's plan {key.plan!r} is not configured; ask the administrator")
    return (
        key.requests_per_minute or plan.requests_per_minute,
        key.concurrent_requests or plan.concurrent_requests,
    )


async def admit(connection: HTTPConnection, services: Services) -> ApiKey:
    """Authenticate, then take a concurrency slot and count the request against the key's rate."""
    key = await authenticate(connection, services)
    per_minute, concurrent = limits_of(key, services)
    if per_minute is None and concurrent is None:
        return key
    lease, admission = await services.leases.admit(
        key.id, concurrent=concurrent, per_minute=per_minute, window=_RATE_WINDOW_SECONDS
    )
    if lease is not None:
        on_request_end(connection, lambda: services.leases.release(lease))
    if admission.lease is not None:
        slots = LimitState(admission.lease.limit, admission.lease.remaining, 1.0)
        add_response_headers(connection, limit_headers("concurrency", slots.limit, slots.remaining, 0))
        if admission.lease.lease_id is None:
            raise ConcurrencyLimitExceeded(slots)
    if admission.window is not None:
        window = admission.window
        rate = LimitState(window.limit, window.remaining, window.reset_after)
        add_response_headers(
            connection, limit_headers("requests", rate.limit, rate.remaining, rate.reset_after)
        )
        if not window.allowed:
            raise RequestRateExceeded(rate)
    return key


async def get_principal(connection: HTTPConnection, services: ServicesDep) -> ApiKey:
    return await admit(connection, services)


PrincipalDep = Annotated[ApiKey, Depends(get_principal)]


async def get_admin(principal: PrincipalDep) -> ApiKey:
    if principal.tier != "admin":
        raise PermissionDenied("this endpoint needs an admin-tier key")
    return principal


AdminDep = Annotated[ApiKey, Depends(get_admin)]
