"""Payments under concurrency: one intent per order, one application per provider event."""

import pytest

from tapgo.flows.paying import intent_for_order
from tapgo.flows.payment_events import webhook_receive
from tapgo.ordering.models import Order, OrderEvent, OrderStatus
from tapgo.payments.models import IntentStatus, PaymentIntent, WebhookEvent
from tapgo.payments.providers import sandbox

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def test_refresh_during_payment_makes_one_intent(concurrently, order):
    def open_pay_page(_i):
        return intent_for_order(order=Order.objects.get(pk=order.pk))

    for _round in range(3):
        PaymentIntent.objects.all().delete()
        results = concurrently(open_pay_page, 2)

        assert all(isinstance(r, PaymentIntent) for r in results), results
        assert results[0].pk == results[1].pk
        assert PaymentIntent.objects.count() == 1


def test_twenty_deliveries_of_one_webhook_pay_once(concurrently, order):
    intent = intent_for_order(order=order)
    body = sandbox.event_body(
        event_id="evt_race",
        kind="payment.succeeded",
        intent_public_id=intent.public_id,
        amount=intent.amount,
        currency=intent.currency,
    )
    signature = sandbox.sign(body)

    results = concurrently(
        lambda _i: webhook_receive(
            provider="sandbox", body=body, headers={sandbox.HEADER: signature or ""}
        ),
        20,
    )

    assert sorted(map(str, results)) == ["applied"] + ["duplicate"] * 19, results
    assert WebhookEvent.objects.count() == 1
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert OrderEvent.objects.filter(order=order, status=OrderStatus.PAID).count() == 1
    assert PaymentIntent.objects.get().status == IntentStatus.SUCCEEDED


def test_payment_racing_expiry_ends_paid_or_refunded_never_both(concurrently, order, product):
    from datetime import timedelta

    from django.utils import timezone

    from tapgo.catalog.models import Product
    from tapgo.flows.orders import order_expire

    for round_ in range(6):
        if round_:
            order = _fresh_order(order.customer, order.app, product, key=f"round-{round_}")
        intent = intent_for_order(order=order)
        Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        body = sandbox.event_body(
            event_id=f"evt_{round_}",
            kind="payment.succeeded",
            intent_public_id=intent.public_id,
            amount=intent.amount,
            currency=intent.currency,
        )
        signature = sandbox.sign(body)

        def act(i, order=order, body=body, signature=signature):
            if i == 0:
                return order_expire(order=Order.objects.get(pk=order.pk))
            return webhook_receive(
                provider="sandbox", body=body, headers={sandbox.HEADER: signature or ""}
            )

        expired, received = concurrently(act, 2)

        assert not isinstance(expired, BaseException), expired
        assert not isinstance(received, BaseException), received
        intent.refresh_from_db()
        final = (
            Order.objects.get(pk=order.pk).status,
            intent.status,
            intent.refunded_amount == intent.amount,
        )
        assert final in {
            (OrderStatus.PAID, IntentStatus.SUCCEEDED, False),
            (OrderStatus.EXPIRED, IntentStatus.SUCCEEDED, True),
        }, final
        held = Order.objects.filter(status=OrderStatus.PAID).count() * 2
        assert Product.objects.get(pk=product.pk).stock == 20 - held


def _fresh_order(customer, app, product, *, key):
    from tapgo.ordering.services import cart_add, order_place

    cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=2)
    return order_place(
        customer=customer, app=app, checkout_key=key, fulfilment="pickup", pickup_name="Ann"
    )
