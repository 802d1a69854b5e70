"""The order state machine: every allowed move, every forbidden one, and what each one does,
for each fulfilment (a delivery order goes out for delivery before it is completed; no other
order ever does)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tapgo.catalog.models import Product
from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.flows.paying import intent_for_order
from tapgo.ordering import services
from tapgo.ordering.models import Fulfilment, Order, OrderEvent, OrderStatus
from tapgo.ordering.services import (
    RELEASES_STOCK,
    TRANSITIONS,
    TransitionError,
    next_statuses,
    transitions,
)
from tapgo.payments.models import IntentStatus, PaymentIntent, Purpose

S = OrderStatus
F = Fulfilment
ALLOWED = sorted(
    (f, src, dst) for f in F.values for src in S.values for dst in next_statuses(src, f)
)
FORBIDDEN = sorted(
    (f, src, dst)
    for f in F.values
    for src in S.values
    for dst in S.values
    if dst not in next_statuses(src, f)
)


def test_the_table_covers_every_status():
    assert set(TRANSITIONS) == set(S.values)
    assert len(ALLOWED) + len(FORBIDDEN) == len(F.values) * len(S.values) ** 2
    # Final states lead nowhere.
    for final in (S.COMPLETED, S.EXPIRED, S.REJECTED, S.CANCELLED):
        assert TRANSITIONS[final] == set()


def test_delivery_goes_out_before_it_is_completed():
    for f in (F.DINE_IN, F.PICKUP):
        assert all(S.OUT_FOR_DELIVERY not in next_statuses(s, f) for s in S.values)
        assert next_statuses(S.READY, f) == {S.COMPLETED, S.CANCELLED}
    assert next_statuses(S.ACCEPTED, F.DELIVERY) == {S.READY, S.OUT_FOR_DELIVERY, S.CANCELLED}
    assert next_statuses(S.READY, F.DELIVERY) == {S.OUT_FOR_DELIVERY, S.CANCELLED}
    assert next_statuses(S.OUT_FOR_DELIVERY, F.DELIVERY) == {S.COMPLETED, S.CANCELLED}
    assert next_statuses(S.PAID, F.DELIVERY) == {S.ACCEPTED, S.REJECTED, S.CANCELLED}


def _force(order: Order, status: str, fulfilment: str | None = None) -> Order:
    """Put an order in a status directly (the arrangement step of a test, not a service)."""
    fields = {"status": status}
    if fulfilment is not None:
        fields["fulfilment"] = fulfilment
    if status not in (S.PENDING_PAYMENT, S.EXPIRED, S.CANCELLED):
        fields["paid_at"] = timezone.now()
    Order.objects.filter(pk=order.pk).update(**fields)
    order.refresh_from_db()
    return order


def _move(order: Order, to: str) -> Order:
    """Move through the public service for each target status."""
    if to == S.ACCEPTED:
        return order_flows.order_accept(actor=SYSTEM, order=order)
    if to == S.READY:
        return order_flows.order_mark_ready(actor=SYSTEM, order=order)
    if to == S.OUT_FOR_DELIVERY:
        return order_flows.order_out_for_delivery(actor=SYSTEM, order=order)
    if to == S.COMPLETED:
        return order_flows.order_complete(actor=SYSTEM, order=order)
    if to == S.REJECTED:
        return order_flows.order_reject(actor=SYSTEM, order=order, reason="Out of milk")
    if to == S.CANCELLED:
        return order_flows.order_cancel(actor=SYSTEM, order=order, reason="Closing early")
    # Paid comes only from a verified webhook and expired only from the clock: the state
    # machine underneath is the same for both.
    paid = {"paid_at": timezone.now()} if to == S.PAID else {}
    return transitions._transition(order, to, actor=SYSTEM, **paid)


def _snapshot(order: Order, product: Product):
    row = Order.objects.values("status", "reason", "updated_at", "paid_at").get(pk=order.pk)
    product.refresh_from_db()
    return (
        row,
        product.stock,
        OrderEvent.objects.filter(order=order).count(),
        list(
            PaymentIntent.objects.filter(purpose=Purpose.ORDER, purpose_id=order.pk).values_list(
                "status", flat=True
            )
        ),
    )


@pytest.mark.parametrize(("fulfilment", "src", "dst"), ALLOWED)
def test_allowed_transition(order, product, fulfilment, src, dst):
    _force(order, src, fulfilment)
    stock_before = Product.objects.get(pk=product.pk).stock
    events_before = OrderEvent.objects.filter(order=order).count()

    moved = _move(order, dst)

    assert moved.status == dst
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.status == dst
    assert OrderEvent.objects.filter(order=order).count() == events_before + 1
    assert OrderEvent.objects.filter(order=order).order_by("-pk").first().status == dst
    stock_after = Product.objects.get(pk=product.pk).stock
    if dst in RELEASES_STOCK:
        assert stock_after == stock_before + 2  # the two lattes go back on the shelf
    else:
        assert stock_after == stock_before
    if dst in (S.REJECTED, S.CANCELLED):
        assert fresh.reason


@pytest.mark.parametrize(("fulfilment", "src", "dst"), FORBIDDEN)
def test_forbidden_transition_raises_and_changes_nothing(order, product, fulfilment, src, dst):
    _force(order, src, fulfilment)
    before = _snapshot(order, product)

    with pytest.raises(TransitionError):
        _move(order, dst)

    assert _snapshot(order, product) == before


def test_a_stale_copy_cannot_move_an_order_that_moved_meanwhile(order, product):
    _force(order, S.PAID)
    stale = Order.objects.get(pk=order.pk)
    order_flows.order_reject(actor=SYSTEM, order=order, reason="Out of milk")
    stock = Product.objects.get(pk=product.pk).stock

    with pytest.raises(TransitionError):
        order_flows.order_accept(actor=SYSTEM, order=stale)

    assert Order.objects.get(pk=order.pk).status == S.REJECTED
    assert stale.status == S.REJECTED  # refreshed, so the page can show the truth
    assert Product.objects.get(pk=product.pk).stock == stock


@pytest.mark.parametrize("status", [s for s in S.values if s != S.PENDING_PAYMENT])
def test_mark_paid_refuses_an_order_not_waiting_for_payment(order, status):
    _force(order, status)
    before = Order.objects.values().get(pk=order.pk)

    paid = order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)

    # Already paid (or further along) counts as paid; expired, rejected, cancelled do not.
    assert paid == (status in (S.PAID, S.ACCEPTED, S.READY, S.OUT_FOR_DELIVERY, S.COMPLETED))
    assert Order.objects.values().get(pk=order.pk) == before


def test_mark_paid_refuses_the_wrong_amount_or_currency(order):
    assert not order_flows.order_mark_paid(order=order, amount=order.total - 1, currency="CNY")
    assert not order_flows.order_mark_paid(order=order, amount=order.total, currency="USD")
    assert Order.objects.get(pk=order.pk).status == S.PENDING_PAYMENT


def test_mark_paid(order):
    assert order_flows.order_mark_paid(order=order, amount=5200, currency="CNY")
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.status == S.PAID
    assert fresh.paid_at is not None


def test_reject_and_cancel_need_a_reason(order):
    _force(order, S.PAID)
    with pytest.raises(services.OrderingError):
        order_flows.order_reject(actor=SYSTEM, order=order, reason="   ")
    with pytest.raises(services.OrderingError):
        order_flows.order_cancel(actor=SYSTEM, order=order, reason="")
    assert Order.objects.get(pk=order.pk).status == S.PAID


def test_customer_cancels_only_an_unpaid_order(order, product):
    order_flows.order_cancel_unpaid(order=order)
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED
    assert Product.objects.get(pk=product.pk).stock == 20

    with pytest.raises(TransitionError):
        order_flows.order_cancel_unpaid(order=order)


def test_customer_cannot_cancel_a_paid_order(order):
    _force(order, S.PAID)
    with pytest.raises(TransitionError):
        order_flows.order_cancel_unpaid(order=order)
    assert Order.objects.get(pk=order.pk).status == S.PAID


def test_leaving_pending_payment_cancels_the_open_intent(order):
    intent = intent_for_order(order=order)
    order_flows.order_cancel_unpaid(order=order)
    intent.refresh_from_db()
    assert intent.status == IntentStatus.CANCELLED


def test_expire_is_not_a_forbidden_move_from_pending_only(order):
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    order.refresh_from_db()
    _force(order, S.PAID)
    assert order_flows.order_expire(order=order) is False
    assert Order.objects.get(pk=order.pk).status == S.PAID
