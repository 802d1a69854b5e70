"""Refunding part of a paid order, by item (the delivery fee with them, or alone) or by an
amount: ordering takes the items and the fee (one
conditional UPDATE each, so two refunds racing for the last item cannot both have it; back
into stock if asked) and prices them; payments gives the money back across the order's
payments (provider payments first, then stored value); a member's points for the order go
back in proportion (flows/membership.py), and so does the order's discount in the books
(flows/sales.py). One transaction: anything wrong changes nothing and says why
(OrderingError). Items are refunded at what was paid for them (their share of the offers'
discounts off); a refund that leaves nothing of the order's money (by items or by an amount)
returns the coupon, while it is valid, and a reward's points."""

from django.db import transaction
from django.utils.translation import gettext as _

from tapgo.flows import membership as points
from tapgo.flows import offers as offer_flows
from tapgo.flows import sales, tables
from tapgo.ordering import locks as ordering_locks
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order
from tapgo.payments import services as payments
from tapgo.payments.models import Purpose, Refund


def order_refund(
    *,
    order: Order,
    lines: dict[int, int] | None = None,
    amount: int | None = None,
    restock: bool = False,
    fee: bool = False,
    reason: str,
    by=None,
) -> list[Refund]:
    """Refund items ({line id: quantity}) and/or the delivery fee (`fee`), or an amount, of a
    paid order. Returns the refunds made (provider payments first, then stored value)."""
    wanted, reason = ordering.refund_check(
        order=order, lines=lines, amount=amount, reason=reason, fee=fee
    )
    with transaction.atomic():
        # The lock order: the order, then its intents. Holding the order's row puts this
        # refund after any transition in flight (a cancelled order restocked already).
        status = ordering_locks.lock_order(order.pk)
        restock = bool(wanted) and restock and ordering.refund_restocks(status)
        recorded = None
        discount = None  # what the refunded items carried of the order's discount
        if wanted is not None:
            amount = discount = 0
            if wanted:
                amount = ordering.refund_items_take(order=order, wanted=wanted, restock=restock)
                discount = sales.listed_price(order=order, wanted=wanted) - amount
            recorded = {str(pk): quantity for pk, quantity in sorted(wanted.items())}
            if fee:
                amount += ordering.refund_fee_take(order=order)
                recorded["delivery_fee"] = order.delivery_fee
        assert amount is not None  # refund_check let through an amount, or items priced above
        purpose, purpose_id = tables.round_money(order)
        try:
            refunds = payments.refund_purpose(
                purpose=purpose,
                purpose_id=purpose_id,
                amount=amount,
                lines=recorded,
                restock=restock,
                reason=reason,
                by=by,
            )
        except payments.RefundError as error:
            raise ordering.OrderingError(str(error)) from None
        # Nothing left of the order's money, or every item back: the refund is whole.
        whole = purpose == Purpose.ORDER and not payments.refundable(purpose, purpose_id)
        sales.order_refunded(order=order, refunds=refunds, discount=discount, whole=whole)
        if whole or (wanted and ordering.refunded_whole(order)):
            # Its offers back: the coupon, if still valid, and a reward's points (the
            # member's row last).
            offer_flows.order_refunded_whole(order=order)
        points.order_refunded(order=order, refunds=refunds)
        return refunds


def order_refund_tip(*, order: Order, reason: str, by=None) -> list[Refund]:
    """Give back the tip paid with an order, on its own (the order's sale stays)."""
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ordering.OrderingError(_("Give a reason for the refund."))
    with transaction.atomic():
        ordering_locks.lock_order(order.pk)
        try:
            return payments.refund_tips(
                purpose=Purpose.ORDER, purpose_id=order.pk, reason=reason, by=by
            )
        except payments.RefundError as error:
            raise ordering.OrderingError(str(error)) from None
