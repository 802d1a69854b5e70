"""Money landing for a coupon's order while the order expires (real threads, SQLite and
PostgreSQL): the coupon is checked and the order paid under the order's row lock, so one
wins — paid with the coupon used, or expired with the coupon free and the money given back —
and the books hold either way (the discount posted only for a paid order)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from tapgo.coupons import services as coupons
from tapgo.coupons.models import Coupon, CouponState
from tapgo.flows import checkout as checkout_flows
from tapgo.flows import orders as order_flows
from tapgo.flows import paying
from tapgo.flows.checks import verify_books
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order, OrderStatus
from tapgo.payments.models import LedgerTransaction, PaymentIntent, TxKind
from tapgo.payments.providers import sandbox
from tapgo.payments.tests.sandbox_helpers import deliver_outbox

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("round_", range(3))
def test_money_landing_as_the_order_expires(
    concurrently, make_batch, app, product, customer, round_
):
    coupon = coupons.coupon_issue(batch=make_batch(), customer=customer, source="claimed")
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=2)
    order = checkout_flows.checkout(
        customer=customer,
        app=app,
        checkout_key=f"k{round_}",
        fulfilment="pickup",
        pickup_name="Ann",
        coupon=coupon.public_id,
    )
    intent = paying.intent_for_order(order=order)
    sandbox.decide(intent=intent, approve=True)  # the webhook waits in the outbox
    past = timedelta(seconds=settings.PAYMENT_CONFIRM_SECONDS + 1)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - past)

    def act(i):
        if i == 0:
            return deliver_outbox()
        return order_flows.order_expire(order=Order.objects.get(pk=order.pk))

    results = concurrently(act, 2)
    assert not any(isinstance(r, BaseException) for r in results), results

    order.refresh_from_db()
    held = Coupon.objects.get(pk=coupon.pk)
    intent = PaymentIntent.objects.get(pk=intent.pk)
    posted = LedgerTransaction.objects.filter(kind=TxKind.DISCOUNT, purpose_id=order.pk).count()
    if order.status == OrderStatus.PAID:
        assert held.state == CouponState.USED and intent.counted and posted == 1
    else:
        assert order.status == OrderStatus.EXPIRED, order.status
        assert held.state == CouponState.AVAILABLE and posted == 0
        assert intent.refunded_amount == intent.amount  # a surplus, given back
    assert [str(b) for b in verify_books()] == []
