"""Metering a request: check the key may use the model, hold its cost, settle what it consumed.

charge = await metering.open(key, "tts", model, units=len(text.encode()), request_id=…)
… pipeline runs, calling charge.record(UsageEvent(…)) when it ends …
await charge.settle()          # idempotent; also run by the request's cleanup
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from shoal.auth.keys import ApiKey
from shoal.billing.money import credits_str
from shoal.billing.pricing import Kind, PriceList, Quote
from shoal.billing.usage import UsageEvent
from shoal.billing.wallet import Hold, Outcome, Settlement, UsageLine, Wallet
from shoal.errors import PermissionDenied, WholesaleOnly
from shoal.settings import BillingSettings

log = logging.getLogger("shoal.billing")


@dataclass(frozen=True, slots=True)
class Balance:
    """What a billed response tells the caller about money."""

    cost_nanos: int
    balance_nanos: int | None
    """None for unmetered accounts."""
    low: bool


class Charge:
    """One request's hold, and the usage that settles it. Implements ``UsageRecorder``."""

    def __init__(self, metering: Metering, quote: Quote, hold: Hold, request_id: str) -> None:
        self._metering = metering
        self.quote = quote
        self.hold = hold
        self._request_id = request_id
        self._event: UsageEvent | None = None
        self.billed: Quote = quote
        """The reserved quote until settled, then what was actually billed."""
        self._settled: Settlement | None = None
        self._settling: asyncio.Task[Settlement | None] | None = None

    def record(self, event: UsageEvent) -> None:
        self._event = event

    @property
    def reserved(self) -> Balance:
        """Before the work: the expected cost and the balance with it held."""
        return self._metering.balance(self.quote.cost_nanos, self.hold.balance_after_nanos)

    async def settle(self) -> Balance:
        """Charge what was consumed (nothing if the work failed or never ran), once."""
        if self._settling is None:
            # A task, so a cancelled caller (client gone) cannot leave the hold half-settled.
            self._settling = asyncio.ensure_future(self._settle())
        settled = await asyncio.shield(self._settling)
        if settled is None:
            return self._metering.balance(0, self.hold.balance_after_nanos)
        return self._metering.balance(settled.cost_nanos, settled.balance_after_nanos)

    async def _settle(self) -> Settlement | None:
        self._metering.in_progress.pop(self.hold.id, None)
        event = self._event
        if event is None or event.outcome == "failed":
            quote = self._metering.prices.quote(self.quote.kind, self.quote.model, 0, self.quote.discount_bp)
            outcome: Outcome = "failed"
        else:
            quote = self._metering.prices.quote(
                self.quote.kind, self.quote.model, event.quantity, self.quote.discount_bp,
                output_units=event.output_quantity,
            )  # fmt: skip
            outcome = event.outcome
        self.billed = quote
        return await self._metering.wallet.settle(
            self.hold, quote.cost_nanos, UsageLine(self._request_id, quote, outcome)
        )


class Metering:
    def __init__(self, wallet: Wallet, settings: BillingSettings) -> None:
        self.wallet = wallet
        self.prices = PriceList(settings)
        self._settings = settings
        self.in_progress: dict[str, Charge] = {}
        """Open charges by hold id: their holds are renewed until they settle."""

    def authorize(self, key: ApiKey, kind: Kind, model: str) -> None:
        """Raise unless ``key`` may use ``model``: its own model list, then the model's tier."""
        if key.models and model not in key.models:
            raise PermissionDenied(
                f"this key may not use model {model!r}; it may use: {', '.join(key.models)}"
            )
        if self.prices.price(kind, model).wholesale_only and key.tier == "standard":
            raise WholesaleOnly(model)

    async def open(
        self, key: ApiKey, kind: Kind, model: str, *, units: float, request_id: str, output_units: float = 0,
        hold_ttl_seconds: float | None = None,
    ) -> Charge:  # fmt: skip
        """Authorize, price and hold the cost of ``units`` (and, for chat, ``output_units``).
        Raises 401/403/402-class errors.

        With ``hold_ttl_seconds`` the hold lasts that long on its own (a queued task's, settled by
        whichever worker runs it); otherwise this process renews it until it settles."""
        self.authorize(key, kind, model)
        quote = self.prices.quote(kind, model, units, key.discount_bp, output_units=output_units)
        hold = await self.wallet.reserve(
            account_id=key.account_id,
            key_id=key.id,
            amount_nanos=quote.cost_nanos,
            monthly_cap_nanos=key.monthly_cap_nanos,
            ttl_seconds=hold_ttl_seconds,
        )
        charge = Charge(self, quote, hold, request_id)
        if hold_ttl_seconds is None:
            self.in_progress[hold.id] = charge
        return charge

    async def resume(
        self, hold_id: str, quote: Quote, request_id: str, *, account_id: str, key_id: str, ttl_seconds: float
    ) -> Charge | None:
        """The charge of a hold taken elsewhere (a task submitted to another process).

        None when the hold was settled already (a usage record exists): the work must not be
        charged again. A hold that expired unsettled (it waited too long) is taken again, so the
        work is paid for — or refused with InsufficientCredit."""
        hold = await self.wallet.find_hold(hold_id)
        if hold is not None:
            return Charge(self, quote, hold, request_id)
        if await self.wallet.billed(request_id):
            return None
        hold = await self.wallet.reserve(
            account_id=account_id, key_id=key_id, amount_nanos=quote.cost_nanos, monthly_cap_nanos=None,
            ttl_seconds=ttl_seconds,
        )  # fmt: skip
        return Charge(self, quote, hold, request_id)

    def balance(self, cost_nanos: int, balance_nanos: int | None) -> Balance:
        threshold = round(self._settings.low_balance_threshold * 1_000_000_000)
        return Balance(cost_nanos, balance_nanos, balance_nanos is not None and balance_nanos < threshold)

    async def sweep_forever(self, every_seconds: float = 60.0) -> None:
        """Keep this process's open holds alive, and release holds whose process died without
        settling them (every replica runs this)."""
        while True:
            try:
                await self.wallet.renew(list(self.in_progress))
                released = await self.wallet.sweep_expired()
                if released:
                    log.info("released %d credit holds left by a stopped process", released)
            except Exception:  # the database may be briefly away; the next round retries
                log.warning("could not sweep expired credit holds", exc_info=True)
            await asyncio.sleep(every_seconds)


BILLING_HEADER_PREFIX = "x-shoal-"


def balance_headers(balance: Balance, quote: Quote) -> dict[str, str]:
    """Cost and balance on every billed response (``x-shoal-*``, after LiteLLM's precedent)."""
    headers = {
        "x-shoal-cost": credits_str(balance.cost_nanos),
        "x-shoal-billed-units": f"{quote.units:g}",
        "x-shoal-billed-unit": quote.unit,
    }
    if balance.balance_nanos is not None:
        headers["x-shoal-balance"] = credits_str(balance.balance_nanos)
    return headers
