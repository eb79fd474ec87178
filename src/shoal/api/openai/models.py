"""OpenAI ``GET /v1/models``: every model and alias a key can name, with Shoal's kind, price and tier."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse

from shoal.api.deps import PrincipalDep, ServicesDep
from shoal.billing.pricing import Kind
from shoal.services import Services

router = APIRouter(tags=["OpenAI"])

_CREATED = 1_763_769_600  # 2025-11-22: a fixed date, so listings are stable


def _entry(services: Services, name: str, kind: Kind, serves: str) -> dict[str, Any]:
    price = services.metering.prices.price(kind, serves)
    per_unit: dict[str, float | None] = {
        "tts": {"per_million_utf8_bytes": price.per_million_bytes},
        "stt": {"per_audio_hour": price.per_audio_hour},
        "chat": {
            "per_million_input_tokens": price.per_million_input_tokens,
            "per_million_output_tokens": price.per_million_output_tokens,
        },
    }[kind]
    return {
        "id": name,
        "object": "model",
        "created": _CREATED,
        "owned_by": "shoal",
        "kind": "asr" if kind == "stt" else kind,
        "serves": serves,
        "price": {"currency": "credits", **per_unit},
        "tier": "wholesale" if price.wholesale_only else "standard",
    }


@router.get("/v1/models", summary="Models you can use")
async def models(principal: PrincipalDep, services: ServicesDep) -> JSONResponse:
    tts = services.synthesizer
    stt = services.transcriber
    entries = [_entry(services, name, "tts", name) for name in tts.model_names()]
    entries += [_entry(services, alias, "tts", target) for alias, target in sorted(tts.aliases().items())]
    entries += [_entry(services, name, "stt", name) for name in stt.model_names()]
    entries += [_entry(services, alias, "stt", target) for alias, target in sorted(stt.aliases().items())]
    chat = services.chat
    entries += [_entry(services, name, "chat", name) for name in chat.model_names()]
    entries += [_entry(services, alias, "chat", target) for alias, target in sorted(chat.aliases().items())]
    if principal.models:  # a key limited to some models sees those
        entries = [
            entry
            for entry in entries
            if entry["id"] in principal.models or entry["serves"] in principal.models
        ]
    return JSONResponse({"object": "list", "data": entries})
