"""Tips: what the pay page offers (the merchant's percentages of what is paid for, or any
amount, or none) and the check on the tip a customer chose. The tip rides on the payment
intent; payments books it apart from sales and refunds it on its own."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from tapgo.payments import services as payments


@dataclass(frozen=True)
class TipChoice:
    percent: int | None  # None: no tip
    amount: int


def tip_choices(merchant, amount: int) -> list[TipChoice]:
    """What the pay page offers: no tip, then the merchant's percentages of `amount` (rounded
    half up to the minor unit). Empty where the merchant takes no tips."""
    if not merchant.tips_on or amount <= 0:
        return []
    return [TipChoice(None, 0)] + [
        TipChoice(p, (amount * p + 50) // 100) for p in merchant.tip_percentages
    ]


def check_tip(merchant, tip, *, of: int) -> int:
    """A tip the customer chose: a whole number of minor units, from zero to the amount it is
    on; none where the merchant takes no tips. Raises PaymentError with a message."""
    if tip in (None, "", 0):
        return 0
    if not merchant.tips_on:
        raise payments.PaymentError(_("This shop does not take tips."))
    if isinstance(tip, bool) or not isinstance(tip, int) or tip < 0:
        raise payments.PaymentError(_("Choose a tip, or no tip."))
    if tip > of:
        raise payments.PaymentError(_("A tip can be at most what you pay for."))
    return tip


def tip_chosen(merchant, *, of: int, choice: str, custom: int | None = None) -> int:
    """The tip a pay form chose: "" or "none" for none, one of the merchant's percentages of
    `of` ("10"), or "custom" with an amount. Raises PaymentError with a message."""
    choice = (choice or "").strip()
    if choice in ("", "none"):
        return 0
    if choice == "custom":
        return check_tip(merchant, custom if custom is not None else -1, of=of)
    offered = {str(c.percent): c.amount for c in tip_choices(merchant, of) if c.percent}
    if choice not in offered:
        raise payments.PaymentError(_("Choose a tip, or no tip."))
    return check_tip(merchant, offered[choice], of=of)
