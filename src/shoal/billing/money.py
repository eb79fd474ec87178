"""Credits as exact integers: 1 credit (one US dollar of list price) = 10⁹ nanocredits."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

NANOS_PER_CREDIT = 1_000_000_000


def to_nanos(credits: Decimal | float | int | str) -> int:
    try:
        value = Decimal(str(credits))
    except InvalidOperation:
        raise ValueError(f"{credits!r} is not a number of credits") from None
    if not value.is_finite():
        raise ValueError(f"{credits!r} is not a number of credits")
    return int((value * NANOS_PER_CREDIT).to_integral_value(ROUND_HALF_UP))


def to_credits(nanos: int) -> Decimal:
    return (Decimal(nanos) / NANOS_PER_CREDIT).normalize() if nanos else Decimal(0)


def credits_str(nanos: int) -> str:
    """A decimal string without exponent, e.g. ``"12.5"`` or ``"0.000345"``."""
    return format(to_credits(nanos), "f")
