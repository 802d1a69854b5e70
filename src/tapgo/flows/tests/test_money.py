"""Money and points around coupons and refunds: a failed refund gives its points back, an
amount refund of the whole order returns its coupon, the coupon is checked under the order's
lock when money lands, a table's rounds paid with the bill earn their points, and the books
carry each order's gross, discount and net (memo postings, reversed with refunds)."""

import pytest

from tapgo.core.actors import Actor
from tapgo.coupons import services as coupons
from tapgo.coupons.models import Coupon, CouponState
from tapgo.flows import checkout as checkout_flows
from tapgo.flows import orders as order_flows
from tapgo.flows import payment_events
from tapgo.flows import refunds as refund_flows
from tapgo.flows import tables as table_flows
from tapgo.flows.checks import verify_books
from tapgo.identity.services import customer_create_guest
from tapgo.membership import services as membership
from tapgo.membership.models import EntryKind, Member, PointsEntry
from tapgo.merchants.models import Store
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order, OrderLine, OrderStatus
from tapgo.payments import reports
from tapgo.payments import services as payments
from tapgo.payments.models import (
    AccountKind,
    LedgerAccount,
    LedgerTransaction,
    Purpose,
    Refund,
    RefundStatus,
    SandboxOutbox,
    TxKind,
)
from tapgo.payments.providers import REFUND_FAILED, sandbox
from tapgo.payments.tests.sandbox_helpers import deliver_outbox, pay_by_sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(merchant, customer, app):
    return membership.member_join(merchant=merchant, customer=customer, app=app)


@pytest.fixture
def coupon(make_batch, customer):
    return coupons.coupon_issue(batch=make_batch(), customer=customer, source="claimed")


def _member(member) -> Member:
    return Member.objects.get(pk=member.pk)


def _entries(member) -> list[tuple[str, int]]:
    return list(
        PointsEntry.objects.filter(member=member).order_by("id").values_list("kind", "points")
    )


def _paid(order) -> Order:
    pay_by_sandbox(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def _coupon_order(customer, app, product, coupon, *, key="k1") -> Order:
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=2)
    order = checkout_flows.checkout(
        customer=customer,
        app=app,
        checkout_key=key,
        fulfilment="pickup",
        pickup_name="Ann",
        coupon=coupon.public_id,
    )
    assert (order.gross, order.discount, order.total) == (5200, 500, 4700)
    return order


def _fail_at_provider(refund: Refund, *, event_id: str) -> str:
    """The provider reports that it could not pay the refund (its webhook)."""
    payments.refund_send(refund=refund)  # the worker hands it to the provider
    refund.refresh_from_db()
    body = sandbox.event_body(
        event_id=event_id,
        kind=REFUND_FAILED,
        intent_public_id=refund.intent.public_id,
        amount=refund.amount,
        currency=refund.currency,
        refund_public_id=refund.public_id,
    )
    return payment_events.webhook_receive(
        provider=sandbox.NAME, body=body, headers={sandbox.HEADER: sandbox.sign(body)}
    )


def _state(coupon) -> str:
    return Coupon.objects.get(pk=coupon.pk).state


# --- (a) a refund that fails at the provider gives its points back -----------------------------


def test_a_refund_the_provider_fails_gives_the_points_back_once(member, order, owner):
    membership.level_save(merchant=order.merchant, name="Silver", threshold=50, rank=1,
                          discount_bps=0)  # fmt: skip
    _paid(order)
    assert _member(member).level.name == "Silver"
    (refund,) = refund_flows.order_refund(order=order, amount=1300, reason="cold", by=owner)
    assert _member(member).balance == 39 and _member(member).level is None

    assert _fail_at_provider(refund, event_id="evt_fail_1") == "applied"
    assert _fail_at_provider(refund, event_id="evt_fail_2") == "applied"  # told twice

    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert _entries(member) == [
        (EntryKind.EARN, 52),
        (EntryKind.REVERSE, -13),
        (EntryKind.REVERSE, 13),
    ]
    undo = PointsEntry.objects.get(member=member, key=f"refund_failed:{refund.pk}")
    assert (undo.spend, undo.source_id) == (1300, order.pk)
    fresh = _member(member)
    assert (fresh.balance, fresh.lifetime, fresh.level.name) == (52, 52, "Silver")
    # The money is refundable again: refunding it again takes the points again, once.
    refund_flows.order_refund(order=order, amount=1300, reason="cold", by=owner)
    assert _member(member).balance == 39


def test_a_failed_refund_found_by_the_sweep_gives_the_points_back(member, order, owner):
    """A provider may refuse a refund when it is sent (the worker's task, in payments): the
    flows' sweep gives the points back."""
    from tapgo.flows import membership as points

    _paid(order)
    (refund,) = refund_flows.order_refund(order=order, amount=5200, reason="gone", by=owner)
    payments.refund_failed(refund=refund)  # as refund_send does when the provider refuses
    assert _member(member).balance == 0
    assert points.refunds_failed_settle() == 1
    assert points.refunds_failed_settle() == 0  # once
    assert _member(member).balance == 52


# --- (b) an amount refund of the whole total returns the coupon ------------------------------


def test_an_amount_refund_of_the_whole_total_returns_the_coupon(
    customer, app, product, coupon, owner
):
    order = _paid(_coupon_order(customer, app, product, coupon))
    assert _state(coupon) == CouponState.USED
    refund_flows.order_refund(order=order, amount=1000, reason="cold", by=owner)
    assert _state(coupon) == CouponState.USED  # a partial refund keeps it used
    refund_flows.order_refund(order=order, amount=order.total - 1000, reason="cold", by=owner)
    assert _state(coupon) == CouponState.AVAILABLE
    assert Coupon.objects.get(pk=coupon.pk).returned_at is not None


def test_one_amount_refund_of_the_whole_total_returns_the_coupon(
    customer, app, product, coupon, owner
):
    order = _paid(_coupon_order(customer, app, product, coupon))
    refund_flows.order_refund(order=order, amount=order.total, reason="all of it", by=owner)
    assert _state(coupon) == CouponState.AVAILABLE


# --- (c) the coupon is checked under the order's lock ---------------------------------------


@pytest.mark.breaks_books  # marked paid with no money moved: only the order of the checks
def test_the_coupon_is_checked_after_the_orders_row_is_locked(
    customer, app, product, coupon, monkeypatch
):
    from tapgo.ordering import locks as ordering_locks

    order = _coupon_order(customer, app, product, coupon)
    calls = []
    lock, check = ordering_locks.lock_order, coupons.coupon_check_payable

    def locking(pk):
        calls.append("lock")
        return lock(pk)

    def checking(**kwargs):
        calls.append("check")
        return check(**kwargs)

    monkeypatch.setattr(ordering_locks, "lock_order", locking)
    monkeypatch.setattr(coupons, "coupon_check_payable", checking)
    assert order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    assert calls[:2] == ["lock", "check"]


def test_a_stopped_offer_is_found_under_the_lock_and_nothing_is_paid(
    customer, app, product, coupon
):
    order = _coupon_order(customer, app, product, coupon)
    coupons.batch_stop(batch=coupon.batch)
    assert not order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT and order.paid_at is None
    assert _state(coupon) == CouponState.RESERVED


# --- (d) a table's rounds paid with the bill earn their points -------------------------------


@pytest.fixture
def pay_after(merchant):
    Store.objects.filter(merchant=merchant).update(dine_in_payment="pay_after")


def _table_round(app, product, phone, *, quantity=2, key="round-1") -> Order:
    ordering.group_join(customer=phone, app=app, table_label="7")
    ordering.cart_add(customer=phone, app=app, product_public_id=product.public_id,
                      quantity=quantity)  # fmt: skip
    return checkout_flows.checkout(customer=phone, app=app, checkout_key=key, fulfilment="dine_in")


def test_a_tables_rounds_earn_their_points_when_the_bill_is_paid(
    pay_after, app, product, customer, member, owner
):
    first = _table_round(app, product, customer)
    friend = customer_create_guest()
    ordering.group_join(customer=friend, app=app, table_label="7")
    second = _table_round(app, product, customer, quantity=1, key="round-2")
    assert first.group_id == second.group_id and first.paid_at is None
    assert _entries(member) == []  # sent to the kitchen unpaid: nothing yet

    share = table_flows.share_choose(group=first.group, customer=friend, kind="rest")
    intent = table_flows.share_intent(share=share, customer=friend)
    sandbox.decide(intent=intent, approve=True)
    deliver_outbox()
    assert _entries(member) == [(EntryKind.EARN, 52), (EntryKind.EARN, 26)]
    keys = set(PointsEntry.objects.filter(member=member).values_list("key", flat=True))
    assert keys == {f"order:{first.pk}", f"order:{second.pk}"}

    # The webhook again: nothing more.
    body = SandboxOutbox.objects.filter(intent=intent).first().body.encode()
    assert payment_events.webhook_receive(
        provider=sandbox.NAME, body=body, headers={sandbox.HEADER: sandbox.sign(body)}
    ) == "duplicate"  # fmt: skip
    assert _member(member).balance == 78

    # A refund of a round (from the shares' money) takes back its points in proportion.
    line = OrderLine.objects.get(order=second)
    second = Order.objects.get(pk=second.pk)
    refund_flows.order_refund(order=second, lines={line.pk: 1}, reason="cold", by=owner)
    assert _member(member).balance == 52
    # Cancelling the other round gives its money back and its points.
    order_flows.order_cancel(order=Order.objects.get(pk=first.pk), reason="spilt",
                             actor=Actor.staff(owner))  # fmt: skip
    assert _member(member).balance == 0


def test_rounds_settled_at_the_counter_earn_once(pay_after, app, product, customer, member, owner):
    round_ = _table_round(app, product, customer)
    table_flows.counter_close(group=round_.group, method="cash", actor=Actor.staff(owner))
    assert _entries(member) == [(EntryKind.EARN, 52)]


# --- the books carry gross, discount and net --------------------------------------------------


def _memo(order) -> tuple[int, int]:
    """The discount an order's memo postings hold now (posted less reversed), and how many
    discount postings it has."""
    discounts = LedgerAccount.objects.filter(kind=AccountKind.DISCOUNTS, merchant=order.merchant)
    held = sum(
        e.amount
        for tx in LedgerTransaction.objects.filter(purpose=Purpose.ORDER, purpose_id=order.pk)
        for e in tx.entries.filter(account__in=discounts)
    )
    posted = LedgerTransaction.objects.filter(
        kind=TxKind.DISCOUNT, purpose=Purpose.ORDER, purpose_id=order.pk
    ).count()
    return held, posted


def test_an_order_with_a_coupon_paid_shows_gross_discount_and_net(customer, app, product, coupon):
    order = _paid(_coupon_order(customer, app, product, coupon))
    assert _memo(order) == (500, 1)
    day = reports.recent(app.merchant)[0]
    assert (day.gross, day.discount, day.sales) == (5200, 500, 4700)
    assert day.net == 4700 - day.fees  # the payout is the money: the memo is not paid out
    (row,) = reports.orders(app.merchant, day=day.day)
    assert (row.purpose_id, row.gross, row.discount, row.net) == (order.pk, 5200, 500, 4700)
    assert verify_books() == []

    # A replayed webhook posts nothing more.
    body = SandboxOutbox.objects.first().body.encode()
    assert payment_events.webhook_receive(
        provider=sandbox.NAME, body=body, headers={sandbox.HEADER: sandbox.sign(body)}
    ) == "duplicate"  # fmt: skip
    order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    assert _memo(order) == (500, 1)


def test_an_item_refund_reverses_its_units_discount_exactly(
    customer, app, product, category, coupon, owner
):
    from tapgo.flows.listings import product_create

    cake = product_create(merchant=app.merchant, category=category, name="Cake", price=1800)
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=2)
    ordering.cart_add(customer=customer, app=app, product_public_id=cake.public_id, quantity=1)
    order = checkout_flows.checkout(
        customer=customer,
        app=app,
        checkout_key="k",
        fulfilment="pickup",
        pickup_name="Ann",
        coupon=coupon.public_id,
    )
    _paid(order)
    coffee, cake_line = OrderLine.objects.filter(order=order).order_by("id")
    assert (coffee.discount, cake_line.discount) == (371, 129)

    refund_flows.order_refund(order=order, lines={coffee.pk: 1}, reason="cold", by=owner)
    assert _memo(order)[0] == 500 - 185  # floor(371 × 1 / 2)
    assert verify_books() == []
    refund_flows.order_refund(order=order, lines={cake_line.pk: 1}, reason="dry", by=owner)
    assert _memo(order)[0] == 500 - 185 - 129
    assert verify_books() == []
    refund_flows.order_refund(order=order, lines={coffee.pk: 1}, reason="cold", by=owner)
    assert _memo(order)[0] == 0  # every item back: the whole discount reversed
    # The day sold 7000 at listed prices, 500 off, 6500 paid; refunds gave back the 6500
    # and the 500 of discount with them (refunds at listed price: 7000).
    day = reports.recent(app.merchant)[0]
    assert (day.gross, day.discount, day.sales) == (7000, 500, 6500)
    assert (day.refunds, day.discount_back) == (6500, 500)
    (row,) = reports.orders(app.merchant, day=day.day)
    assert (row.gross, row.discount, row.net, row.refunds, row.discount_back) == (
        7000, 500, 6500, 6500, 500
    )  # fmt: skip
    assert verify_books() == []


def test_a_whole_refund_reverses_the_whole_discount(customer, app, product, coupon, owner):
    order = _paid(_coupon_order(customer, app, product, coupon))
    order_flows.order_cancel(order=order, reason="closed", actor=Actor.staff(owner))
    assert _memo(order) == (0, 1)
    day = reports.recent(app.merchant)[0]
    assert (day.gross, day.discount, day.sales) == (5200, 500, 4700)
    assert (day.refunds, day.discount_back) == (4700, 500)
    assert verify_books() == []


def test_amount_refunds_reverse_the_discount_in_proportion(customer, app, product, coupon, owner):
    order = _paid(_coupon_order(customer, app, product, coupon))
    refund_flows.order_refund(order=order, amount=1000, reason="cold", by=owner)
    assert _memo(order)[0] == 500 - 500 * 1000 // 4700
    assert verify_books() == []
    refund_flows.order_refund(order=order, amount=3700, reason="cold", by=owner)
    assert _memo(order)[0] == 0
    assert verify_books() == []


def test_a_failed_refund_brings_its_discount_back(customer, app, product, coupon, owner):
    order = _paid(_coupon_order(customer, app, product, coupon))
    (refund,) = refund_flows.order_refund(order=order, amount=order.total, reason="x", by=owner)
    assert _memo(order)[0] == 0 and _state(coupon) == CouponState.AVAILABLE
    assert _fail_at_provider(refund, event_id="evt_fail_memo") == "applied"
    assert _memo(order)[0] == 500
    assert verify_books() == []


def test_verify_names_an_order_whose_discount_is_not_posted(customer, app, product, coupon):
    order = _paid(_coupon_order(customer, app, product, coupon))
    Order.objects.filter(pk=order.pk).update(discount=400)
    assert [b.rule for b in verify_books()] == ["order discount"]
    Order.objects.filter(pk=order.pk).update(discount=500)


def test_the_backfill_posts_the_discounts_of_orders_paid_before_the_memo(
    customer, app, product, coupon, owner
):
    """payments/migrations/0009: a database made before the memo postings gets them."""
    from importlib import import_module

    from django.apps import apps

    from tapgo.payments.models import LedgerEntry

    order = _paid(_coupon_order(customer, app, product, coupon))
    refund_flows.order_refund(order=order, amount=1000, reason="cold", by=owner)
    # As before the memo: no memo posting, no memo account balance.
    memo = LedgerTransaction.objects.filter(kind__in=[TxKind.DISCOUNT, TxKind.DISCOUNT_BACK])
    LedgerEntry.objects.filter(transaction__in=memo).delete()
    memo.delete()
    LedgerAccount.objects.filter(kind__in=[AccountKind.DISCOUNTS, AccountKind.GROSS_MEMO]).update(
        balance=0
    )
    assert [b.rule for b in verify_books()] == ["order discount"]

    backfill = import_module("tapgo.payments.migrations.0010_backfill_discount_memo")
    backfill.forwards(apps, None)
    backfill.forwards(apps, None)  # twice is once
    assert _memo(order) == (500 - 500 * 1000 // 4700, 1)
    assert verify_books() == []
