"""Dependencies shared by every route, as ``Annotated`` aliases: a signature reads as its needs."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from shoal.auth.keys import Principal, touch_key, verify_secret
from shoal.errors import AuthenticationFailed
from shoal.pipeline.synthesize import Synthesizer
from shoal.pipeline.transcribe import Transcriber
from shoal.services import Services

_TOUCH_EVERY_SECONDS = 60.0


def get_services(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_synthesizer(services: ServicesDep) -> Synthesizer:
    return services.synthesizer


SynthesizerDep = Annotated[Synthesizer, Depends(get_synthesizer)]


def get_transcriber(services: ServicesDep) -> Transcriber:
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


async def get_principal(request: HTTPConnection, services: ServicesDep) -> Principal:
    return await authenticate(request, services)


async def authenticate(connection: HTTPConnection, services: Services) -> Principal:
    """The principal behind a request's or a WebSocket handshake's bearer key."""
    secret = bearer_token(connection)
    principal = await run_in_threadpool(lambda: verify_secret(db=services.db, secret=secret))
    if principal is None:
        raise AuthenticationFailed("invalid API key: it is unknown or has been revoked")
    now = time.monotonic()
    if now - services.key_last_touched.get(principal.key_id, -_TOUCH_EVERY_SECONDS) >= _TOUCH_EVERY_SECONDS:
        services.key_last_touched[principal.key_id] = now
        await run_in_threadpool(lambda: touch_key(db=services.db, key_id=principal.key_id))
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
