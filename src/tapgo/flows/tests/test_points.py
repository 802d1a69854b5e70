"""Points follow an order's money: earned when paid (once), taken back in proportion by each
refund (once), and the customer told when they asked."""

import pytest

from tapgo.core.actors import SYSTEM, Actor
from tapgo.flows import counter
from tapgo.flows import membership as points
from tapgo.flows import orders as order_flows
from tapgo.flows import refunds as refund_flows
from tapgo.membership import services as membership
from tapgo.membership.models import EntryKind, Member, PointsEntry
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import Message
from tapgo.ordering.models import Order, OrderStatus
from tapgo.payments.models import PaymentIntent, SandboxOutbox
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(merchant, customer, app):
    return membership.member_join(merchant=merchant, customer=customer, app=app)


def balance(member) -> int:
    return Member.objects.get(pk=member.pk).balance


def kinds(member) -> list[tuple[str, int]]:
    return list(PointsEntry.objects.filter(member=member).values_list("kind", "points"))


def paid(order) -> Order:
    pay_by_sandbox(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def test_points_are_earned_when_the_order_is_paid_never_at_checkout(member, order):
    assert order.total == 5200 and balance(member) == 0  # placed, not paid: nothing yet
    paid(order)
    assert kinds(member) == [(EntryKind.EARN, 52)]
    entry = PointsEntry.objects.get(member=member)
    assert (entry.source, entry.source_id, entry.spend) == ("order", order.pk, 5200)


def test_a_customer_who_is_not_a_member_earns_nothing(order):
    paid(order)
    assert not PointsEntry.objects.exists()


def test_a_replayed_payment_webhook_earns_once(member, order):
    from tapgo.flows.payment_events import webhook_receive
    from tapgo.payments.providers import sandbox

    paid(order)
    body = SandboxOutbox.objects.get().body.encode()
    assert webhook_receive(
        provider=sandbox.NAME, body=body, headers={sandbox.HEADER: sandbox.sign(body)}
    ) == "duplicate"  # fmt: skip
    # Even a second application of the paid transition's effects earns nothing more.
    points.order_paid(order=order)
    assert kinds(member) == [(EntryKind.EARN, 52)]


def test_a_cancelled_paid_order_takes_back_all_its_points_once(member, order, owner):
    paid(order)
    order_flows.order_cancel(order=order, reason="out of milk", actor=Actor.staff(owner))
    assert kinds(member) == [(EntryKind.EARN, 52), (EntryKind.REVERSE, -52)]
    entry = PointsEntry.objects.get(member=member, kind=EntryKind.REVERSE)
    assert entry.key.startswith("refund:") and entry.spend == -5200
    assert balance(member) == 0


def test_a_partial_refund_takes_back_its_share(member, order, owner):
    paid(order)
    refund_flows.order_refund(order=order, amount=1300, reason="cold", by=owner)
    assert balance(member) == 52 - 13
    refund_flows.order_refund(order=order, amount=3900, reason="all of it", by=owner)
    assert balance(member) == 0
    assert PointsEntry.objects.filter(kind=EntryKind.REVERSE).count() == 2


def test_an_item_refund_takes_back_that_items_points(member, order, owner):
    paid(order)
    line = order.lines.get()
    refund_flows.order_refund(order=order, lines={line.pk: 1}, reason="spilt", by=owner)
    assert balance(member) == 26
    assert Member.objects.get(pk=member.pk).lifetime == 26


def test_refunding_a_tip_alone_takes_no_points(member, merchant, customer, app, product, owner):
    from tapgo.flows import paying
    from tapgo.merchants.models import Merchant
    from tapgo.ordering.services import cart_add, order_place
    from tapgo.payments.providers import sandbox as sandbox_provider
    from tapgo.payments.tests.sandbox_helpers import deliver_outbox

    Merchant.objects.filter(pk=merchant.pk).update(tips_on=True)
    merchant.refresh_from_db()
    cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=1)
    order = order_place(customer=customer, app=app, checkout_key="k-tip", fulfilment="pickup",
                        pickup_name="Ann")  # fmt: skip
    intent = paying.intent_for_order(order=order, tip=400)
    sandbox_provider.decide(intent=intent, approve=True)
    deliver_outbox()
    assert PaymentIntent.objects.get(pk=intent.pk).tip == 400
    assert balance(member) == 26  # the goods (2600), not the tip
    refund_flows.order_refund_tip(order=Order.objects.get(pk=order.pk), reason="no", by=owner)
    assert balance(member) == 26


def test_a_refund_after_the_points_were_spent_leaves_a_negative_balance(member, order, owner):
    paid(order)
    membership.points_redeem(member=member, points=52, key="r", reason="cake", actor=SYSTEM)
    refund_flows.order_refund(order=order, amount=5200, reason="all", by=owner)  # not refused
    assert balance(member) == -52


def test_a_counter_purchase_earns_once_per_form_key(member, owner):
    actor = Actor.staff(owner)
    counter.counter_purchase(member=member, amount=1999, key="form-1", actor=actor)
    counter.counter_purchase(member=member, amount=1999, key="form-1", actor=actor)
    entry = PointsEntry.objects.get(member=member)
    assert (entry.points, entry.source, entry.actor_user_id) == (19, "counter", owner.pk)


def test_the_customer_is_told_only_when_they_asked(member, order, app, owner):
    template = messaging.template_by_key(TemplateKey.POINTS_CHANGED)
    messaging.app_template_switch(app=app, template=template, on=True)
    paid(order)
    assert not Message.objects.filter(template=template).exists()  # not asked

    assert points.notices_set(member=member, app=app, on=True)
    assert points.notices_on(member=member, app=app)
    refund_flows.order_refund(order=order, amount=1000, reason="cold", by=owner)
    message = Message.objects.get(template=template)
    assert message.values["change"] == -10 and message.values["balance"] == 42
    assert message.link == f"/m/{app.slug}/card/"

    points.notices_set(member=member, app=app, on=False)
    assert not points.notices_on(member=member, app=app)
    points.points_adjust(member=member, points=5, reason="sorry", key="a1",
                         actor=Actor.staff(owner))  # fmt: skip
    assert Message.objects.filter(template=template).count() == 1


def test_notices_cannot_be_asked_for_when_the_app_does_not_send_them(member, app):
    assert not points.notices_set(member=member, app=app, on=True)


def test_the_sweep_expires_due_points_and_recomputes_levels_once_a_day(member, merchant):
    from datetime import timedelta

    from django.utils import timezone

    from tapgo.membership.models import PointsLot

    membership.points_adjust(member=member, points=30, reason="gift", key="g", actor=SYSTEM)
    PointsLot.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    points._last_levels = float("-inf")
    assert points.membership_sweep() == 1  # one lot expired, no level changed
    assert balance(member) == 0
    membership.level_save(merchant=merchant, name="Silver", threshold=1, rank=1, discount_bps=0)
    membership.points_adjust(member=member, points=5, reason="gift", key="h", actor=SYSTEM)
    Member.objects.filter(pk=member.pk).update(level=None)
    assert points.membership_sweep() == 0  # levels wait for tomorrow
    points._last_levels = float("-inf")
    assert points.membership_sweep() == 1
