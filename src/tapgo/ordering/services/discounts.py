"""An order's discount: what its offers (a coupon, a member's level, a points reward) took
off, each shared over its lines (flows/offers.py works out the parts; ordering keeps them).
Written in the transaction that placed the order, while it waits for payment.

The discount is additive: each offer adds its part to the order's `discount` and to its
lines' (one conditional UPDATE each, `total > discount` for the order, `discount + part ≤
price` for a line, the check constraints behind them), and is recorded by name and amount
(an OrderDiscount, once per kind). So a line's discount never passes its price and the order
always pays something."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from tapgo.ordering.models import PAID_STATUSES, Order, OrderDiscount, OrderLine, OrderStatus
from tapgo.ordering.services.base import OrderingError


def order_discount_apply(
    *, order: Order, parts: dict[int, int], label: str, kind: str = "coupon"
) -> Order:
    """Take one offer's `parts` ({order line id: minor units}) off the order's lines and its
    total, on top of what other offers took; the gross (total + discount) stays what the
    items cost. OrderingError when the order is not unpaid, the offer was applied already,
    a part is not on it or more than what is left of its line, or the order would pay
    nothing."""
    discount = sum(parts.values())
    if discount <= 0 or any(part < 0 for part in parts.values()):
        raise OrderingError(_("This offer takes nothing off this order."))
    lines = {line.pk: line for line in OrderLine.objects.filter(order=order, pk__in=parts)}
    if set(lines) != set(parts) or any(
        parts[pk] > ln.subtotal - ln.discount for pk, ln in lines.items()
    ):
        raise OrderingError(_("This offer does not apply to this order."))
    order.refresh_from_db(fields=["total", "discount"])
    if discount >= order.total:
        raise OrderingError(_("This offer would pay for the whole order: add something else."))
    with transaction.atomic():
        try:
            OrderDiscount.objects.create(order=order, kind=kind, label=label[:80], amount=discount)
        except IntegrityError:
            raise OrderingError(_("This order has that kind of offer already.")) from None
        moved = Order.objects.filter(
            pk=order.pk, status=OrderStatus.PENDING_PAYMENT, total__gt=discount
        ).update(total=F("total") - discount, discount=F("discount") + discount)
        if not moved:
            raise OrderingError(_("Offers are used on an order paid when it is placed."))
        for pk in sorted(parts):
            if parts[pk] and not OrderLine.objects.filter(
                pk=pk, discount__lte=F("unit_price") * F("quantity") - parts[pk]
            ).update(discount=F("discount") + parts[pk]):
                raise OrderingError(_("This offer does not apply to this order."))
        labels = " + ".join(d.label for d in OrderDiscount.objects.filter(order=order))
        Order.objects.filter(pk=order.pk).update(discount_label=labels[:80])
    order.refresh_from_db(fields=["total", "discount", "discount_label"])
    return order


def order_discounts(order: Order) -> list[OrderDiscount]:
    """Each offer's part of the order's discount, in the order they were taken off."""
    return list(OrderDiscount.objects.filter(order=order).order_by("id"))


def orders_paid_of(order_ids: list[int]) -> list[Order]:
    """Of these orders, those paid (and not cancelled or rejected since)."""
    return list(Order.objects.filter(pk__in=order_ids, status__in=PAID_STATUSES).order_by("id"))
