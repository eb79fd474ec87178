"""Billing a request from a route: hold its cost, announce it in headers, settle when it ends."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from starlette.requests import HTTPConnection

from shoal.api.middleware import add_response_headers, on_request_end, request_id
from shoal.auth.keys import ApiKey
from shoal.billing.metering import Balance, Charge, balance_headers
from shoal.billing.money import to_credits
from shoal.billing.pricing import Kind
from shoal.gateway.speech import UpstreamSpeechPlan
from shoal.pipeline.synthesize import SpeechParams, SynthesisPlan
from shoal.pipeline.transcribe import TranscriptionParams, TranscriptionPlan
from shoal.services import Services

SpeechPlan = SynthesisPlan | UpstreamSpeechPlan


async def open_charge(
    connection: HTTPConnection, services: Services, key: ApiKey, kind: Kind, model: str, units: float,
    *, output_units: float = 0,
) -> Charge:  # fmt: skip
    """Hold the cost of ``units`` (402 when the account cannot pay) and settle it when the request ends.

    The response headers carry the expected cost and the balance with it held: a
    streamed response starts before its settlement.
    """
    charge = await services.metering.open(
        key, kind, model, units=units, output_units=output_units, request_id=request_id(connection)
    )
    on_request_end(connection, charge.settle)
    add_response_headers(connection, balance_headers(charge.reserved, charge.quote))
    return charge


def balance_fields(balance: Balance) -> dict[str, Any]:
    """Seed 002's ``_balance_warning`` and ``_remaining_credits``, for JSON bodies on OpenAI routes."""
    if balance.balance_nanos is None:
        return {}
    return {"_balance_warning": balance.low, "_remaining_credits": float(to_credits(balance.balance_nanos))}


async def settled_headers(connection: HTTPConnection, charge: Charge) -> Balance:
    """Settle now (for responses built after the work) and put the final figures in the headers."""
    balance = await charge.settle()
    add_response_headers(connection, balance_headers(balance, charge.billed))
    return balance


async def prepare_transcription(
    connection: HTTPConnection, services: Services, key: ApiKey, params: TranscriptionParams
) -> tuple[TranscriptionPlan, Charge]:
    """Validate and admit a transcription, then hold the cost of the audio's declared length."""
    plan = await services.transcriber.prepare(params)
    try:
        charge = await open_charge(connection, services, key, "stt", plan.engine.name, plan.expected_seconds)
    except BaseException:
        plan.ticket.release()
        raise
    plan.meter = charge
    return plan, charge


async def prepare_speech(
    connection: HTTPConnection, services: Services, key: ApiKey, params: SpeechParams
) -> tuple[SpeechPlan, AsyncGenerator[bytes, None]]:
    """Plan a synthesis (a bad request is refused before any money moves), hold its cost, and give
    the encoded audio stream, closed and released when the request ends however it ended.

    A model routed to an upstream is held for first (a request the account cannot pay never
    reaches the provider), then sent, failing over between deployments, before the response starts.
    A client that stops reading and then leaves cancels the response while the stream waits in
    send(); closing the stream at the end (before the charge settles) reports the part spoken.
    """
    synthesizer = services.synthesizer
    units = len(params.text.encode())
    model = synthesizer.model_for(params)
    plan: SpeechPlan
    if services.upstream_speech.serves(model):
        synthesizer.check_length(params)
        charge = await open_charge(connection, services, key, "tts", model, units)
        upstream = await services.upstream_speech.open(model, params, request_id(connection))
        on_request_end(connection, upstream.close)
        audio = services.upstream_speech.stream(upstream, meter=charge)
        plan = upstream
    else:
        speakers = None
        if params.voices or params.references:
            speakers = await services.voices.speakers(params.voices, key.account_id, params.references)
            on_request_end(connection, lambda: services.voices.count_uses(speakers or ()))
        local = synthesizer.plan(params, speakers)

        async def release() -> None:
            local.release()

        on_request_end(connection, release)
        charge = await open_charge(connection, services, key, "tts", local.model, units)
        audio = synthesizer.stream(local, meter=charge)
        plan = local
    plan.meter = charge
    on_request_end(connection, audio.aclose)
    return plan, audio


def charge_of(plan: SpeechPlan | TranscriptionPlan) -> Charge:
    """The charge ``prepare_speech`` or ``prepare_transcription`` opened for ``plan``."""
    assert isinstance(plan.meter, Charge), "the plan was not prepared for billing"
    return plan.meter
