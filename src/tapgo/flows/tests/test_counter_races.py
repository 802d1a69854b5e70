"""The counter under concurrency (SQLite and PostgreSQL): one fresh code at two tills pays
once; a double submit racing itself pays once; one coupon at two tills is used once; the
books stay sound (the autouse check runs `ledger verify` after each test)."""

import pytest

from tapgo.core.actors import Actor
from tapgo.coupons.models import Coupon, CouponState
from tapgo.coupons.services import coupon_issue
from tapgo.flows import counter
from tapgo.identity.models import Customer
from tapgo.identity.services import customer_create_guest
from tapgo.membership import services as membership
from tapgo.membership.models import CounterSale, PointsEntry
from tapgo.payments import stored_value
from tapgo.payments.models import PaymentIntent, Purpose

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def member(merchant, app, owner):
    customer = customer_create_guest()
    Customer.objects.filter(pk=customer.pk).update(email="ann@example.com")
    customer.refresh_from_db()
    found = membership.member_join(merchant=merchant, customer=customer, app=app)
    stored_value.topup_counter(merchant=merchant, customer=customer, amount=5000,
                               key="top-up-5000", by=owner)  # fmt: skip
    return found


def _step(member) -> int:
    return membership.code_find(merchant=member.merchant, text=membership.member_code(member))[1]


def _card(member, step, key, actor):
    try:
        return counter.counter_card(member=member, step=step, amount=1000, key=key, actor=actor)
    except counter.REFUSED as exc:
        return exc


def test_one_fresh_code_at_two_tills_pays_once(concurrently, merchant, member, owner):
    step, actor = _step(member), Actor.staff(owner)
    results = concurrently(lambda i: _card(member, step, f"till-{i}", actor), 2)
    assert sum(isinstance(r, CounterSale) for r in results) == 1, results
    assert sum(isinstance(r, membership.CodeError) for r in results) == 1, results
    assert stored_value.balance(merchant, member.customer) == 4000
    assert PaymentIntent.objects.filter(purpose=Purpose.COUNTER).count() == 1
    assert PointsEntry.objects.filter(member=member).count() == 1


def test_a_double_submit_racing_itself_pays_once(concurrently, merchant, member, owner):
    step, actor = _step(member), Actor.staff(owner)
    results = concurrently(lambda _i: _card(member, step, "same-form", actor), 4)
    sales = [r for r in results if isinstance(r, CounterSale)]
    assert sales and len({s.pk for s in sales}) == 1, results
    assert all(isinstance(r, CounterSale | membership.CodeError) for r in results), results
    assert stored_value.balance(merchant, member.customer) == 4000
    assert CounterSale.objects.count() == 1


def test_spending_more_than_the_card_holds_at_two_tills_spends_what_it_holds(
    concurrently, merchant, member, owner, app
):
    """Two members' codes would each be fresh; one card of 5000 asked for 3000 twice (two
    codes of two steps): the wallet's CHECK lets one through."""
    actor = Actor.staff(owner)
    now = membership.code_step() * membership.CODE_STEP_SECONDS + 30.0
    base = membership.code_step(now)

    def spend(i):
        try:
            return counter.counter_card(member=member, step=base + (0, 1)[i], amount=3000,
                                        key=f"big-{i}", actor=actor, now=now)  # fmt: skip
        except counter.REFUSED as exc:
            return exc

    results = concurrently(spend, 2)
    assert sum(isinstance(r, CounterSale) for r in results) == 1, results
    assert stored_value.balance(merchant, member.customer) == 2000


def test_one_coupon_at_two_tills_is_used_once(concurrently, member, owner, make_batch):
    coupon = coupon_issue(batch=make_batch(), customer=member.customer, source="claimed")
    actor = Actor.staff(owner)

    def use(i):
        try:
            return counter.counter_coupon(member=member, coupon=coupon.public_id, amount=4000,
                                          key=f"use-{i}", actor=actor)  # fmt: skip
        except counter.REFUSED as exc:
            return exc

    results = concurrently(use, 5)
    assert sum(isinstance(r, CounterSale) for r in results) == 1, results
    used = Coupon.objects.get(pk=coupon.pk)
    assert used.state == CouponState.USED and used.counter_sale_id is not None
    assert CounterSale.objects.count() == 1
    assert PointsEntry.objects.filter(member=member).count() == 1
