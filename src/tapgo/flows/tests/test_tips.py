"""Tips on an order paid first: offered as the merchant's percentages or any amount, booked
apart from sales, shown with the order and in the report, refundable on their own."""

import pytest

from tapgo.core.actors import Actor
from tapgo.flows import orders as order_flows
from tapgo.flows import paying, tips
from tapgo.flows import refunds as refund_flows
from tapgo.merchants.models import Merchant
from tapgo.ordering import services as ordering
from tapgo.payments import reports
from tapgo.payments import services as payments
from tapgo.payments.models import AccountKind, LedgerAccount, PaymentIntent
from tapgo.payments.providers import sandbox
from tapgo.payments.tests.sandbox_helpers import deliver_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def tipping(merchant):
    Merchant.objects.filter(pk=merchant.pk).update(tips_on=True, tip_percentages=[10, 15, 20])
    merchant.refresh_from_db()
    return merchant


def test_the_choices_are_the_merchants_percentages_rounded_half_up(tipping):
    choices = tips.tip_choices(tipping, 5250)
    assert [(c.percent, c.amount) for c in choices] == [
        (None, 0),
        (10, 525),
        (15, 788),  # 787.5 rounds up
        (20, 1050),
    ]
    assert tips.tip_chosen(tipping, of=5250, choice="15") == 788
    assert tips.tip_chosen(tipping, of=5250, choice="custom", custom=300) == 300
    assert tips.tip_chosen(tipping, of=5250, choice="none") == 0


@pytest.mark.parametrize(
    ("choice", "custom", "message"),
    [
        ("12", None, "Choose a tip"),  # not one the merchant offers
        ("custom", -1, "Choose a tip"),
        ("custom", 5251, "at most"),
        ("custom", None, "Choose a tip"),
    ],
)
def test_a_bad_tip_is_refused(tipping, choice, custom, message):
    with pytest.raises(payments.PaymentError, match=message):
        tips.tip_chosen(tipping, of=5250, choice=choice, custom=custom)


def test_no_tips_where_the_merchant_takes_none(merchant, order):
    assert tips.tip_choices(merchant, 5000) == []
    with pytest.raises(payments.PaymentError, match="does not take tips"):
        paying.intent_for_order(order=order, tip=100)


def test_a_tip_is_paid_with_the_order_booked_apart_and_refunded_alone(tipping, order):
    intent = paying.intent_for_order(order=order, tip=520)
    assert (intent.amount, intent.tip) == (order.total + 520, 520)
    sandbox.decide(intent=intent, approve=True)
    deliver_outbox()
    order.refresh_from_db()
    assert order.status == "paid" and order.tip == 520
    assert paying.order_payment_state(order).tips == 520
    held = LedgerAccount.objects.get(kind=AccountKind.HELD, merchant=tipping)
    tips_account = LedgerAccount.objects.get(kind=AccountKind.TIPS, merchant=tipping)
    assert tips_account.balance == 520
    assert held.balance == order.total - payments.fee(order.total + 520)
    day = reports.recent(tipping)[0]
    assert (day.gross, day.tips) == (order.total, 520)
    assert day.net == order.total + 520 - payments.fee(order.total + 520)

    # Item refunds come off the sale, never the tip ...
    line = order.lines.get()
    refund_flows.order_refund(order=order, lines={line.pk: 2}, reason="cold")
    with pytest.raises(ordering.OrderingError):
        refund_flows.order_refund(order=order, amount=1, reason="again")
    # ... and the tip is refunded on its own, once.
    (refund,) = refund_flows.order_refund_tip(order=order, reason="asked")
    assert (refund.amount, refund.tip) == (520, 520)
    with pytest.raises(ordering.OrderingError, match="no tip left"):
        refund_flows.order_refund_tip(order=order, reason="again")
    intent.refresh_from_db()
    assert (intent.refunded_amount, intent.tip_refunded) == (intent.amount, 520)
    day = reports.recent(tipping)[0]
    assert day.tips == 0


def test_cancelling_a_paid_order_gives_the_tip_back_too(tipping, order, owner):
    intent = paying.intent_for_order(order=order, tip=300)
    sandbox.decide(intent=intent, approve=True)
    deliver_outbox()
    order.refresh_from_db()
    order_flows.order_cancel(order=order, reason="closing", actor=Actor.staff(owner))
    intent = PaymentIntent.objects.get(pk=intent.pk)
    assert (intent.refunded_amount, intent.tip_refunded) == (intent.amount, 300)


def test_another_tip_makes_another_attempt(tipping, order):
    first = paying.intent_for_order(order=order, tip=100)
    again = paying.intent_for_order(order=order, tip=100)
    assert again.pk == first.pk
    other = paying.intent_for_order(order=order, tip=200)
    assert other.pk != first.pk
    first.refresh_from_db()
    assert first.status == "cancelled"
