"""Memo postings: the discount a purpose (an order) was paid with, and a refund's share of it
given back (docs/decisions/0004-ledger.md).

No money moves: a discount is Dr discounts, Cr gross_memo, beside the money's own postings
(which carry the net), so the books show gross (money + memo), discount and net. Keys make a
replay harmless: `discount:<purpose>:<id>` posts once, `discount_back:<refund>` once per
refund, and a refund the provider then fails has its share reversed with it
(refunds.refund_failed reverses every posting of the refund but its fee).
"""

from django.db.models import Sum

from tapgo.core.money import allocate
from tapgo.payments import ledger
from tapgo.payments.models import AccountKind, LedgerEntry, LedgerTransaction, Refund, TxKind


def _accounts(merchant, currency: str):
    return (
        ledger.account(AccountKind.DISCOUNTS, currency=currency, merchant=merchant),
        ledger.account(AccountKind.GROSS_MEMO, currency=currency, merchant=merchant),
    )


def discount_post(
    *, merchant, currency: str, purpose: str, purpose_id: int, amount: int
) -> LedgerTransaction | None:
    """The purpose was paid with `amount` off: post it, once (None when nothing to post or
    posted already)."""
    if amount <= 0:
        return None
    discounts, gross = _accounts(merchant, currency)
    return ledger.post(
        kind=TxKind.DISCOUNT,
        merchant=merchant,
        currency=currency,
        key=f"discount:{purpose}:{purpose_id}",
        entries=[(discounts, amount), (gross, -amount)],
        purpose=purpose,
        purpose_id=purpose_id,
    )


def discount_held(purpose: str, purpose_id: int) -> int:
    """What of a purpose's discount the books hold now: posted, less what refunds gave back
    (net of refunds that failed)."""
    total = LedgerEntry.objects.filter(
        transaction__purpose=purpose,
        transaction__purpose_id=purpose_id,
        account__kind=AccountKind.DISCOUNTS,
    ).aggregate(total=Sum("amount"))["total"]
    return total or 0


def discount_return(
    *, refunds: list[Refund], purpose: str, purpose_id: int, amount: int
) -> list[LedgerTransaction]:
    """Refunds of the purpose were made: `amount` of its discount goes back with them, shared
    over them in proportion to what each gave back of the sale (its tip apart), each part
    once, linked to its refund (so its failure reverses it)."""
    weights = [refund.amount - refund.tip for refund in refunds]
    if amount <= 0 or not refunds or sum(weights) <= 0:
        return []
    made = []
    for refund, part in zip(refunds, allocate(amount, weights), strict=True):
        if part <= 0:
            continue
        intent = refund.intent
        discounts, gross = _accounts(intent.merchant, refund.currency)
        tx = ledger.post(
            kind=TxKind.DISCOUNT_BACK,
            merchant=intent.merchant,
            currency=refund.currency,
            key=f"discount_back:{refund.pk}",
            entries=[(gross, part), (discounts, -part)],
            intent=intent,
            refund=refund,
            purpose=purpose,
            purpose_id=purpose_id,
        )
        if tx is not None:
            made.append(tx)
    return made
