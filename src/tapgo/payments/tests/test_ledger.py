"""The ledger's rules, and `tapgo ledger verify` catching each kind of breach."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from tapgo.flows.checks import verify_books
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order, OrderStatus
from tapgo.payments import ledger, services
from tapgo.payments.models import (
    AccountKind,
    IntentStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    PaymentIntent,
    Purpose,
    TxKind,
)
from tapgo.payments.tests.sandbox_helpers import deliver_outbox, pay_by_sandbox


def balances(merchant):
    return {
        a.kind: a.balance
        for a in LedgerAccount.objects.filter(merchant=merchant, customer__isnull=True)
    }


def test_a_paid_order_is_one_capture_and_one_fee(order, merchant, settings):
    settings.PLATFORM_FEE_BPS = 60
    intent = pay_by_sandbox(order)
    assert intent.status == IntentStatus.SUCCEEDED and intent.counted
    captures = LedgerTransaction.objects.filter(intent=intent, kind=TxKind.CAPTURE)
    assert captures.count() == 1
    fee = services.fee(order.total)  # 0.6% of 52.00 = 0.312 → 0.31
    assert fee == 31
    assert balances(merchant) == {AccountKind.HELD: order.total - fee}
    clearing = LedgerAccount.objects.get(kind=AccountKind.CLEARING, provider="sandbox")
    fees = LedgerAccount.objects.get(kind=AccountKind.FEES)
    assert (clearing.balance, fees.balance) == (order.total, fee)
    for tx in LedgerTransaction.objects.all():
        assert sum(e.amount for e in tx.entries.all()) == 0


def test_fee_rounds_half_up_and_follows_partial_refunds(order, merchant, settings):
    settings.PLATFORM_FEE_BPS = 60
    assert [services.fee(a) for a in (0, 83, 84, 1000, 5200)] == [0, 0, 1, 6, 31]
    pay_by_sandbox(order)
    order.refresh_from_db()
    services.refund_purpose(
        purpose=Purpose.ORDER, purpose_id=order.pk, amount=2600, reason="one latte was cold"
    )
    deliver_outbox()  # the sandbox confirms the refund
    # The fee is always the fee on what was kept: fee(2600) = 16.
    fees = LedgerAccount.objects.get(kind=AccountKind.FEES)
    assert fees.balance == services.fee(2600) == 16
    services.refund_purpose(
        purpose=Purpose.ORDER, purpose_id=order.pk, amount=2600, reason="and the other"
    )
    deliver_outbox()
    fees.refresh_from_db()
    assert fees.balance == 0
    assert balances(merchant)[AccountKind.HELD] == order.total
    assert balances(merchant)[AccountKind.REFUNDS] == order.total


def test_a_refund_above_what_is_left_is_refused_and_changes_nothing(order):
    intent = pay_by_sandbox(order)
    order.refresh_from_db()
    services.refund_purpose(purpose=Purpose.ORDER, purpose_id=order.pk, amount=5000)
    before = LedgerEntry.objects.count()
    with pytest.raises(services.RefundError, match="more than is left"):
        services.refund_purpose(purpose=Purpose.ORDER, purpose_id=order.pk, amount=201)
    with pytest.raises(services.RefundError):
        services.refund_create(intent=intent, amount=0)
    assert LedgerEntry.objects.count() == before
    intent.refresh_from_db()
    assert intent.refunded_amount == 5000


def test_a_failed_refund_is_reversed_and_refundable_again(order):
    intent = pay_by_sandbox(order)
    order.refresh_from_db()
    (refund,) = services.refund_purpose(purpose=Purpose.ORDER, purpose_id=order.pk, amount=1000)
    services.refund_failed(refund=refund)
    services.refund_failed(refund=refund)  # twice is once
    intent.refresh_from_db()
    assert intent.refunded_amount == 0
    assert LedgerTransaction.objects.filter(kind=TxKind.REFUND_FAILED).count() == 1
    # The fee is taken again on what is kept (the refund had given some back).
    assert LedgerTransaction.objects.filter(key=f"fee:refund_failed:{refund.pk}").count() == 1
    assert balances(order.merchant)[AccountKind.REFUNDS] == 0
    fees = LedgerAccount.objects.get(kind=AccountKind.FEES).balance
    assert fees == services.fee(intent.amount)
    services.refund_purpose(
        purpose=Purpose.ORDER, purpose_id=order.pk, amount=order.total
    )  # all of it is refundable again


def test_posting_twice_with_one_key_is_one_transaction(merchant):
    a = ledger.account(AccountKind.HELD, currency="CNY", merchant=merchant)
    b = ledger.account(AccountKind.FEES, currency="CNY")
    first = ledger.post(
        kind=TxKind.FEE, merchant=merchant, currency="CNY", key="k", entries=[(a, 5), (b, -5)]
    )
    again = ledger.post(
        kind=TxKind.FEE, merchant=merchant, currency="CNY", key="k", entries=[(a, 5), (b, -5)]
    )
    assert first is not None and again is None
    a.refresh_from_db()
    assert a.balance == -5  # held is credit-normal: a debit lowers it


def test_unbalanced_or_mixed_currency_postings_are_refused(merchant):
    a = ledger.account(AccountKind.HELD, currency="CNY", merchant=merchant)
    b = ledger.account(AccountKind.FEES, currency="CNY")
    usd = ledger.account(AccountKind.FEES, currency="USD")
    for entries in ([(a, 5), (b, -4)], [(a, 5)], [(a, 5), (usd, -5)]):
        with pytest.raises(ledger.LedgerError):
            ledger.post(
                kind=TxKind.FEE, merchant=merchant, currency="CNY", key="x", entries=entries
            )
    assert not LedgerTransaction.objects.exists()


def test_a_wallet_cannot_go_below_zero(merchant, customer):
    card = ledger.account(AccountKind.WALLET, currency="CNY", merchant=merchant, customer=customer)
    held = ledger.account(AccountKind.HELD, currency="CNY", merchant=merchant)
    with pytest.raises(ledger.InsufficientFunds):
        ledger.post(
            kind=TxKind.WALLET_PAYMENT,
            merchant=merchant,
            currency="CNY",
            key="w",
            entries=[(card, 100), (held, -100)],
        )
    assert not LedgerTransaction.objects.exists()
    card.refresh_from_db()
    assert card.balance == 0


# --- verify finds each breach ----------------------------------------------------------------


@pytest.fixture
def paid(order):
    pay_by_sandbox(order)
    order.refresh_from_db()
    return order


def rules():
    return {b.rule for b in verify_books()}


def test_verify_passes_on_sound_books_and_the_command_says_so(paid, capsys):
    assert verify_books() == []
    call_command("ledger", "verify")
    assert "ledger verify: ok" in capsys.readouterr().out


@pytest.mark.breaks_books
def test_verify_catches_an_edited_entry(paid):
    entry = LedgerEntry.objects.order_by("id").first()
    LedgerEntry.objects.filter(pk=entry.pk).update(amount=entry.amount + 1)
    assert {"unbalanced transaction", "cached balance differs from entries"} <= rules()
    with pytest.raises(SystemExit) as exit_:
        call_command("ledger", "verify")
    assert exit_.value.code == 1


@pytest.mark.breaks_books
def test_verify_catches_a_tampered_balance(paid):
    LedgerAccount.objects.filter(kind=AccountKind.HELD).update(balance=1)
    assert rules() == {"cached balance differs from entries"}


@pytest.mark.breaks_books
def test_verify_catches_a_paid_order_without_its_capture(paid):
    # Remove the capture's entries and transaction behind the ledger's back.
    tx = LedgerTransaction.objects.get(kind=TxKind.CAPTURE)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {LedgerEntry._meta.db_table} WHERE transaction_id = %s", [tx.pk]
        )
        cursor.execute(f"DELETE FROM {LedgerTransaction._meta.db_table} WHERE id = %s", [tx.pk])
    assert "capture count" in rules()


@pytest.mark.breaks_books
def test_verify_catches_an_order_marked_paid_without_money(paid, customer, app, product):
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=1)
    other = ordering.order_place(
        customer=customer, app=app, checkout_key="k2", fulfilment="pickup", pickup_name="Bo"
    )
    Order.objects.filter(pk=other.pk).update(status=OrderStatus.PAID, paid_at=paid.paid_at)
    assert rules() == {"paid order"}


@pytest.mark.breaks_books
def test_verify_catches_a_refund_the_books_do_not_show(paid):
    PaymentIntent.objects.update(refunded_amount=100)
    assert "refund" in rules()


def test_the_database_refuses_a_negative_wallet(paid, merchant, customer):
    card = ledger.account(AccountKind.WALLET, currency="CNY", merchant=merchant, customer=customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(pk=card.pk).update(balance=-1)
