"""Coupons issued by themselves to members, under concurrency (SQLite and PostgreSQL): two
earns crossing a level's threshold at once issue its coupon once; a customer joining twice
at once gets one card and one welcome coupon."""

import pytest

from tapgo.core.actors import SYSTEM
from tapgo.coupons.models import Batch, Coupon, CustomerCount
from tapgo.flows import counter as counter_flows
from tapgo.flows import membership as card_flows
from tapgo.membership import services as membership
from tapgo.membership.models import Member

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def test_two_earns_crossing_a_threshold_at_once_issue_one_coupon(
    concurrently, app, merchant, customer, make_batch
):
    gold = membership.level_save(
        merchant=merchant, name="Gold", threshold=500, rank=1, discount_bps=0
    )
    gift = make_batch(name="Gold gift", issued_on="level", level=gold)
    member, _new = card_flows.card_join(app=app, customer=customer)
    counter_flows.counter_purchase(member=member, amount=40000, key="start", actor=SYSTEM)  # 400

    results = concurrently(
        lambda i: counter_flows.counter_purchase(
            member=member, amount=15000, key=f"till-{i}", actor=SYSTEM
        ),
        2,
    )  # each alone would reach Gold

    assert not any(isinstance(r, BaseException) for r in results), results
    assert Member.objects.get(pk=member.pk).level == gold
    assert Member.objects.get(pk=member.pk).balance == 700
    assert Coupon.objects.filter(customer=customer, batch=gift).count() == 1
    assert Batch.objects.get(pk=gift.pk).issued == 1
    assert CustomerCount.objects.get(batch=gift, customer=customer).count == 1


def test_a_customer_joining_twice_at_once_gets_one_welcome_coupon(
    concurrently, app, customer, make_batch
):
    welcome = make_batch(name="Welcome", issued_on="join")

    results = concurrently(lambda _i: card_flows.card_join(app=app, customer=customer), 4)

    assert all(isinstance(r, tuple) for r in results), results
    assert Member.objects.filter(customer=customer).count() == 1
    assert Coupon.objects.filter(customer=customer, batch=welcome).count() == 1
    assert Batch.objects.get(pk=welcome.pk).issued == 1
