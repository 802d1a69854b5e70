"""A points reward under concurrency (SQLite and PostgreSQL): a refund racing a checkout that
redeems a reward leaves the member's balance equal to the ledger's sum, whoever wins."""

import pytest

from tapgo.core.actors import SYSTEM
from tapgo.flows import checkout as checkout_flows
from tapgo.flows import refunds as refund_flows
from tapgo.membership import services as membership
from tapgo.membership.models import EntryKind, Member, PointsEntry, RewardKind
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def _add(customer, app, product, quantity=2):
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id,
                      quantity=quantity)  # fmt: skip


def _place(customer, app, key, reward=""):
    return checkout_flows.checkout(customer=customer, app=app, checkout_key=key,
                                   fulfilment="pickup", pickup_name="Ann",
                                   reward=reward)  # fmt: skip


def _reward(merchant, points):
    terms = membership.RewardTerms(name="¥3 off", points=points, kind=RewardKind.AMOUNT,
                                   amount=300)  # fmt: skip
    return membership.reward_save(merchant=merchant, terms=terms)


def _consistent():
    assert membership.verify_balances() == [] and membership.verify_lots() == []


def test_a_refund_racing_a_checkout_that_redeems_keeps_the_points_ledger(
    concurrently, merchant, customer, app, product, owner
):
    member = membership.member_join(merchant=merchant, customer=customer, app=app)
    for round_ in range(3):
        _add(customer, app, product)
        order = _place(customer, app, f"paid-{round_}")
        pay_by_sandbox(order)
        order = Order.objects.get(pk=order.pk)
        before = Member.objects.get(pk=member.pk).balance  # what the paid orders earned
        reward = _reward(merchant, before)  # costs all of it
        _add(customer, app, product)  # the next cart, checked out with the reward

        def act(i, order=order, round_=round_, reward=reward):
            if i == 0:
                return refund_flows.order_refund(order=order, amount=order.total, reason="r",
                                                 by=owner)  # fmt: skip
            return _place(customer, app, f"reward-{round_}", reward=reward.public_id)

        refunded, placed = concurrently(act, 2)
        assert isinstance(refunded, list) and len(refunded) == 1, refunded
        after = Member.objects.get(pk=member.pk).balance
        if isinstance(placed, ordering.OrderingError):  # the refund came first: not enough
            assert "enough points" in str(placed)
            assert not Order.objects.filter(checkout_key=f"reward-{round_}").exists()
            assert after == before - 52
            _place(customer, app, f"rest-{round_}")  # the cart placed without it, unpaid
        else:
            assert isinstance(placed, Order), placed
            assert placed.discount == 300
            assert after == before - 52 - before  # spent, then the refund: below zero
        _consistent()
        if after:
            membership.points_adjust(member=member, points=-after, reason="reset",
                                     key=f"reset:{round_}", actor=SYSTEM)  # fmt: skip


def test_a_whole_refund_giving_points_back_racing_a_redemption(
    concurrently, merchant, customer, app, product, owner
):
    member = membership.member_join(merchant=merchant, customer=customer, app=app)
    membership.points_adjust(member=member, points=1000, reason="a", key="a", actor=SYSTEM)
    reward = _reward(merchant, 1000)
    _add(customer, app, product)
    first = _place(customer, app, "first", reward=reward.public_id)
    pay_by_sandbox(first)
    first = Order.objects.get(pk=first.pk)
    line = first.lines.get()
    _add(customer, app, product)  # the next cart: the same reward, needing the points back

    def act(i):
        if i == 0:
            return refund_flows.order_refund(order=first, lines={line.pk: 2}, reason="r",
                                             by=owner)  # fmt: skip
        return _place(customer, app, "second", reward=reward.public_id)

    refunded, placed = concurrently(act, 2)
    assert isinstance(refunded, list), refunded
    returned = PointsEntry.objects.filter(member=member, kind=EntryKind.RETURN)
    assert [e.points for e in returned] == [1000]
    redeemed = PointsEntry.objects.filter(member=member, kind=EntryKind.REDEEM).count()
    assert redeemed == (1 if isinstance(placed, ordering.OrderingError) else 2), placed
    _consistent()
