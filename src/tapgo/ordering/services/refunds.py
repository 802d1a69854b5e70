"""Refunding part of an order: which items (taken with one conditional UPDATE each, so two
refunds racing for the last item cannot both have it) and what they cost, and the delivery
fee (taken once, the same way). The money is payments'; flows/refunds.py puts the two
together."""

from django.db.models import F
from django.utils.translation import gettext as _

from tapgo.catalog import services as catalog
from tapgo.ordering.models import MAX_LINE_QUANTITY, Order, OrderLine
from tapgo.ordering.services.base import OrderingError, check_text
from tapgo.ordering.services.transitions import RELEASES_STOCK


def refund_check(
    *, order: Order, lines: dict | None, amount: int | None, reason: str, fee: bool = False
) -> tuple[dict[int, int] | None, str]:
    """Check a refund asked for by item ({line id: quantity}, and/or the delivery fee when
    `fee`) or by an amount, changing nothing: OrderingError with a message for anything wrong
    (an unpaid order, bad input). Returns the items wanted (None for an amount; empty for
    the fee alone) and the reason, trimmed."""
    reason = (reason or "").strip()
    check_text(reason)
    if not reason:
        raise OrderingError(_("Give a reason for the refund."))
    if len(reason) > 200:
        raise OrderingError(_("The reason has at most 200 characters."))
    if order.paid_at is None:
        raise OrderingError(_("Only a paid order can be refunded."))
    if fee:
        if amount is not None:
            raise OrderingError(_("Refund either items or an amount."))
        if not order.delivery_fee or order.delivery_fee_refunded:
            raise OrderingError(_("This order has no delivery fee left to refund."))
        return (_refund_quantities(lines, allow_none=True) if lines else {}), reason
    if (lines is None) == (amount is None):
        raise OrderingError(_("Refund either items or an amount."))
    if amount is not None:
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise OrderingError(_("Enter an amount above zero."))
        if amount > order.total:
            raise OrderingError(_("That is more than the order's total."))
        return None, reason
    assert lines is not None  # exactly one of the two was given, and not the amount
    return _refund_quantities(lines), reason


def refund_restocks(status: str) -> bool:
    """Whether refunded items may go back into stock: not when the order (cancelled,
    rejected, expired) has put them back already. Read the status under the order's lock
    (ordering/locks.py), so a transition in flight comes first."""
    return status not in RELEASES_STOCK


def refund_items_take(*, order: Order, wanted: dict[int, int], restock: bool) -> int:
    """Mark items refunded (back into stock when `restock`) and return what was paid for
    them (their price less their share of the order's discount)."""
    return _take_refund_quantities(order, wanted, restock=restock)


def refund_fee_take(*, order: Order) -> int:
    """Mark the delivery fee refunded (one conditional UPDATE: of two refunds racing for it,
    one has it) and return it."""
    if not order.delivery_fee or not Order.objects.filter(
        pk=order.pk, delivery_fee_refunded=False
    ).update(delivery_fee_refunded=True):
        raise OrderingError(_("This order has no delivery fee left to refund."))
    order.delivery_fee_refunded = True
    return order.delivery_fee


def _refund_quantities(lines: dict, *, allow_none: bool = False) -> dict[int, int]:
    wanted = {}
    for line_id, quantity in lines.items():
        try:
            line_id = int(line_id)
        except (TypeError, ValueError):
            line_id = 0
        if not 0 < line_id < 2**63:
            raise OrderingError(_("That item is not on this order."))
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 0 <= quantity <= MAX_LINE_QUANTITY
        ):
            raise OrderingError(_("Choose how many of each item to refund."))
        if quantity:
            wanted[line_id] = quantity
    if not wanted and not allow_none:
        raise OrderingError(_("Choose at least one item to refund."))
    return wanted


def _take_refund_quantities(order: Order, wanted: dict[int, int], *, restock: bool) -> int:
    """Mark the quantities refunded (one conditional UPDATE per line, in primary-key order, so
    two refunds of one order never wait on each other); returns what they cost."""
    order_lines = {line.pk: line for line in OrderLine.objects.filter(order=order, pk__in=wanted)}
    if set(order_lines) != set(wanted):
        raise OrderingError(_("That item is not on this order."))
    amount = 0
    for line_id in sorted(wanted):
        line, quantity = order_lines[line_id], wanted[line_id]
        taken = OrderLine.objects.filter(
            pk=line_id, refunded_quantity__lte=F("quantity") - quantity
        ).update(refunded_quantity=F("refunded_quantity") + quantity)
        if not taken:
            total, refunded = (
                OrderLine.objects.filter(pk=line_id)
                .values_list("quantity", "refunded_quantity")
                .get()
            )
            raise OrderingError(
                _("Only %(n)d of %(name)s left to refund.")
                % {"n": total - refunded, "name": line.name}
            )
        # What was paid for these units (the line's discount given to its units in turn):
        # read after the UPDATE, which holds the line's row until commit.
        after = OrderLine.objects.filter(pk=line_id).values_list("refunded_quantity", flat=True)
        amount += line.paid_for(quantity, already=after.get() - quantity)
        if restock:
            catalog.stock_release(
                product_id=line.product_id, variant_id=line.variant_id, quantity=quantity
            )
    return amount


def refunded_value(order: Order) -> int:
    """What was paid for the order's refunded items (after their share of any discount)."""
    return sum(line.paid_for(line.refunded_quantity) for line in order.lines.all())


def refunded_whole(order: Order) -> bool:
    """Whether every item of the order (and its delivery fee) has been refunded."""
    fee_left = (
        order.delivery_fee
        and not Order.objects.filter(pk=order.pk, delivery_fee_refunded=True).exists()
    )
    return not fee_left and not order.lines.filter(refunded_quantity__lt=F("quantity")).exists()
