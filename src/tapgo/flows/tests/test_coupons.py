"""Checking out with a coupon: the discount shared over the lines, the coupon's life with the
order (held, released, used, returned), the checks when the money lands, item refunds at
what was paid, next-order coupons, reminders."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tapgo.core.actors import Actor
from tapgo.coupons import services as coupons
from tapgo.coupons.models import Coupon, CouponState
from tapgo.flows import checkout as checkout_flows
from tapgo.flows import coupons as coupon_flows
from tapgo.flows import orders as order_flows
from tapgo.flows import paying
from tapgo.flows.refunds import order_refund
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order, OrderLine, OrderStatus
from tapgo.payments.models import Refund
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def coupon(make_batch, customer):
    return coupons.coupon_issue(batch=make_batch(), customer=customer, source="claimed")


def _checkout(customer, app, product, *, quantity=2, key="k1", code="", extra=None):
    ordering.cart_add(
        customer=customer, app=app, product_public_id=product.public_id, quantity=quantity
    )
    if extra is not None:
        ordering.cart_add(customer=customer, app=app, product_public_id=extra.public_id, quantity=1)
    return checkout_flows.checkout(
        customer=customer,
        app=app,
        checkout_key=key,
        fulfilment="pickup",
        pickup_name="Ann",
        coupon=code,
    )


def _state(coupon):
    return Coupon.objects.get(pk=coupon.pk).state


def test_a_coupon_takes_its_discount_off_the_lines(customer, app, product, category, coupon):
    from tapgo.flows.listings import product_create

    cake = product_create(merchant=app.merchant, category=category, name="Cake", price=1800)
    order = _checkout(customer, app, product, code=coupon.public_id, extra=cake)

    assert (order.gross, order.discount, order.total) == (2600 * 2 + 1800, 500, 7000 - 500)
    assert order.discount_label == "¥5 off ¥30"
    lines = list(OrderLine.objects.filter(order=order))
    assert [ln.discount for ln in lines] == [371, 129]  # 500 × 5200/7000, 500 × 1800/7000
    assert sum(ln.discount for ln in lines) == order.discount
    assert _state(coupon) == CouponState.RESERVED
    assert coupons.coupon_of_order(order.pk) == coupon

    # a refresh of "place order" returns the same order, with its one discount
    again = checkout_flows.checkout(
        customer=customer,
        app=app,
        checkout_key="k1",
        fulfilment="pickup",
        pickup_name="Ann",
        coupon=coupon.public_id,
    )
    assert again.pk == order.pk and Order.objects.get(pk=order.pk).discount == 500


def test_a_form_sent_again_with_a_coupon_leaves_the_placed_order_as_it_is(
    customer, app, product, coupon
):
    # Placed without a coupon; the customer goes back and sends the same form (its checkout
    # key) again with the coupon chosen: the order the first request made comes back as it
    # was, not discounted after it was placed (a payment started for its total would fail).
    order = _checkout(customer, app, product)
    again = checkout_flows.checkout(
        customer=customer,
        app=app,
        checkout_key="k1",
        fulfilment="pickup",
        pickup_name="Ann",
        coupon=coupon.public_id,
    )
    assert again.pk == order.pk
    assert (Order.objects.get(pk=order.pk).discount, order.total) == (0, 5200)
    assert _state(coupon) == CouponState.AVAILABLE


def test_a_coupon_that_does_not_apply_places_nothing(customer, app, product, coupon):
    with pytest.raises(ordering.OrderingError, match="Spend"):
        _checkout(customer, app, product, quantity=1, code=coupon.public_id)

    assert not Order.objects.exists()
    assert _state(coupon) == CouponState.AVAILABLE
    assert ordering.cart_view(customer=customer, app=app).lines  # the cart is still there
    with pytest.raises(ordering.OrderingError, match="not one of yours"):
        _checkout(customer, app, product, quantity=1, key="k2", code="nonsense")


def test_paid_uses_it_and_a_partial_refund_keeps_it_used(customer, app, product, coupon):
    order = _checkout(customer, app, product, quantity=3, code=coupon.public_id)
    pay_by_sandbox(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and _state(coupon) == CouponState.USED
    line = order.lines.get()
    assert line.discount == 500

    # each latte refunded at what was paid for it: 7800 - 500 over three, to the unit
    refunds = [order_refund(order=order, lines={line.pk: 1}, reason="cold") for _ in range(2)]
    assert [sum(r.amount for r in batch) for batch in refunds] == [2600 - 166, 2600 - 167]
    assert _state(coupon) == CouponState.USED
    order_refund(order=order, lines={line.pk: 1}, reason="cold")
    assert sum(r.amount for r in Refund.objects.all()) == order.total == 7300
    assert _state(coupon) == CouponState.AVAILABLE  # every item back: the coupon too


def _cancel(order, owner):
    order = Order.objects.get(pk=order.pk)
    order_flows.order_cancel(order=order, reason="closing", actor=Actor.staff(owner))


def test_a_cancelled_paid_order_returns_it_unless_it_expired(customer, app, product, coupon, owner):
    order = _checkout(customer, app, product, code=coupon.public_id)
    pay_by_sandbox(order)
    Coupon.objects.filter(pk=coupon.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    order_flows.order_cancel(
        order=Order.objects.get(pk=order.pk), reason="closing", actor=Actor.staff(owner)
    )
    assert _state(coupon) == CouponState.USED  # no longer valid: stays used

    Coupon.objects.filter(pk=coupon.pk).update(
        expires_at=timezone.now() + timedelta(days=1), state="available", order_id=None
    )
    order = _checkout(customer, app, product, key="k2", code=coupon.public_id)
    pay_by_sandbox(order)
    order_flows.order_cancel(
        order=Order.objects.get(pk=order.pk), reason="closing", actor=Actor.staff(owner)
    )
    assert _state(coupon) == CouponState.AVAILABLE


def test_an_unpaid_order_that_ends_releases_it(customer, app, product, coupon):
    order = _checkout(customer, app, product, code=coupon.public_id)
    order_flows.order_cancel_unpaid(order=order)
    assert _state(coupon) == CouponState.AVAILABLE

    order = _checkout(customer, app, product, key="k2", code=coupon.public_id)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert order_flows.order_expire(order=Order.objects.get(pk=order.pk))
    assert _state(coupon) == CouponState.AVAILABLE


def test_a_stopped_offer_is_not_paid_for(customer, app, product, coupon):
    order = _checkout(customer, app, product, code=coupon.public_id)
    intent = paying.intent_for_order(order=order)  # the pay page opened in time
    coupons.batch_stop(batch=coupon.batch)

    with pytest.raises(Exception, match="offer of this order's coupon has ended"):
        paying.intent_for_order(order=order)
    # the money lands anyway: the order is not paid at that price, the money goes back
    from tapgo.payments.providers import sandbox
    from tapgo.payments.tests.sandbox_helpers import deliver_outbox

    sandbox.decide(intent=intent, approve=True)
    deliver_outbox()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert _state(coupon) == CouponState.RESERVED
    assert sum(r.amount for r in Refund.objects.all()) == order.total


def test_a_paid_order_issues_next_order_coupons(customer, app, product, make_batch):
    batch = make_batch(name="¥3 next time", kind="next_order", value=300, min_spend=0)
    order = _checkout(customer, app, product)
    pay_by_sandbox(order)

    got = Coupon.objects.get(customer=customer)
    assert (got.batch, got.source, got.source_ref) == (batch, "next_order", order.public_id)
    second = _checkout(customer, app, product, key="k2")
    pay_by_sandbox(second)  # the per-customer cap of 1: no second one
    assert Coupon.objects.filter(customer=customer).count() == 1


def test_the_best_coupon_is_offered_first(customer, app, product, make_batch):
    small = coupons.coupon_issue(batch=make_batch(), customer=customer, source="claimed")
    big = coupons.coupon_issue(
        batch=make_batch(name="10%", kind="percent", value=10, min_spend=0),
        customer=customer,
        source="claimed",
    )
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=1)

    view = ordering.cart_view(customer=customer, app=app)
    offers = coupon_flows.cart_offers(customer=customer, app=app, view=view)
    assert [(o.coupon, o.discount) for o in offers] == [(big, 260), (small, 0)]
    assert "Spend" in offers[1].reason


def test_a_reminder_goes_once_to_who_asked(customer, app, coupon, make_batch):
    from tapgo.identity.services import customer_create_guest
    from tapgo.messaging import services as messaging
    from tapgo.messaging.keys import TemplateKey
    from tapgo.messaging.models import Message, Template

    template = Template.objects.get(key=TemplateKey.COUPON_EXPIRING)
    messaging.app_template_switch(app=app, template=template, on=True)
    messaging.consent_give(
        customer=customer, app=app, key=TemplateKey.COUPON_EXPIRING, standing=True
    )
    silent = customer_create_guest()  # never asked
    theirs = coupons.coupon_issue(batch=make_batch(name="Other"), customer=silent, source="claimed")
    soon = timezone.now() + timedelta(hours=5)
    Coupon.objects.filter(pk__in=[coupon.pk, theirs.pk]).update(expires_at=soon)

    assert coupon_flows.coupons_remind_expiring() == 2
    assert coupon_flows.coupons_remind_expiring() == 0
    message = Message.objects.get()
    assert (message.customer, message.template) == (customer, template)
    assert message.link == f"/m/{app.slug}/coupons/"
    Coupon.objects.filter(pk=coupon.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    assert coupon_flows.coupons_sweep() == 1
    assert _state(coupon) == CouponState.EXPIRED


def test_a_guests_coupons_follow_them_when_they_sign_in(customer, coupon):
    from tapgo.coupons.models import CustomerCount
    from tapgo.flows.customers import customer_merge
    from tapgo.identity.models import Customer

    account = Customer.objects.create(email="ann@example.test")
    customer_merge(source=customer, target=account)

    assert Coupon.objects.get(pk=coupon.pk).customer == account
    assert CustomerCount.objects.get().customer == account
    with pytest.raises(coupons.CouponError, match="you can have"):
        coupons.coupon_issue(batch=coupon.batch, customer=account, source="claimed")
