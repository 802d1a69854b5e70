"""An order's discount: what a coupon took off, shared over its lines (flows/coupons.py
works out the parts; ordering keeps them). Written once, in the transaction that placed the
order, while it waits for payment: one conditional UPDATE of the order (`discount = 0`)."""

from django.db.models import F
from django.utils.translation import gettext as _

from tapgo.ordering.models import PAID_STATUSES, Order, OrderLine, OrderStatus
from tapgo.ordering.services.base import OrderingError


def order_discount_apply(*, order: Order, parts: dict[int, int], label: str) -> Order:
    """Take `parts` ({order line id: minor units}) off the order's lines and its total; the
    gross (total + discount) stays what the items cost. OrderingError when the order is not
    an unpaid one without a discount, or a part is not on it or more than its line."""
    discount = sum(parts.values())
    if discount <= 0 or any(part < 0 for part in parts.values()):
        raise OrderingError(_("This coupon takes nothing off this order."))
    lines = {line.pk: line for line in OrderLine.objects.filter(order=order, pk__in=parts)}
    if set(lines) != set(parts) or any(parts[pk] > ln.subtotal for pk, ln in lines.items()):
        raise OrderingError(_("This coupon does not apply to this order."))
    if discount >= order.total:
        raise OrderingError(_("This coupon would pay for the whole order: add something else."))
    moved = Order.objects.filter(
        pk=order.pk, discount=0, status=OrderStatus.PENDING_PAYMENT, total__gt=discount
    ).update(total=F("total") - discount, discount=discount, discount_label=label[:80])
    if not moved:
        raise OrderingError(_("A coupon is used on an order paid when it is placed."))
    for pk in sorted(parts):
        OrderLine.objects.filter(pk=pk).update(discount=parts[pk])
    order.refresh_from_db(fields=["total", "discount", "discount_label"])
    return order


def orders_paid_of(order_ids: list[int]) -> list[Order]:
    """Of these orders, those paid (and not cancelled or rejected since)."""
    return list(Order.objects.filter(pk__in=order_ids, status__in=PAID_STATUSES).order_by("id"))
