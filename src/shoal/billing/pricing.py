"""List prices per model, and what a request costs a key: units × unit price × (1 − discount)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from shoal.billing.money import NANOS_PER_CREDIT
from shoal.settings import BillingSettings, ModelPrice

Kind = Literal["tts", "stt", "chat"]
Unit = Literal["utf8_bytes", "audio_seconds", "tokens"]

UNITS: dict[Kind, Unit] = {"tts": "utf8_bytes", "stt": "audio_seconds", "chat": "tokens"}
_PRICED_BY: dict[Kind, tuple[str, ...]] = {
    "tts": ("per_million_bytes",),
    "stt": ("per_audio_hour",),
    "chat": ("per_million_input_tokens", "per_million_output_tokens"),
}


@dataclass(frozen=True, slots=True)
class Quote:
    kind: Kind
    model: str
    unit: Unit
    units: float
    unit_price: float
    """List price of one unit, in credits (chat: the blend of input and output tokens quoted)."""
    discount_bp: int
    cost_nanos: int
    """What ``units`` cost this key, rounded up to the nanocredit."""


class PriceList:
    def __init__(self, settings: BillingSettings) -> None:
        self._settings = settings

    def price(self, kind: Kind, model: str) -> ModelPrice:
        own = self._settings.prices.get(model)
        settings = self._settings
        default = {"tts": settings.tts_price, "stt": settings.stt_price, "chat": settings.chat_price}[kind]
        if own is None:
            return default
        # A model entry may set only its tier: its missing prices are then the kind's defaults.
        missing = {name for name in _PRICED_BY[kind] if getattr(own, name) is None}
        return own.model_copy(update=default.model_dump(include=missing)) if missing else own

    def unit_price(self, kind: Kind, model: str, *, output: bool = False) -> Fraction:
        """Credits per unit, exactly (chat: per input token, or per output token with ``output``)."""
        price = self.price(kind, model)
        if kind == "tts":
            return Fraction(str(price.per_million_bytes or 0)) / 1_000_000
        if kind == "chat":
            per_million = price.per_million_output_tokens if output else price.per_million_input_tokens
            return Fraction(str(per_million or 0)) / 1_000_000
        return Fraction(str(price.per_audio_hour or 0)) / 3600

    def quote(
        self, kind: Kind, model: str, units: float, discount_bp: int, *, output_units: float = 0
    ) -> Quote:
        """What ``units`` cost (chat: ``units`` input tokens plus ``output_units`` output tokens)."""
        list_price = Fraction(units) * self.unit_price(kind, model)
        if output_units:
            list_price += Fraction(output_units) * self.unit_price(kind, model, output=True)
        total_units = units + output_units
        exact = list_price * NANOS_PER_CREDIT * (10_000 - discount_bp) / 10_000
        per_unit = list_price / Fraction(total_units) if total_units else self.unit_price(kind, model)
        return Quote(kind, model, UNITS[kind], total_units, float(per_unit), discount_bp, math.ceil(exact))
