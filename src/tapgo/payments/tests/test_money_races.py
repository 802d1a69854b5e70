"""Money under concurrency: one wallet spent from two devices, one refund webhook delivered
twenty times at once, two refunds for the last of a payment, one counter top-up sent twice.

Each thread has its own database connection and the threads start together (the root
conftest's `concurrently`). On PostgreSQL the competing writer is also injected at the exact
moment that matters (after the first has read what it will change, before it writes), so the
database's constraint or conditional update, not timing, decides. SQLite takes its write lock
when a transaction begins (transaction_mode IMMEDIATE), so there the second writer always sees
the first's result; the outcome must be the same. The payments conftest runs
`verify_books()` after each test.
"""

import threading

import pytest
from django.db import connection

from tapgo.core.actors import SYSTEM
from tapgo.flows import paying, payment_events
from tapgo.identity.models import Customer
from tapgo.ordering.models import Order, OrderStatus
from tapgo.ordering.services import cart_add, order_place
from tapgo.payments import services, stored_value
from tapgo.payments.models import (
    IntentStatus,
    LedgerAccount,
    LedgerTransaction,
    PaymentIntent,
    Purpose,
    Refund,
    RefundStatus,
    SandboxOutbox,
    TopUp,
    TxKind,
    WebhookEvent,
)
from tapgo.payments.providers import REFUND_FAILED, REFUND_SUCCEEDED, WALLET, sandbox
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def unexpected(results, *allowed):
    return [r for r in results if isinstance(r, BaseException) and not isinstance(r, allowed)]


@pytest.fixture
def member(customer):
    Customer.objects.filter(pk=customer.pk).update(email="ann@example.com")
    customer.refresh_from_db()
    return customer


def place(customer, app, product, key: str, quantity: int = 2) -> Order:
    cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=quantity)
    return order_place(
        customer=customer, app=app, checkout_key=key, fulfilment="pickup", pickup_name="Ann"
    )


def at_the_same_moment(monkeypatch, module, name: str, *, when=None, parties: int = 2) -> None:
    """On PostgreSQL, make the racing threads' first call of `module.name` (for which
    `when(*args, **kwargs)` holds) wait until every racer has reached it: each has read what
    it is about to change, none has written yet."""
    if not on_postgres():
        return
    barrier = threading.Barrier(parties)
    waited = threading.local()
    real = getattr(module, name)

    def waiting(*args, **kwargs):
        racing = threading.current_thread() is not threading.main_thread()
        if racing and not getattr(waited, "done", False) and (when is None or when(**kwargs)):
            waited.done = True
            barrier.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, waiting)


def deliver(body: bytes) -> str:
    return payment_events.webhook_receive(
        provider=sandbox.NAME, body=body, headers={sandbox.HEADER: sandbox.sign(body)}
    )


# --- stored value --------------------------------------------------------------------------


def test_two_devices_spending_one_card_at_once_pay_one_order(
    concurrently, merchant, app, product, member
):
    """The card holds enough for one of two orders; both phones pay at once.

    pay_order locks its order with select_related("merchant"), which on PostgreSQL locks the
    merchant's row too: the second phone waits for the first to commit and finds the card
    empty. Were that lock narrowed, both would read the balance and the wallet's CHECK
    constraint would refuse the second posting ("changed meanwhile"); either way one pays.
    """
    for round_ in range(4):
        orders = [place(member, app, product, key=f"r{round_}-phone-{i}") for i in range(2)]
        stored_value.topup_counter(
            merchant=merchant, customer=member, amount=5200, key=f"counter-{round_:04d}", by=None
        )

        def spend(i, orders=orders):
            order = Order.objects.get(pk=orders[i].pk)
            return paying.pay_from_card(order=order, customer=Customer.objects.get(pk=member.pk))

        results = concurrently(spend, 2)

        assert unexpected(results, stored_value.StoredValueError) == []
        paid = [r for r in results if isinstance(r, PaymentIntent)]
        refused = [r for r in results if isinstance(r, stored_value.StoredValueError)]
        assert (len(paid), len(refused)) == (1, 1), results
        assert paid[0].amount == 5200
        assert any(text in str(refused[0]) for text in ("no balance", "changed meanwhile"))
        statuses = sorted(
            Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)
        )
        assert statuses == [OrderStatus.PAID, OrderStatus.PENDING_PAYMENT]
        # The refused phone left nothing behind: no payment, no posting.
        refused_order = next(o for o in orders if o.pk != paid[0].purpose_id)
        assert not PaymentIntent.objects.filter(
            purpose=Purpose.ORDER, purpose_id=refused_order.pk
        ).exists()
        assert stored_value.balance(merchant, member) == 0
    assert not LedgerAccount.objects.filter(kind="wallet", balance__lt=0).exists()
    assert LedgerTransaction.objects.filter(kind=TxKind.WALLET_PAYMENT).count() == 4


def test_two_wallet_postings_at_the_same_moment_one_is_refused(
    concurrently, monkeypatch, merchant, member
):
    """Below pay_order: two postings that both read the wallet's 5200 before either writes.
    The database's CHECK constraint, not Python, refuses the second."""
    stored_value.topup_counter(
        merchant=merchant, customer=member, amount=5200, key="counter-moment", by=None
    )
    at_the_same_moment(monkeypatch, stored_value.ledger, "post")
    card = stored_value.wallet(merchant, member)
    held = stored_value.ledger.account("held", currency=card.currency, merchant=merchant)

    def spend(i):
        if on_postgres():  # both have read enough before either writes (the barrier)
            assert LedgerAccount.objects.get(pk=card.pk).balance == 5200
        return stored_value.ledger.post(
            kind=TxKind.WALLET_PAYMENT,
            merchant=merchant,
            currency=card.currency,
            key=f"moment-{i}",
            entries=[(card, 5200), (held, -5200)],
        )

    results = concurrently(spend, 2)

    assert unexpected(results, stored_value.ledger.InsufficientFunds) == [], results
    assert sum(isinstance(r, LedgerTransaction) for r in results) == 1, results
    assert stored_value.balance(merchant, member) == 0
    assert (
        not LedgerTransaction.objects.filter(key__startswith="moment-")
        .exclude(pk__in=[r.pk for r in results if isinstance(r, LedgerTransaction)])
        .exists()
    )


def test_a_counter_top_up_sent_from_two_tills_at_once_is_one(concurrently, merchant, member):
    stored_value.tier_set(merchant=merchant, pay=10000, bonus=500)

    def record(_i):
        return stored_value.topup_counter(
            merchant=merchant, customer=member, amount=10000, key="till-form-0001", by=None
        )

    results = concurrently(record, 5)

    assert unexpected(results) == []
    assert len({r.pk for r in results}) == 1
    assert TopUp.objects.count() == 1
    assert LedgerTransaction.objects.filter(kind=TxKind.COUNTER_TOPUP).count() == 1
    assert stored_value.balance(merchant, member) == 10500


# --- refunds -------------------------------------------------------------------------------


@pytest.fixture
def paid_order(order):
    pay_by_sandbox(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def test_two_refunds_racing_for_the_last_of_a_payment_one_wins(
    concurrently, monkeypatch, paid_order
):
    """5000 of 5200 is refunded; two staff members refund the last 200 at once."""
    services.refund_purpose(
        purpose=Purpose.ORDER, purpose_id=paid_order.pk, amount=5000, reason="Wrong milk"
    )
    # Both have seen 200 left to refund before either takes it.
    at_the_same_moment(monkeypatch, services, "refund_create")

    def refund(_i):
        order = Order.objects.get(pk=paid_order.pk)
        return services.refund_purpose(
            purpose=Purpose.ORDER, purpose_id=order.pk, amount=200, reason="Cold"
        )

    results = concurrently(refund, 2)

    assert unexpected(results, services.RefundError) == []
    made = [r for r in results if isinstance(r, list)]
    assert len(made) == 1 and [r.amount for r in made[0]] == [200], results
    # On PostgreSQL both saw 200 left and the intent's conditional update refused the
    # second; on SQLite the second began after the first committed and saw nothing left.
    # Either way the staff member is told about the order.
    loser = next(r for r in results if isinstance(r, Exception))
    assert "more than is left to refund on this order" in str(loser)
    intent = PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=paid_order.pk)
    assert (intent.refunded_amount, intent.refundable) == (5200, 0)
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [200, 5000]
    assert services.refundable(Purpose.ORDER, paid_order.pk) == 0


@pytest.mark.parametrize(
    "kind, known",
    [
        (REFUND_SUCCEEDED, True),  # the provider confirms our refund
        (REFUND_FAILED, True),  # the provider could not pay it: reversed once
        (REFUND_SUCCEEDED, False),  # a refund made in the provider's dashboard: recorded once
    ],
    ids=["succeeded", "failed", "made-at-the-provider"],
)
def test_twenty_deliveries_of_one_refund_webhook_have_one_effect(
    concurrently, paid_order, kind, known
):
    intent = PaymentIntent.objects.get(purpose=Purpose.ORDER, purpose_id=paid_order.pk)
    if known:
        refund = services.refund_purpose(
            purpose=Purpose.ORDER, purpose_id=paid_order.pk, amount=1200, reason="Spilt"
        )[0]
        refund.refresh_from_db()
        services.refund_send(refund=refund)  # the worker hands it to the provider (if not yet)
        refund.refresh_from_db()
        assert refund.provider_ref and refund.status == RefundStatus.PENDING
        assert SandboxOutbox.objects.filter(intent=intent, body__contains=refund.public_id)
    body = sandbox.event_body(
        event_id="evt_refund_race",
        kind=kind,
        intent_public_id=intent.public_id,
        amount=1200,
        currency=intent.currency,
        refund_public_id=refund.public_id if known else "re_dashboard_1",
    )
    transactions_before = LedgerTransaction.objects.count()

    results = concurrently(lambda _i: deliver(body), 20)

    assert sorted(map(str, results)) == ["applied"] + ["duplicate"] * 19, results
    assert WebhookEvent.objects.filter(event_id="evt_refund_race").count() == 1
    intent.refresh_from_db()
    if kind == REFUND_FAILED:
        # The refund is reversed and the fee taken again on what is kept, once each; the
        # money is refundable again.
        refund = Refund.objects.get()
        assert refund.status == RefundStatus.FAILED
        assert intent.refunded_amount == 0
        added = LedgerTransaction.objects.count() - transactions_before
        assert added == 2
        assert LedgerTransaction.objects.filter(kind=TxKind.REFUND_FAILED).count() == 1
        assert LedgerTransaction.objects.filter(key=f"fee:refund_failed:{refund.pk}").count() == 1
    else:
        refund = Refund.objects.get()
        assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, 1200)
        assert intent.refunded_amount == 1200
        assert LedgerTransaction.objects.filter(kind=TxKind.REFUND).count() == 1
    assert intent.status == IntentStatus.SUCCEEDED


def test_a_split_payment_refunded_twice_at_once_goes_back_once(
    concurrently, monkeypatch, merchant, app, product, member
):
    """Cancel and a full refund of a split-paid order race: the card part goes back to the
    card once, the provider part to the provider once."""
    order = place(member, app, product, key="split-race")
    stored_value.topup_counter(
        merchant=merchant, customer=member, amount=2000, key="counter-split", by=None
    )
    paying.pay_from_card(order=order, customer=member)
    pay_by_sandbox(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and stored_value.balance(merchant, member) == 0
    at_the_same_moment(monkeypatch, services, "refund_create")

    def act(i):
        fresh = Order.objects.get(pk=order.pk)
        if i == 0:
            from tapgo.flows.orders import order_cancel

            return order_cancel(actor=SYSTEM, order=fresh, reason="Closed early")
        return services.refund_purpose(
            purpose=Purpose.ORDER, purpose_id=fresh.pk, amount=5200, reason="Complaint"
        )

    results = concurrently(act, 2)

    from tapgo.ordering.services import OrderingError

    assert unexpected(results, services.RefundError, OrderingError) == [], results
    assert stored_value.balance(merchant, member) == 2000
    by_provider = {
        provider: refunded
        for provider, refunded in PaymentIntent.objects.filter(
            purpose=Purpose.ORDER, purpose_id=order.pk
        ).values_list("provider", "refunded_amount")
    }
    assert by_provider == {WALLET: 2000, sandbox.NAME: 3200}
    assert (
        sum(Refund.objects.exclude(status=RefundStatus.FAILED).values_list("amount", flat=True))
        == 5200
    )
