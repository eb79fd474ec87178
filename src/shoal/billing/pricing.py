"""List prices per model, and what a request costs a key: units × unit price × (1 − discount)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from shoal.billing.money import NANOS_PER_CREDIT
from shoal.settings import BillingSettings, ModelPrice

Kind = Literal["tts", "stt"]
Unit = Literal["utf8_bytes", "audio_seconds"]

UNITS: dict[Kind, Unit] = {"tts": "utf8_bytes", "stt": "audio_seconds"}


@dataclass(frozen=True, slots=True)
class Quote:
    kind: Kind
    model: str
    unit: Unit
    units: float
    unit_price: float
    """List price of one unit, in credits."""
    discount_bp: int
    cost_nanos: int
    """What ``units`` cost this key, rounded up to the nanocredit."""


class PriceList:
    def __init__(self, settings: BillingSettings) -> None:
        self._settings = settings

    def price(self, kind: Kind, model: str) -> ModelPrice:
        own = self._settings.prices.get(model)
        default = self._settings.tts_price if kind == "tts" else self._settings.stt_price
        if own is None:
            return default
        missing = own.per_million_bytes is None if kind == "tts" else own.per_audio_hour is None
        # A model entry may set only its tier: its price is then the kind's default.
        return (
            own.model_copy(update=default.model_dump(include={"per_million_bytes", "per_audio_hour"}))
            if missing
            else own
        )

    def unit_price(self, kind: Kind, model: str) -> Fraction:
        """Credits per unit, exactly."""
        price = self.price(kind, model)
        if kind == "tts":
            return Fraction(str(price.per_million_bytes or 0)) / 1_000_000
        return Fraction(str(price.per_audio_hour or 0)) / 3600

    def quote(self, kind: Kind, model: str, units: float, discount_bp: int) -> Quote:
        per_unit = self.unit_price(kind, model)
        exact = Fraction(units) * per_unit * NANOS_PER_CREDIT * (10_000 - discount_bp) / 10_000
        return Quote(kind, model, UNITS[kind], units, float(per_unit), discount_bp, math.ceil(exact))
