"""Stored value: top-ups with bonus tiers, paying from the card alone or split, refunds."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.flows import paying
from tapgo.identity.models import Customer
from tapgo.ordering.models import Order, OrderStatus
from tapgo.payments import services, stored_value
from tapgo.payments.models import (
    AccountKind,
    IntentStatus,
    LedgerAccount,
    Purpose,
    TopUp,
    TopUpStatus,
)
from tapgo.payments.providers import sandbox as sandbox_provider
from tapgo.payments.tests.sandbox_helpers import deliver_outbox, pay_by_sandbox


@pytest.fixture
def member(customer):
    Customer.objects.filter(pk=customer.pk).update(email="ann@example.com")
    customer.refresh_from_db()
    return customer


def top_up_at_counter(merchant, member, amount, key="counter-key-1"):
    return stored_value.topup_counter(
        merchant=merchant, customer=member, amount=amount, key=key, by=None
    )


def test_bonus_tiers_pick_the_highest_reached(merchant):
    stored_value.tier_set(merchant=merchant, pay=50000, bonus=5000)
    stored_value.tier_set(merchant=merchant, pay=10000, bonus=500)
    stored_value.tier_set(merchant=merchant, pay=10000, bonus=800)  # edits the tier
    assert [(t.pay, t.bonus) for t in stored_value.tiers(merchant)] == [(10000, 800), (50000, 5000)]
    assert [stored_value.bonus_for(merchant, a) for a in (9999, 10000, 49999, 80000)] == [
        0,
        800,
        800,
        5000,
    ]
    with pytest.raises(stored_value.StoredValueError):
        stored_value.tier_set(merchant=merchant, pay=100, bonus=101)


def test_a_counter_top_up_credits_the_card_with_its_bonus_once(merchant, member):
    stored_value.tier_set(merchant=merchant, pay=50000, bonus=5000)
    first = top_up_at_counter(merchant, member, 50000)
    again = top_up_at_counter(merchant, member, 50000)  # the form submitted twice
    assert first.pk == again.pk
    assert stored_value.balance(merchant, member) == 55000
    assert stored_value.liability(merchant) == 55000
    receivable = LedgerAccount.objects.get(kind=AccountKind.RECEIVABLE, merchant=merchant)
    held = LedgerAccount.objects.get(kind=AccountKind.HELD, merchant=merchant)
    assert (receivable.balance, held.balance) == (50000, -5000)  # the merchant funds the bonus
    assert [amount for _, _, amount in stored_value.history(merchant, member)] == [55000]


def test_an_online_top_up_credits_only_when_the_provider_confirms(merchant, member):
    stored_value.tier_set(merchant=merchant, pay=10000, bonus=1000)
    intent = stored_value.topup_online(
        merchant=merchant, customer=member, amount=10000, key="online-key-1"
    )
    assert (
        stored_value.topup_online(
            merchant=merchant, customer=member, amount=10000, key="online-key-1"
        ).pk
        == intent.pk
    )
    assert stored_value.balance(merchant, member) == 0
    sandbox_provider.decide(intent=intent, approve=True)
    assert stored_value.balance(merchant, member) == 0  # not before the webhook
    deliver_outbox()
    assert stored_value.balance(merchant, member) == 11000
    assert TopUp.objects.get().status == TopUpStatus.SUCCEEDED
    fees = LedgerAccount.objects.get(kind=AccountKind.FEES)
    assert fees.balance == services.fee(10000)


def test_a_declined_online_top_up_adds_nothing(merchant, member):
    intent = stored_value.topup_online(
        merchant=merchant, customer=member, amount=10000, key="online-key-2"
    )
    sandbox_provider.decide(intent=intent, approve=False)
    deliver_outbox()
    assert TopUp.objects.get().status == TopUpStatus.FAILED
    assert stored_value.balance(merchant, member) == 0


@pytest.mark.parametrize("amount", [0, -5, 10**9, "12"])
def test_bad_top_up_amounts_are_refused(merchant, member, amount):
    with pytest.raises(stored_value.StoredValueError):
        top_up_at_counter(merchant, member, amount)
    assert not TopUp.objects.exists()


def test_a_guest_cannot_top_up_online(merchant, customer):
    with pytest.raises(stored_value.StoredValueError, match="Sign in"):
        stored_value.topup_online(merchant=merchant, customer=customer, amount=1000, key="k" * 10)


def test_paying_an_order_from_the_card_alone(order, merchant, member):
    Order.objects.filter(pk=order.pk).update(customer=member)
    order.refresh_from_db()
    top_up_at_counter(merchant, member, 10000)
    intent = paying.pay_from_card(order=order, customer=member)
    assert (intent.provider, intent.amount, intent.status) == ("wallet", 5200, "succeeded")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert stored_value.balance(merchant, member) == 10000 - 5200


def test_a_split_payment_is_paid_when_the_provider_part_lands(order, merchant, member):
    Order.objects.filter(pk=order.pk).update(customer=member)
    order.refresh_from_db()
    top_up_at_counter(merchant, member, 2000)
    paying.pay_from_card(order=order, customer=member)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    provider_part = pay_by_sandbox(order)
    assert provider_part.amount == 3200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert stored_value.balance(merchant, member) == 0
    # Cancelling refunds each part to where it came from.
    order_flows.order_cancel(actor=SYSTEM, order=order, reason="Closed early")
    deliver_outbox()
    assert stored_value.balance(merchant, member) == 2000
    provider_part.refresh_from_db()
    assert provider_part.refunded_amount == 3200


def test_a_split_order_that_expires_gives_the_card_part_back(order, merchant, member):
    Order.objects.filter(pk=order.pk).update(customer=member)
    order.refresh_from_db()
    top_up_at_counter(merchant, member, 2000)
    paying.pay_from_card(order=order, customer=member)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    order.refresh_from_db()
    assert order_flows.order_expire(order=order)
    assert stored_value.balance(merchant, member) == 2000


def test_an_empty_card_is_refused_with_a_message(order, member):
    Order.objects.filter(pk=order.pk).update(customer=member)
    order.refresh_from_db()
    with pytest.raises(stored_value.StoredValueError, match="no balance"):
        paying.pay_from_card(order=order, customer=member)


def test_someone_elses_order_cannot_be_paid_from_my_card(order, merchant):
    someone = Customer.objects.create(email="bo@example.com")
    top_up_at_counter(merchant, someone, 10000)
    with pytest.raises(stored_value.StoredValueError):
        paying.pay_from_card(order=order, customer=someone)  # the order is Ann's
    assert stored_value.balance(merchant, someone) == 10000


def test_using_the_card_cancels_an_unstarted_provider_attempt(order, merchant, member):
    Order.objects.filter(pk=order.pk).update(customer=member)
    order.refresh_from_db()
    top_up_at_counter(merchant, member, 1000)
    first = paying.intent_for_order(order=order)
    assert first.amount == 5200
    paying.pay_from_card(order=order, customer=member)
    first.refresh_from_db()
    assert first.status == IntentStatus.CANCELLED
    assert paying.intent_for_order(order=order).amount == 4200


def test_a_payment_being_confirmed_blocks_the_card(order, merchant, member):
    Order.objects.filter(pk=order.pk).update(customer=member)
    order.refresh_from_db()
    top_up_at_counter(merchant, member, 1000)
    intent = paying.intent_for_order(order=order)
    sandbox_provider.decide(intent=intent, approve=True)  # processing, webhook not yet in
    with pytest.raises(services.PaymentError, match="being confirmed"):
        paying.pay_from_card(order=order, customer=member)
    deliver_outbox()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert stored_value.balance(merchant, member) == 1000


def test_refunding_a_card_payment_puts_it_back_on_the_card(order, merchant, member):
    Order.objects.filter(pk=order.pk).update(customer=member)
    order.refresh_from_db()
    top_up_at_counter(merchant, member, 10000)
    paying.pay_from_card(order=order, customer=member)
    order.refresh_from_db()
    (refund,) = services.refund_purpose(
        purpose=Purpose.ORDER, purpose_id=order.pk, amount=2600, reason="cold"
    )
    assert refund.status == "succeeded"
    assert stored_value.balance(merchant, member) == 10000 - 5200 + 2600


def test_members_and_cards(merchant, member, other_merchant):
    top_up_at_counter(merchant, member, 3000)
    top_up_at_counter(other_merchant, member, 1000, key="counter-key-2")
    assert [a.balance for a in stored_value.members(merchant)] == [3000]
    assert sorted(a.balance for a in stored_value.cards_of_customer(member)) == [1000, 3000]
    assert stored_value.liability(merchant) == 3000


def test_a_guest_cannot_be_topped_up_at_the_counter(merchant, customer):
    with pytest.raises(stored_value.GuestCard):
        top_up_at_counter(merchant, customer, 1000)
    assert not TopUp.objects.exists()


def test_signing_in_moves_a_guests_card_and_payments_to_the_account(order, merchant, customer):
    from tapgo.flows.customers import customer_merge

    # A card balance a guest holds (from before cards needed an account): Ann tops up
    # while signed in, then the balance sits on her guest record.
    Customer.objects.filter(pk=customer.pk).update(email="ann@example.com")
    customer.refresh_from_db()
    top_up_at_counter(merchant, customer, 8000)
    paying.pay_from_card(order=order, customer=customer)
    Customer.objects.filter(pk=customer.pk).update(email=None)
    customer.refresh_from_db()
    account = Customer.objects.create(email="ann@example.org")
    customer_merge(source=customer, target=account)
    assert stored_value.balance(merchant, customer) == 0
    assert stored_value.balance(merchant, account) == 8000 - 5200
    order.refresh_from_db()
    services.refund_purpose(purpose=Purpose.ORDER, purpose_id=order.pk, amount=1000, reason="sorry")
    assert stored_value.balance(merchant, account) == 8000 - 5200 + 1000  # the account's card
