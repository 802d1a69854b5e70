"""Settlement reports: every column from the ledger, reconciled to the cent against the
orders, refunds and top-ups themselves; the settlement posting moves exactly the net."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import F

from tapgo.flows import paying
from tapgo.flows import refunds as refund_flows
from tapgo.flows.checks import verify_books
from tapgo.identity.models import Customer
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order
from tapgo.payments import reports, services, stored_value
from tapgo.payments.models import (
    AccountKind,
    IntentStatus,
    LedgerAccount,
    LedgerTransaction,
    PaymentIntent,
    Refund,
    RefundStatus,
    TopUp,
    TopUpStatus,
    TxKind,
)
from tapgo.payments.providers import sandbox as sandbox_provider
from tapgo.payments.tests.sandbox_helpers import deliver_outbox, pay_by_sandbox


@pytest.fixture
def member(db):
    return Customer.objects.create(email="ann@example.com")


def place(customer, app, product, quantity, key):
    ordering.cart_add(
        customer=customer, app=app, product_public_id=product.public_id, quantity=quantity
    )
    return ordering.order_place(
        customer=customer, app=app, checkout_key=key, fulfilment="pickup", pickup_name="Ann"
    )


def send_refunds():
    """What the worker does after commit: ask the provider, then its webhooks land."""
    for refund in Refund.objects.filter(status=RefundStatus.PENDING, provider_ref=""):
        services.refund_send(refund=refund)
    deliver_outbox()


def back_two_days():
    """Everything so far happened the day before yesterday: a day that has ended, grace
    period included, whatever the hour the test runs (yesterday has not, just after
    midnight)."""
    LedgerTransaction.objects.update(created_at=F("created_at") - timedelta(days=2))


def a_busy_day(merchant, app, product, member, customer):
    """Captures, a split wallet payment, partial refunds (items and an amount, to a card and
    to the card balance), a failed refund, an online top-up with bonus, a counter top-up."""
    stored_value.tier_set(merchant=merchant, pay=10000, bonus=1000)
    stored_value.topup_counter(
        merchant=merchant, customer=member, amount=3000, key="counter-key-1", by=None
    )
    split = place(member, app, product, 2, "split")  # 52.00: 30.00 from the card, 22.00 paid
    paying.pay_from_card(order=split, customer=member)
    pay_by_sandbox(split)
    online = stored_value.topup_online(
        merchant=merchant, customer=member, amount=10000, key="online-key-1"
    )
    sandbox_provider.decide(intent=online, approve=True)
    deliver_outbox()
    from_card = place(member, app, product, 1, "card")  # 26.00 from the card alone
    paying.pay_from_card(order=from_card, customer=member)
    paid = place(customer, app, product, 3, "paid")  # 78.00 by card
    pay_by_sandbox(paid)
    for order in (split, from_card, paid):
        order.refresh_from_db()
        assert order.paid_at is not None
    line = paid.lines.get()
    refund_flows.order_refund(
        order=paid, lines={line.pk: 1}, restock=True, reason="Spilled", by=None
    )
    refund_flows.order_refund(order=split, amount=3000, reason="Late", by=None)  # 22.00 + 8.00
    (failing,) = refund_flows.order_refund(order=paid, amount=1000, reason="Goodwill", by=None)
    services.refund_failed(refund=failing)
    send_refunds()


def independent_sums(merchant) -> dict:
    """The day's figures from orders, refunds, intents and top-ups: no ledger involved."""
    intents = PaymentIntent.objects.filter(merchant=merchant, status=IntentStatus.SUCCEEDED)
    topups = TopUp.objects.filter(merchant=merchant, status=TopUpStatus.SUCCEEDED)
    sums = {
        "gross": sum(
            o.total for o in Order.objects.filter(merchant=merchant, paid_at__isnull=False)
        ),
        "refunds": sum(
            r.amount
            for r in Refund.objects.filter(merchant=merchant).exclude(status=RefundStatus.FAILED)
        ),
        # The fee follows what is kept of each provider payment.
        "fees": sum(
            services.fee(i.amount - i.refunded_amount) for i in intents.exclude(provider="wallet")
        ),
        "bonus": sum(t.bonus for t in topups),
        "sold": sum(t.amount for t in topups),
        "spent": sum(i.amount for i in intents.filter(provider="wallet")),
        "counter_cash": sum(t.amount for t in topups.filter(method="counter")),
    }
    sums["net"] = (
        sums["gross"] - sums["refunds"] - sums["fees"] - sums["bonus"] - sums["counter_cash"]
    )
    return sums


def test_a_day_reconciles_to_the_cent_and_settles_exactly_its_net(
    merchant, app, product, member, customer, other_merchant
):
    a_busy_day(merchant, app, product, member, customer)
    # Another business's day must not leak in.
    stored_value.topup_counter(
        merchant=other_merchant, customer=member, amount=5000, key="other-key-1", by=None
    )
    back_two_days()
    yesterday = reports.today(merchant) - timedelta(days=2)

    (day,) = reports.days(merchant, first=yesterday, last=yesterday)
    expected = independent_sums(merchant)
    got = {key: getattr(day, key) for key in expected}
    assert got == expected
    # And the same by hand, so a mistake shared by both sides still shows.
    assert (day.gross, day.refunds, day.bonus, day.sold, day.spent, day.counter_cash) == (
        7800 + 5200 + 2600,
        2600 + 3000,
        1000,
        3000 + 10000,
        3000 + 2600,
        3000,
    )
    assert day.fees == services.fee(7800 - 2600) + services.fee(2200 - 2200) + services.fee(10000)
    assert Refund.objects.filter(status=RefundStatus.FAILED).count() == 1
    assert day.closed and day.settled is None

    tx = reports.settle_day(merchant=merchant, day=yesterday)
    assert tx.kind == TxKind.SETTLEMENT
    settled = tx.entries.get(account__kind=AccountKind.SETTLED)
    assert -settled.amount == expected["net"]
    assert verify_books() == []
    # Every movement of the day went out with the settlement: nothing is left held.
    for kind in (AccountKind.HELD, AccountKind.REFUNDS, AccountKind.RECEIVABLE):
        assert LedgerAccount.objects.get(merchant=merchant, kind=kind).balance == 0
    assert (
        LedgerAccount.objects.get(merchant=merchant, kind=AccountKind.SETTLED).balance
        == (expected["net"])
    )
    # The report shows it settled, its figures unchanged by the settlement itself.
    (after,) = reports.days(merchant, first=yesterday, last=yesterday)
    assert after.settled == after.net == expected["net"]
    # Settling again changes nothing.
    assert reports.settle_day(merchant=merchant, day=yesterday).pk == tx.pk
    assert LedgerTransaction.objects.filter(kind=TxKind.SETTLEMENT).count() == 1


def test_only_an_ended_day_with_movements_can_be_settled(merchant, member):
    stored_value.topup_counter(
        merchant=merchant, customer=member, amount=3000, key="counter-key-1", by=None
    )
    today = reports.today(merchant)
    with pytest.raises(reports.SettlementError, match="ended"):
        reports.settle_day(merchant=merchant, day=today)
    with pytest.raises(reports.SettlementError, match="nothing to settle"):
        reports.settle_day(merchant=merchant, day=today - timedelta(days=3))
    assert not LedgerTransaction.objects.filter(kind=TxKind.SETTLEMENT).exists()
    # Just after midnight the day is not closed yet: a late payment may still be committing.
    tz = app_tz(merchant)
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=tz)
    (yesterday,) = reports.days(
        merchant,
        first=today - timedelta(days=1),
        last=today - timedelta(days=1),
        now=midnight + timedelta(minutes=5),
    )
    assert not yesterday.closed
    (yesterday,) = reports.days(
        merchant,
        first=today - timedelta(days=1),
        last=today - timedelta(days=1),
        now=midnight + reports.SETTLE_GRACE,
    )
    assert yesterday.closed


def app_tz(merchant):
    from tapgo.merchants.services import merchant_store

    return merchant_store(merchant).tz


def test_days_follow_the_stores_time_zone(merchant, member):
    """23:30 and 00:30 in Shanghai are two business days, though the same UTC date."""
    late = stored_value.topup_counter(
        merchant=merchant, customer=member, amount=1000, key="counter-late", by=None
    )
    early = stored_value.topup_counter(
        merchant=merchant, customer=member, amount=2000, key="counter-early", by=None
    )
    tz = app_tz(merchant)
    day = reports.today(merchant) - timedelta(days=5)
    at = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    LedgerTransaction.objects.filter(topup=late).update(
        created_at=at + timedelta(hours=23, minutes=30)
    )
    LedgerTransaction.objects.filter(topup=early).update(
        created_at=at + timedelta(days=1, minutes=30)
    )
    first, second = reports.days(merchant, first=day, last=day + timedelta(days=1))
    assert (at + timedelta(hours=23, minutes=30)).astimezone(UTC).date() == (
        (at + timedelta(days=1, minutes=30)).astimezone(UTC).date()
    )
    assert (first.day, first.sold, first.counter_cash, first.net) == (day, 1000, 1000, -1000)
    assert (second.day, second.sold, second.counter_cash) == (day + timedelta(days=1), 2000, 2000)


def test_recent_lists_thirty_days_newest_first_with_totals(merchant, member):
    stored_value.topup_counter(
        merchant=merchant, customer=member, amount=1500, key="counter-key-1", by=None
    )
    recent = reports.recent(merchant)
    assert len(recent) == reports.REPORT_DAYS == 30
    assert recent[0].day == reports.today(merchant)
    assert recent[0].day - recent[-1].day == timedelta(days=29)
    assert (recent[0].counter_cash, recent[0].net) == (1500, -1500)
    assert not recent[0].closed and recent[2].closed  # yesterday: closed after the grace
    total = reports.total(recent)
    assert (total.counter_cash, total.net, total.settled) == (1500, -1500, 0)


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_owners_settling_one_day_post_it_once(concurrently, merchant, member):
    stored_value.topup_counter(
        merchant=merchant, customer=member, amount=3000, key="counter-key-1", by=None
    )
    back_two_days()
    yesterday = reports.today(merchant) - timedelta(days=2)
    results = concurrently(lambda _i: reports.settle_day(merchant=merchant, day=yesterday), 4)
    assert all(isinstance(r, LedgerTransaction) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert LedgerTransaction.objects.filter(kind=TxKind.SETTLEMENT).count() == 1
    assert LedgerAccount.objects.get(merchant=merchant, kind=AccountKind.SETTLED).balance == -3000
