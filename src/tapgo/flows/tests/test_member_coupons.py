"""Coupons that come by themselves to members: on joining the card (each within its caps, a
full batch skipped and logged) and on reaching a level (when points are earned or adjusted,
an order is paid, or the nightly recomputation raises it), once per member per batch even
when the level goes down and up again; and the "coupon about to expire" consent."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from tapgo.core.actors import SYSTEM
from tapgo.coupons.models import Coupon
from tapgo.flows import counter as counter_flows
from tapgo.flows import coupons as coupon_flows
from tapgo.flows import member_coupons
from tapgo.flows import membership as card_flows
from tapgo.identity.services import customer_create_guest
from tapgo.membership import services as membership
from tapgo.membership.models import Member
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import Message
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

pytestmark = pytest.mark.django_db

STAFF = SYSTEM


@pytest.fixture
def levels(merchant):
    silver = membership.level_save(
        merchant=merchant, name="Silver", threshold=100, rank=1, discount_bps=0
    )
    gold = membership.level_save(
        merchant=merchant, name="Gold", threshold=500, rank=2, discount_bps=0
    )
    return silver, gold


def held(customer, batch=None) -> list[Coupon]:
    found = Coupon.objects.filter(customer=customer)
    return list(found.filter(batch=batch) if batch else found)


def test_joining_issues_the_join_coupons_once(app, customer, make_batch):
    welcome = make_batch(name="Welcome", issued_on="join")
    claimable = make_batch(name="Claim me")

    member, new = card_flows.card_join(app=app, customer=customer)
    assert new and Member.objects.get(customer=customer) == member
    (coupon,) = held(customer)
    assert (coupon.batch, coupon.source) == (welcome, "join")
    assert coupon.source_ref == f"member:{member.public_id}"

    again, new = card_flows.card_join(app=app, customer=customer)  # a replayed tap
    assert (again, new) == (member, False)
    assert held(customer) == [coupon] and not held(customer, claimable)


def test_a_full_join_batch_is_skipped_and_logged_and_the_join_goes_on(
    app, customer, make_batch, caplog
):
    full = make_batch(name="Gone", issued_on="join", total_cap=1)
    other = make_batch(name="Welcome", issued_on="join")
    first = customer_create_guest()
    card_flows.card_join(app=app, customer=first)

    with caplog.at_level(logging.INFO, logger="tapgo.flows.member_coupons"):
        member, new = card_flows.card_join(app=app, customer=customer)

    assert new and member.pk
    assert [c.batch for c in held(customer)] == [other]
    assert not held(customer, full)
    assert full.public_id in caplog.text and "have been claimed" in caplog.text


def test_reaching_a_level_issues_its_coupon_once_even_down_and_up_again(
    app, customer, make_batch, levels
):
    silver, gold = levels
    at_gold = make_batch(name="Gold gift", issued_on="level", level=gold)
    at_silver = make_batch(name="Silver gift", issued_on="level", level=silver)
    member, _new = card_flows.card_join(app=app, customer=customer)

    counter_flows.counter_purchase(member=member, amount=15000, key="c1", actor=STAFF)  # 150
    assert [c.batch for c in held(customer)] == [at_silver]
    card_flows.points_adjust(member=member, points=400, reason="gift", key="a1", actor=STAFF)
    assert Member.objects.get(pk=member.pk).level == gold
    assert {c.batch for c in held(customer)} == {at_silver, at_gold}
    (gift,) = held(customer, at_gold)
    assert gift.source == "level"

    card_flows.points_adjust(member=member, points=-500, reason="fix", key="a2", actor=STAFF)
    assert Member.objects.get(pk=member.pk).level is None
    card_flows.points_adjust(member=member, points=500, reason="back", key="a3", actor=STAFF)
    assert Member.objects.get(pk=member.pk).level == gold
    assert len(held(customer)) == 2  # reached again: nothing more


def test_a_jump_over_a_level_issues_the_coupons_of_every_level_reached(
    app, customer, make_batch, levels
):
    silver, gold = levels
    at_silver = make_batch(name="Silver gift", issued_on="level", level=silver)
    at_gold = make_batch(name="Gold gift", issued_on="level", level=gold)
    member, _new = card_flows.card_join(app=app, customer=customer)
    counter_flows.counter_purchase(member=member, amount=60000, key="c1", actor=STAFF)
    assert {c.batch for c in held(customer)} == {at_silver, at_gold}


def test_a_paid_order_crossing_the_threshold_issues_the_coupon(
    app, customer, make_batch, merchant, order
):
    bronze = membership.level_save(
        merchant=merchant, name="Bronze", threshold=50, rank=1, discount_bps=0
    )
    gift = make_batch(name="Bronze gift", issued_on="level", level=bronze)
    membership.member_join(merchant=merchant, customer=customer, app=app)
    pay_by_sandbox(order)  # 5200 paid: 52 points
    (coupon,) = held(customer)
    assert (coupon.batch, coupon.source) == (gift, "level")


def test_the_nightly_recomputation_issues_the_coupon_of_a_level_reached(
    app, customer, make_batch, merchant
):
    member, _new = card_flows.card_join(app=app, customer=customer)
    counter_flows.counter_purchase(member=member, amount=30000, key="c1", actor=STAFF)  # 300
    bronze = membership.level_save(
        merchant=merchant, name="Bronze", threshold=200, rank=1, discount_bps=0
    )  # a new level: members reach it when the sweep recomputes
    gift = make_batch(name="Bronze gift", issued_on="level", level=bronze)
    card_flows._last_levels = float("-inf")  # the daily part of the sweep is due

    card_flows.membership_sweep()

    assert Member.objects.get(pk=member.pk).level == bronze
    assert [c.batch for c in held(customer)] == [gift]
    card_flows._last_levels = float("-inf")
    card_flows.membership_sweep()
    assert len(held(customer)) == 1


def test_levels_crossed_follow_the_ranks(levels):
    silver, gold = levels
    assert membership.levels_crossed(before=None, after=gold) == [silver, gold]
    assert membership.levels_crossed(before=silver, after=gold) == [gold]
    assert membership.levels_crossed(before=gold, after=silver) == []
    assert membership.levels_crossed(before=gold, after=None) == []
    assert member_coupons.coupons_on_level  # the flow the sweep calls


# --- "coupon about to expire": only with the customer's consent -----------------------------


def test_a_coupon_reminder_is_sent_only_with_the_card_pages_consent(app, customer, make_batch):
    from tapgo.messaging.models import Template

    template = Template.objects.get(key=TemplateKey.COUPON_EXPIRING)
    member, _new = card_flows.card_join(app=app, customer=customer)
    assert not card_flows.notices_set(
        member=member, app=app, on=True, key=TemplateKey.COUPON_EXPIRING
    )  # the app does not send it yet
    messaging.app_template_switch(app=app, template=template, on=True)
    soon = timezone.now() + timedelta(hours=5)
    first = Coupon.objects.filter(pk=_claim(make_batch, customer, "First").pk)
    first.update(expires_at=soon)

    assert coupon_flows.coupons_remind_expiring() == 1  # taken, but not sent: no consent
    assert not Message.objects.exists()
    assert not card_flows.notices_on(member=member, app=app, key=TemplateKey.COUPON_EXPIRING)

    assert card_flows.notices_set(member=member, app=app, on=True, key=TemplateKey.COUPON_EXPIRING)
    assert card_flows.notices_on(member=member, app=app, key=TemplateKey.COUPON_EXPIRING)
    assert not card_flows.notices_on(member=member, app=app)  # points: still off
    second = Coupon.objects.filter(pk=_claim(make_batch, customer, "Second").pk)
    second.update(expires_at=soon)
    assert coupon_flows.coupons_remind_expiring() == 1
    message = Message.objects.get()
    assert (message.customer, message.template) == (customer, template)

    assert card_flows.notices_set(member=member, app=app, on=False, key=TemplateKey.COUPON_EXPIRING)
    third = Coupon.objects.filter(pk=_claim(make_batch, customer, "Third").pk)
    third.update(expires_at=soon)
    assert coupon_flows.coupons_remind_expiring() == 1
    assert Message.objects.count() == 1


def test_the_card_page_offers_only_its_two_notices(app, customer):
    member, _new = card_flows.card_join(app=app, customer=customer)
    assert not card_flows.notices_set(member=member, app=app, on=True, key="order_ready")


def _claim(make_batch, customer, name):
    from tapgo.coupons import services as coupons

    return coupons.coupon_issue(batch=make_batch(name=name), customer=customer, source="claimed")


def test_the_levels_task_issues_the_coupons_too(app, customer, make_batch, merchant):
    from tapgo.flows.tasks import recompute_levels

    member, _new = card_flows.card_join(app=app, customer=customer)
    counter_flows.counter_purchase(member=member, amount=30000, key="c1", actor=STAFF)
    bronze = membership.level_save(
        merchant=merchant, name="Bronze", threshold=200, rank=1, discount_bps=0
    )
    gift = make_batch(name="Bronze gift", issued_on="level", level=bronze)
    assert recompute_levels.call() == 1
    assert [c.batch for c in held(customer)] == [gift]
