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
from shoal.pipeline.synthesize import SpeechParams, SynthesisPlan
from shoal.pipeline.transcribe import TranscriptionParams, TranscriptionPlan
from shoal.services import Services


async def open_charge(
    connection: HTTPConnection, services: Services, key: ApiKey, kind: Kind, model: str, units: float
) -> Charge:
    """Hold the cost of ``units`` (402 when the account cannot pay) and settle it when the request ends.

    The response headers carry the expected cost and the balance with it held: a
    streamed response starts before its settlement.
    """
    charge = await services.metering.open(key, kind, model, units=units, request_id=request_id(connection))
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
) -> tuple[SynthesisPlan, AsyncGenerator[bytes, None]]:
    """Plan a synthesis (a bad request is refused before any money moves), hold its cost, and give
    the encoded audio stream, closed and released when the request ends however it ended.

    A client that stops reading and then leaves cancels the response while the stream waits in
    send(); closing the stream at the end (before the charge settles) reports the part spoken.
    """
    synthesizer = services.synthesizer
    plan = synthesizer.plan(params)

    async def release() -> None:
        plan.release()

    on_request_end(connection, release)
    charge = await open_charge(connection, services, key, "tts", plan.model, len(params.text.encode()))
    audio = synthesizer.stream(plan, meter=charge)
    on_request_end(connection, audio.aclose)
    return plan, audio
