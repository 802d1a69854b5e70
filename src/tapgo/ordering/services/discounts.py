"""An order's discount: what its offers (a coupon, a member's level, a points reward) took
off, each shared over its lines (flows/offers.py works out the parts; ordering keeps them).
Written in the transaction that placed the order, while it waits for payment.

The discount is additive: each offer adds its part to the order's `discount` and to its
lines' (one conditional UPDATE for the order, `total > discount`, and one for all its lines,
`discount + part ≤ price` for each, the check constraints behind them), and is recorded by
name and amount (an OrderDiscount, once per kind). So a line's discount never passes its
price and the order always pays something."""

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Value, When
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
    nothing.

    `order` as the last call returned it (or as read): its total, discount and label are the
    base of one conditional UPDATE (read again and tried once more when they moved meanwhile),
    and the order returned carries the new ones, so nothing is read back."""
    discount = sum(parts.values())
    if discount <= 0 or any(part < 0 for part in parts.values()):
        raise OrderingError(_("This offer takes nothing off this order."))
    if discount >= order.total:  # a total read earlier is never below the one now
        raise OrderingError(_("This offer would pay for the whole order: add something else."))
    label = label[:80]
    with transaction.atomic():
        try:
            OrderDiscount.objects.create(order=order, kind=kind, label=label, amount=discount)
        except IntegrityError:
            raise OrderingError(_("This order has that kind of offer already.")) from None
        for attempt in range(2):
            labels = f"{order.discount_label} + {label}" if order.discount_label else label
            moved = Order.objects.filter(
                pk=order.pk,
                status=OrderStatus.PENDING_PAYMENT,
                total=order.total,
                discount=order.discount,
                discount_label=order.discount_label,
                total__gt=discount,
            ).update(
                total=F("total") - discount,
                discount=F("discount") + discount,
                discount_label=labels[:80],
            )
            if moved:
                break
            order.refresh_from_db(fields=["status", "total", "discount", "discount_label"])
            if order.status != OrderStatus.PENDING_PAYMENT or attempt:
                raise OrderingError(_("Offers are used on an order paid when it is placed."))
            if discount >= order.total:
                raise OrderingError(
                    _("This offer would pay for the whole order: add something else.")
                )
        # Every line in one conditional UPDATE: each part on a line of this order and at most
        # what is left of it (the check constraints behind), or nothing of the offer stays.
        part = Case(
            *(When(pk=pk, then=Value(amount)) for pk, amount in parts.items() if amount),
            default=Value(0),
            output_field=IntegerField(),
        )
        wanted = sum(1 for amount in parts.values() if amount)
        if (
            OrderLine.objects.filter(order_id=order.pk, pk__in=[pk for pk in parts if parts[pk]])
            .alias(part=part)
            .filter(discount__lte=F("unit_price") * F("quantity") - F("part"))
            .update(discount=F("discount") + part)
            != wanted
        ):
            raise OrderingError(_("This offer does not apply to this order."))
    order.total -= discount
    order.discount += discount
    order.discount_label = labels[:80]
    return order


def order_discounts(order: Order) -> list[OrderDiscount]:
    """Each offer's part of the order's discount, in the order they were taken off."""
    return list(OrderDiscount.objects.filter(order=order).order_by("id"))


def orders_paid_of(order_ids: list[int]) -> list[Order]:
    """Of these orders, those paid (and not cancelled or rejected since)."""
    return list(Order.objects.filter(pk__in=order_ids, status__in=PAID_STATUSES).order_by("id"))
