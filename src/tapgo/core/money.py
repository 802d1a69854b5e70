"""Money is an integer in minor units plus an ISO 4217 code. Never a float."""

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision
from django.utils import translation

MAX_AMOUNT = 100_000_000  # 1,000,000.00 in a two-decimal currency: above is a typo, not a price


class MoneyError(ValueError):
    pass


def minor_digits(currency: str) -> int:
    return get_currency_precision(currency)


def to_decimal(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-minor_digits(currency))


def parse_amount(text: str, currency: str) -> int:
    """Turn what a person typed ("12", "12.5", "12.50") into minor units, exactly."""
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation as exc:
        raise MoneyError("not a number") from exc
    if not value.is_finite():
        raise MoneyError("not a number")
    if value.adjusted() > 12:  # checked on the exponent: no huge number is ever built
        raise MoneyError("too large")
    minor = value.scaleb(minor_digits(currency))
    if minor != minor.to_integral_value():
        raise MoneyError("too many decimal places")
    return int(minor)


def format_money(amount: int, currency: str, locale: str | None = None) -> str:
    locale = (locale or translation.get_language() or "en").replace("-", "_")
    if locale.lower() == "zh_hans":
        locale = "zh_Hans_CN"
    return format_currency(to_decimal(amount, currency), currency, locale=locale)


def amount_input(amount: int, currency: str) -> str:
    """The amount as a plain decimal string for a form field ("12.50")."""
    return f"{to_decimal(amount, currency):f}"


def allocate(total: int, weights: list[int]) -> list[int]:
    """`total` in integer parts proportional to `weights` by largest remainder: they add up
    to `total` exactly; each part is within one minor unit of its exact share, and ties go
    to the earlier weights. Equal weights make an equal split (the larger parts first)."""
    if not weights or any(w < 0 for w in weights) or not sum(weights):
        raise MoneyError("nothing to allocate over")
    whole = sum(weights)
    parts = [total * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in remainders[: total - sum(parts)]:
        parts[i] += 1
    return parts
