"""Coupons with orders: what crosses coupons and ordering (and messaging, for reminders).

- placing: the coupon is held for the order (coupons: one conditional UPDATE) and its
  discount shared over the order's lines by largest remainder (ordering keeps it), in the
  transaction that placed the order; a coupon that no longer applies to the cart refuses
  the whole checkout with its reason;
- paying: checked again before the money is taken and when it lands (its offer stopped or
  the coupon expired meanwhile: the order is not paid at that price); used when the order is
  paid, and the merchant's next-order coupons issued;
- ending: released when the order ends unpaid; returned when the whole paid order is
  refunded and the coupon is still valid (a partial refund keeps it used);
- reminders: "coupon about to expire", once per coupon, to customers who asked.

Lock order: the order's row (ordering), then the coupon's conditional UPDATEs.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from tapgo.core import links
from tapgo.core import translations as texts
from tapgo.coupons import services as coupons
from tapgo.coupons.models import Coupon, Source
from tapgo.identity.models import Customer
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.miniapps.models import MiniApp
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order, OrderLine, OrderStatus

log = logging.getLogger(__name__)

REMIND_WITHIN = timedelta(days=2)


def order_lines(order: Order) -> list[OrderLine]:
    """The order's lines as the offers read them (once a checkout), in order."""
    return list(order.lines.select_related("product").order_by("id"))


def _lines(lines: list[OrderLine]) -> list[coupons.Line]:
    return [
        coupons.Line(
            key=line.pk,
            product_id=line.product_id,
            category_id=line.product.category_id,
            unit_price=line.unit_price,
            quantity=line.quantity,
        )
        for line in lines
    ]


def order_coupon_apply(*, order: Order, customer: Customer, code: str) -> Order:
    """Hold the customer's coupon for a just-placed order and take its discount off; call in
    the transaction that placed it. A repeated checkout (the same order back) is left as
    it is. OrderingError with the reason when the coupon does not apply."""
    if order.discount or coupons.coupon_of_order(order.pk) is not None:
        return order  # the first click's order, with its coupon
    order, _coupon, _parts = coupon_hold(
        order=order, customer=customer, code=code, lines=order_lines(order)
    )
    return order


def coupon_hold(
    *, order: Order, customer: Customer, code: str, lines: list[OrderLine]
) -> tuple[Order, Coupon, dict[int, int]]:
    """Hold the customer's coupon `code` for an order just placed (nothing off it yet; its
    `lines` as order_lines read them) and take its discount off: the order, the coupon and
    what it took off each line. OrderingError with the reason when it does not apply."""
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise ordering.OrderingError(_("A coupon is used on an order paid when it is placed."))
    try:
        coupon, parts = coupons.coupon_reserve(
            customer=customer,
            merchant_id=order.merchant_id,
            code=code,
            order_id=order.pk,
            lines=_lines(lines),
            total=order.total,
        )
    except coupons.CouponError as exc:
        raise ordering.OrderingError(str(exc)) from None
    order = ordering.order_discount_apply(order=order, parts=parts, label=coupon.batch.name)
    return order, coupon, parts


def order_coupon_payable(order: Order) -> None:
    """OrderingError when the order's coupon can no longer be used (the pay page says so and
    takes no money; money that lands anyway is given back)."""
    try:
        coupons.coupon_check_payable(order_id=order.pk)
    except coupons.CouponError as exc:
        raise ordering.OrderingError(str(exc)) from None


def order_paid(*, order: Order) -> None:
    """The order was paid: its coupon is used, and the merchant's next-order coupons are
    issued to the customer (each within its caps; one that is full is skipped)."""
    coupons.coupon_use(order_id=order.pk)
    customer = Customer.objects.get(pk=order.customer_id)
    for batch in coupons.batches_issued_after_payment(order.merchant_id):
        try:
            with transaction.atomic():
                coupons.coupon_issue(
                    batch=batch,
                    customer=customer,
                    source=Source.NEXT_ORDER,
                    source_ref=order.public_id,
                )
        except coupons.CouponError as exc:
            log.info("next-order coupon %s not issued: %s", batch.public_id, exc)


def order_ended_unpaid(*, order: Order) -> None:
    """The order expired or was cancelled before it was paid: its coupon is free again."""
    coupons.coupon_release(order_id=order.pk)


def order_refunded_whole(*, order: Order) -> None:
    """The whole paid order was refunded: its coupon comes back while it is valid."""
    coupons.coupon_return(order_id=order.pk)


def cart_offers(
    *, customer: Customer | None, app: MiniApp, view: ordering.CartView
) -> list[coupons.Offer]:
    """The customer's coupons for their cart in this app (`view`, as the cart page read it),
    best first (checkout suggests the first that applies)."""
    if customer is None or not view.lines:
        return []
    lines = [
        coupons.Line(
            key=index,
            product_id=line.product_id,
            category_id=line.product.category_id,
            unit_price=line.unit_price,
            quantity=line.quantity,
        )
        for index, line in enumerate(view.lines)
    ]
    return coupons.offers_for_cart(customer=customer, merchant_id=app.merchant_id, lines=lines)


@dataclass(frozen=True)
class BatchSales:
    orders: int  # paid orders that used a coupon of the batch (refunded ones returned it)
    revenue: int  # what they paid
    discount: int  # what the coupons took off them


def batch_sales(batch) -> BatchSales:
    orders = ordering.orders_paid_of(coupons.order_ids_of_batch(batch))
    return BatchSales(
        orders=len(orders),
        revenue=sum(o.total for o in orders),
        discount=sum(o.discount for o in orders),
    )


# --- reminders ------------------------------------------------------------------------------


def coupons_remind_expiring(*, within: timedelta = REMIND_WITHIN) -> int:
    """Tell customers who asked that a coupon of theirs ends soon: once per coupon (its
    reminder is taken by a conditional UPDATE before the message is written, in one
    transaction). Returns how many coupons were taken."""
    taken = 0
    for coupon in coupons.coupons_to_remind(within=within):
        with transaction.atomic():
            if not coupons.coupon_mark_reminded(coupon=coupon):
                continue
            taken += 1
            _remind(coupon)
    return taken


def _remind(coupon: Coupon) -> None:
    app = (
        MiniApp.objects.select_related("merchant")
        .filter(merchant_id=coupon.merchant_id)
        .order_by("id")
        .first()
    )
    if app is None:
        return
    messaging.notify_quietly(
        customer=coupon.customer,
        app=app,
        key=TemplateKey.COUPON_EXPIRING,
        values={
            "app": texts.of(app, "name", app.merchant.language),
            "coupon": coupon.batch.name,
            "expires": coupon.expires_at.isoformat(),
        },
        link=links.coupons(app.slug),
        dedupe=f"coupon:{coupon.public_id}:expiring",
    )


def coupons_sweep() -> int:
    """The worker's sweep: expire coupons past their end, then remind about those ending."""
    return coupons.coupons_expire_due() + coupons_remind_expiring()
