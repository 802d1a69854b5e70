"""Refunding a paid order by item or by amount: quantities taken by the database, stock put
back on request, the payments refunded, and nothing changed by a refused refund."""

import pytest

from tapgo.catalog.models import Product
from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.flows import paying
from tapgo.flows import refunds as refund_flows
from tapgo.flows.checks import verify_books
from tapgo.identity.models import Customer
from tapgo.ordering import services
from tapgo.ordering.models import Order, OrderLine
from tapgo.ordering.services import OrderingError
from tapgo.payments import stored_value
from tapgo.payments.models import PaymentIntent, Purpose, Refund
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox


@pytest.fixture
def paid(order):
    """Two lattes (2 × 26.00, stock 20 → 18), paid by card."""
    pay_by_sandbox(order)
    order.refresh_from_db()
    assert order.paid_at is not None
    return order


def stock(product) -> int:
    return Product.objects.values_list("stock", flat=True).get(pk=product.pk)


def refunded(order) -> int:
    return sum(OrderLine.objects.filter(order=order).values_list("refunded_quantity", flat=True))


def test_refund_by_item_takes_the_quantity_and_restocks(paid, product, owner):
    line = paid.lines.get()
    (refund,) = refund_flows.order_refund(
        order=paid, lines={line.pk: 1}, restock=True, reason="Spilled", by=owner
    )
    assert (refund.amount, refund.lines, refund.restock, refund.reason) == (
        2600,
        {str(line.pk): 1},
        True,
        "Spilled",
    )
    assert refund.created_by == owner
    assert refunded(paid) == 1
    assert stock(product) == 19
    assert (
        PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=paid.pk).refunded_amount == 2600
    )
    assert verify_books() == []


def test_refund_by_item_without_restock_leaves_the_stock(paid, product):
    line = paid.lines.get()
    refund_flows.order_refund(order=paid, lines={line.pk: 2}, restock=False, reason="Cold")
    assert refunded(paid) == 2
    assert stock(product) == 18
    assert (
        PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=paid.pk).refunded_amount == 5200
    )


def test_more_items_than_are_left_are_refused_and_change_nothing(paid, product):
    line = paid.lines.get()
    with pytest.raises(OrderingError, match="Only 2 of Latte left"):
        refund_flows.order_refund(order=paid, lines={line.pk: 3}, restock=True, reason="x")
    refund_flows.order_refund(order=paid, lines={line.pk: 2}, restock=True, reason="x")
    with pytest.raises(OrderingError, match="Only 0 of Latte left"):
        refund_flows.order_refund(order=paid, lines={line.pk: 1}, restock=True, reason="x")
    assert refunded(paid) == 2
    assert stock(product) == 20
    assert Refund.objects.count() == 1


def test_an_amount_above_what_is_left_is_refused(paid):
    refund_flows.order_refund(order=paid, amount=5000, reason="Late")
    with pytest.raises(OrderingError, match="more than is left"):
        refund_flows.order_refund(order=paid, amount=300, reason="Late")
    assert (
        PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=paid.pk).refunded_amount == 5000
    )
    assert Refund.objects.count() == 1
    assert verify_books() == []


def test_items_refused_for_the_money_left_roll_back_their_quantity_and_stock(paid, product):
    """The items and the money move in one transaction: when the money is not there, the
    quantity taken and the stock put back are undone."""
    refund_flows.order_refund(order=paid, amount=4000, reason="Late")  # 12.00 left
    line = paid.lines.get()
    with pytest.raises(OrderingError, match="more than is left"):
        refund_flows.order_refund(order=paid, lines={line.pk: 1}, restock=True, reason="x")
    assert refunded(paid) == 0
    assert stock(product) == 18
    assert Refund.objects.count() == 1


def test_an_unpaid_order_cannot_be_refunded(order):
    line = order.lines.get()
    with pytest.raises(OrderingError, match="Only a paid order"):
        refund_flows.order_refund(order=order, lines={line.pk: 1}, reason="x")
    assert refunded(order) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount": 100, "reason": "  "}, "reason"),
        ({"amount": 100, "reason": "x" * 201}, "at most 200"),
        ({"amount": 100, "reason": "a\x00b"}, "character"),
        ({"reason": "x"}, "either items or an amount"),
        ({"amount": 0, "reason": "x"}, "above zero"),
        ({"amount": -5, "reason": "x"}, "above zero"),
        ({"amount": "12", "reason": "x"}, "above zero"),
        ({"amount": True, "reason": "x"}, "above zero"),
        ({"amount": 5201, "reason": "x"}, "total"),
        ({"lines": {}, "reason": "x"}, "at least one item"),
        ({"lines": {"LINE": 0}, "reason": "x"}, "at least one item"),
        ({"lines": {"LINE": -1}, "reason": "x"}, "how many"),
        ({"lines": {"LINE": "1"}, "reason": "x"}, "how many"),
        ({"lines": {"LINE": True}, "reason": "x"}, "how many"),
        ({"lines": {"nope": 1}, "reason": "x"}, "not on this order"),
        ({"lines": {10**30: 1}, "reason": "x"}, "not on this order"),
        ({"lines": {"LINE": 1}, "amount": 100, "reason": "x"}, "either items or an amount"),
    ],
)
def test_bad_input_gets_a_message_and_changes_nothing(paid, product, kwargs, message):
    line = paid.lines.get()
    if "lines" in kwargs:
        kwargs["lines"] = {(line.pk if k == "LINE" else k): v for k, v in kwargs["lines"].items()}
    with pytest.raises(OrderingError, match=message):
        refund_flows.order_refund(order=paid, **kwargs)
    assert refunded(paid) == 0
    assert stock(product) == 18
    assert not Refund.objects.exists()


def test_another_orders_line_is_refused(paid, app, product, customer):
    services.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    other = services.order_place(
        customer=customer, app=app, checkout_key="k-other", fulfilment="pickup", pickup_name="B"
    )
    pay_by_sandbox(other)
    with pytest.raises(OrderingError, match="not on this order"):
        refund_flows.order_refund(order=paid, lines={other.lines.get().pk: 1}, reason="x")
    assert refunded(other) == 0


def test_a_split_payment_is_refunded_to_the_card_payment_first(order, merchant):
    member = Customer.objects.create(email="ann@example.com")
    Order.objects.filter(pk=order.pk).update(customer=member)
    order.refresh_from_db()
    stored_value.topup_counter(
        merchant=merchant, customer=member, amount=2000, key="counter-key-1", by=None
    )
    paying.pay_from_card(order=order, customer=member)  # 20.00 of 52.00
    pay_by_sandbox(order)  # the other 32.00
    order.refresh_from_db()
    line = order.lines.get()
    made = refund_flows.order_refund(order=order, lines={line.pk: 2}, reason="Closed")
    assert sorted((r.intent.provider, r.amount) for r in made) == [
        ("sandbox", 3200),
        ("wallet", 2000),
    ]
    assert stored_value.balance(merchant, member) == 2000
    assert verify_books() == []


@pytest.mark.parametrize("restock", [True, False])
def test_cancelling_after_an_item_refund_releases_only_the_rest(paid, product, restock):
    line = paid.lines.get()
    refund_flows.order_refund(order=paid, lines={line.pk: 1}, restock=restock, reason="Cold")
    assert stock(product) == (19 if restock else 18)
    order_flows.order_cancel(actor=SYSTEM, order=paid, reason="Closed early")
    # The refunded latte was put back (or written off) when it was refunded; only the other
    # one comes back with the cancellation.
    assert stock(product) == (20 if restock else 19)
    assert (
        PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=paid.pk).refunded_amount == 5200
    )
    assert verify_books() == []


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_refunds_racing_for_the_last_items_refund_once(concurrently, order, product):
    pay_by_sandbox(order)
    line = order.lines.get()

    def refund(_i):
        fresh = Order.objects.get(pk=order.pk)
        return refund_flows.order_refund(
            order=fresh, lines={line.pk: 2}, restock=True, reason="Race"
        )

    results = concurrently(refund, 2) + concurrently(refund, 2)
    wins = [r for r in results if isinstance(r, list)]
    losses = [r for r in results if isinstance(r, OrderingError)]
    assert (len(wins), len(losses)) == (1, 3), results
    assert refunded(order) == 2
    assert stock(product) == 20
    assert sum(Refund.objects.values_list("amount", flat=True)) == 5200
    assert verify_books() == []
