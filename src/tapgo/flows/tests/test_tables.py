"""Table groups: a shared cart per table, rounds sent unpaid, and one bill paid in parts
with tips, through the real flows and the sandbox provider's webhooks."""

import pytest

from tapgo.core.actors import Actor
from tapgo.flows import checkout as checkout_flow
from tapgo.flows import orders as order_flows
from tapgo.flows import refunds as refund_flows
from tapgo.flows import tables as table_flows
from tapgo.identity.services import customer_create_guest
from tapgo.merchants.models import Merchant, Store
from tapgo.ordering import services as ordering
from tapgo.ordering.models import (
    Order,
    OrderStatus,
    TableGroup,
    TableGroupStatus,
    TableShare,
    TableShareStatus,
)
from tapgo.payments import reports
from tapgo.payments.models import AccountKind, LedgerAccount, PaymentIntent, Purpose
from tapgo.payments.providers import sandbox
from tapgo.payments.tests.sandbox_helpers import deliver_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def pay_after(merchant):
    Store.objects.filter(merchant=merchant).update(dine_in_payment="pay_after")
    Merchant.objects.filter(pk=merchant.pk).update(tips_on=True, tip_percentages=[10, 15, 20])


def _phones(app, n, table="1"):
    phones = [customer_create_guest() for _ in range(n)]
    for phone in phones:
        ordering.group_join(customer=phone, app=app, table_label=table)
    return phones


def _send(phone, app, key="round-1"):
    return checkout_flow.checkout(customer=phone, app=app, checkout_key=key, fulfilment="dine_in")


def _pay(share, phone, tip=0, approve=True):
    intent = table_flows.share_intent(share=share, customer=phone, tip=tip)
    sandbox.decide(intent=intent, approve=approve)
    deliver_outbox()
    intent.refresh_from_db()
    return intent


def test_split_parts_add_up_exactly_by_largest_remainder():
    assert ordering.split_parts(10000, 3) == [3334, 3333, 3333]
    assert ordering.split_parts(2, 3) == [1, 1, 0]
    for total in (1, 7, 999, 10001, 123457):
        for parts in range(2, 9):
            shares = ordering.split_parts(total, parts)
            assert sum(shares) == total
            assert max(shares) - min(shares) <= 1


def test_phones_scanning_one_table_share_one_cart_and_see_who_added_what(app, product):
    a, b, c = _phones(app, 3)
    groups = set(TableGroup.objects.values_list("pk", flat=True))
    assert len(groups) == 1  # one open group for the table

    ordering.cart_add(customer=a, app=app, product_public_id=product.public_id)
    ordering.cart_add(customer=b, app=app, product_public_id=product.public_id, quantity=2)
    ordering.seat_set_name(customer=c, app=app, name="Mei")
    ordering.cart_add(customer=c, app=app, product_public_id=product.public_id)

    for phone in (a, b, c):  # every phone sees the same cart
        view = ordering.cart_view(customer=phone, app=app)
        assert view.count == 4 and view.total == 4 * product.price
        assert [line.added_by for line in view.lines] == ["Guest 1", "Guest 2", "Mei"]
        assert view.seats == ["Guest 1", "Guest 2", "Mei"]
    # Another table is another group; another phone there sees none of it.
    (other,) = _phones(app, 1, table="2")
    assert ordering.cart_view(customer=other, app=app).count == 0


def test_a_name_at_the_table_is_a_first_name_not_an_email(app):
    (a,) = _phones(app, 1)
    with pytest.raises(ordering.OrderingError):
        ordering.seat_set_name(customer=a, app=app, name="ann@example.com")
    with pytest.raises(ordering.OrderingError):
        ordering.seat_set_name(customer=a, app=app, name="x" * 21)


def test_any_phone_at_the_table_can_change_a_shared_line(app, product):
    a, b = _phones(app, 2)
    ordering.cart_add(customer=a, app=app, product_public_id=product.public_id)
    (line,) = ordering.cart_view(customer=b, app=app).lines
    ordering.cart_set_quantity(customer=b, app=app, line_id=line.pk, quantity=3)
    assert ordering.cart_view(customer=a, app=app).count == 3
    # A phone at no table cannot touch it.
    stranger = customer_create_guest()
    with pytest.raises(ordering.OrderingError):
        ordering.cart_set_quantity(customer=stranger, app=app, line_id=line.pk, quantity=5)


def test_pay_first_table_orders_the_shared_cart_once(app, product):
    a, b = _phones(app, 2)
    ordering.cart_add(customer=a, app=app, product_public_id=product.public_id)
    ordering.cart_add(customer=b, app=app, product_public_id=product.public_id)
    order = _send(b, app)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.total == 2 * product.price and order.table_label == "1"
    assert ordering.cart_view(customer=a, app=app).count == 0


def test_rounds_go_to_the_kitchen_unpaid_and_the_bill_adds_them(pay_after, app, product, owner):
    a, b = _phones(app, 2)
    ordering.cart_add(customer=a, app=app, product_public_id=product.public_id)
    first = _send(a, app)
    ordering.cart_add(customer=b, app=app, product_public_id=product.public_id, quantity=2)
    second = _send(b, app, key="round-2")

    assert first.status == second.status == OrderStatus.PLACED
    assert first.group_id == second.group_id
    assert not PaymentIntent.objects.exists()
    assert set(ordering.board_orders(app.merchant)) == {first, second}
    bill = ordering.bill_of(first.group)
    assert (bill.total, bill.paid, bill.left) == (3 * product.price, 0, 3 * product.price)
    # The kitchen works on a round as on a paid order.
    order_flows.order_accept(order=first, actor=Actor.staff(owner))
    assert Order.objects.get(pk=first.pk).status == OrderStatus.ACCEPTED


def test_two_ways_split_with_a_tip_then_the_remainder_settles_the_bill(pay_after, app, product):
    a, b, c = _phones(app, 3)
    for phone in (a, b, c):
        ordering.cart_add(customer=phone, app=app, product_public_id=product.public_id)
    round_ = _send(a, app)
    group = round_.group
    total = 3 * product.price  # 7800

    half = table_flows.share_choose(group=group, customer=a, kind="equal", parts=2)
    assert half.amount == 3900
    intent = _pay(half, a, tip=390)
    assert (intent.amount, intent.tip) == (4290, 390)
    other_half = table_flows.share_choose(group=group, customer=b, kind="equal", parts=2)
    assert (other_half.part, other_half.amount) == (2, 3900)
    # The third phone pays "the remaining": 3900 after the first half.
    rest = table_flows.share_choose(group=group, customer=c, kind="rest")
    assert rest.amount == 3900
    _pay(rest, c)

    group.refresh_from_db()
    assert group.status == TableGroupStatus.SETTLED
    bill = ordering.bill_of(group)
    assert (bill.total, bill.paid, bill.left, bill.tips) == (total, total, 0, 390)
    assert Order.objects.get(pk=round_.pk).paid_at is not None
    # B's equal part, not paid, is no longer needed.
    assert TableShare.objects.get(pk=other_half.pk).status == TableShareStatus.VOID
    # The ledger: sales to held, the tip to tips.
    tips = LedgerAccount.objects.get(kind=AccountKind.TIPS, merchant=app.merchant)
    assert tips.balance == 390
    day = reports.recent(app.merchant)[0]
    assert (day.gross, day.tips) == (total, 390)
    # A new scan at the table starts a new group.
    (d,) = _phones(app, 1)
    assert ordering.cart_view(customer=d, app=app).group.pk != group.pk


def test_two_phones_paying_the_last_share_one_is_applied_the_other_given_back(
    pay_after, app, product
):
    a, b = _phones(app, 2)
    ordering.cart_add(customer=a, app=app, product_public_id=product.public_id)
    group = _send(a, app).group
    share_a = table_flows.share_choose(group=group, customer=a, kind="rest")
    share_b = table_flows.share_choose(group=group, customer=b, kind="rest")
    intent_a = table_flows.share_intent(share=share_a, customer=a)
    intent_b = table_flows.share_intent(share=share_b, customer=b, tip=100)
    sandbox.decide(intent=intent_a, approve=True)
    sandbox.decide(intent=intent_b, approve=True)
    deliver_outbox()

    intent_a.refresh_from_db()
    intent_b.refresh_from_db()
    assert intent_a.counted and not intent_b.counted
    assert intent_b.refunded_amount == intent_b.amount  # the tip too
    assert TableShare.objects.get(pk=share_b.pk).status == TableShareStatus.VOID
    group.refresh_from_db()
    assert group.status == TableGroupStatus.SETTLED
    assert ordering.bill_of(group).paid == product.price


def test_pay_by_items_takes_only_what_is_left_of_them(pay_after, app, product, sized_product):
    a, b = _phones(app, 2)
    ordering.cart_add(customer=a, app=app, product_public_id=product.public_id, quantity=2)
    group = _send(a, app).group
    (line,) = ordering.bill_of(group).lines
    mine = table_flows.share_choose(
        group=group, customer=a, kind="items", lines={str(line.line.pk): 1}
    )
    assert mine.amount == product.price
    with pytest.raises(ordering.OrderingError, match="Only 1"):
        table_flows.share_choose(group=group, customer=b, kind="items", lines={line.line.pk: 2})
    with pytest.raises(ordering.OrderingError):
        table_flows.share_choose(group=group, customer=b, kind="items", lines={"999999": 1})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "bogus"}, "Choose how to pay"),
        ({"kind": "amount", "amount": 0}, "above zero"),
        ({"kind": "amount", "amount": 10**9}, "more than is left"),
        ({"kind": "equal", "parts": 1}, "Split among"),
        ({"kind": "equal", "parts": "3"}, "Split among"),
        ({"kind": "items", "lines": {}}, "Choose the items"),
    ],
)
def test_a_bad_share_is_refused_and_changes_nothing(pay_after, app, product, kwargs, message):
    (a,) = _phones(app, 1)
    ordering.cart_add(customer=a, app=app, product_public_id=product.public_id)
    group = _send(a, app).group
    with pytest.raises(ordering.OrderingError, match=message):
        table_flows.share_choose(group=group, customer=a, **kwargs)
    assert not TableShare.objects.exists()


def test_staff_close_the_bill_at_the_counter(pay_after, app, product, owner):
    a, b = _phones(app, 2)
    ordering.cart_add(customer=a, app=app, product_public_id=product.public_id, quantity=2)
    group = _send(a, app).group
    _pay(table_flows.share_choose(group=group, customer=a, kind="equal", parts=2), a)
    assert [b.group for b in ordering.unpaid_tables(app.merchant.pk)] == [group]

    share = table_flows.counter_close(group=group, method="cash", actor=Actor.staff(owner))
    assert share.amount == product.price and share.method == "cash"
    group.refresh_from_db()
    assert group.status == TableGroupStatus.SETTLED
    assert ordering.unpaid_tables(app.merchant.pk) == []
    # The cash is the merchant's: the payout does not include it, the sale is counted.
    day = reports.recent(app.merchant)[0]
    assert day.gross == 2 * product.price and day.counter_cash == product.price
    with pytest.raises(ordering.OrderingError):
        table_flows.counter_close(group=group, method="cash", actor=Actor.staff(owner))
    with pytest.raises(ordering.OrderingError):
        ordering.counter_share(group=group, method="cheque", by="x")


def test_a_settled_tables_round_refunds_from_the_shares(pay_after, app, product, owner):
    (a,) = _phones(app, 1)
    ordering.cart_add(customer=a, app=app, product_public_id=product.public_id, quantity=2)
    round_ = _send(a, app)
    _pay(table_flows.share_choose(group=round_.group, customer=a, kind="rest"), a, tip=500)
    round_.refresh_from_db()
    (line,) = round_.lines.all()
    made = refund_flows.order_refund(order=round_, lines={line.pk: 1}, reason="cold")
    assert sum(r.amount for r in made) == product.price
    intent = PaymentIntent.objects.get(purpose=Purpose.SHARE)
    assert (intent.refunded_amount, intent.tip_refunded) == (product.price, 0)
    # Cancelling the settled round gives back what is left of it, the tip stays.
    order_flows.order_cancel(order=round_, reason="closing", actor=Actor.staff(owner))
    intent.refresh_from_db()
    assert (intent.refunded_amount, intent.tip_refunded) == (2 * product.price, 0)


def test_an_unpaid_round_cancelled_leaves_the_bill(pay_after, app, product, owner):
    (a,) = _phones(app, 1)
    ordering.cart_add(customer=a, app=app, product_public_id=product.public_id)
    round_ = _send(a, app)
    order_flows.order_reject(order=round_, reason="sold out", actor=Actor.staff(owner))
    assert ordering.bill_of(round_.group).total == 0
    assert not PaymentIntent.objects.exists()


def test_pay_first_table_cannot_be_split(app, product):
    (a,) = _phones(app, 1)
    group = ordering.group_of(customer=a, app=app)
    with pytest.raises(ordering.OrderingError, match="pays when it orders"):
        table_flows.share_choose(group=group, customer=a, kind="rest")
