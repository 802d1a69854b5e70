"""Points under concurrency (SQLite and PostgreSQL): each effect happens once, and the
balance is the ledger's sum whoever wins a race."""

import pytest

from tapgo.core.actors import SYSTEM
from tapgo.flows import refunds as refund_flows
from tapgo.membership import services as membership
from tapgo.membership.models import EntryKind, Member, PointsEntry
from tapgo.ordering.models import Order
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def _paid_order(customer, app, product, key):
    from tapgo.ordering.services import cart_add, order_place

    cart_add(customer=customer, app=app, product_public_id=product.public_id, quantity=2)
    order = order_place(customer=customer, app=app, checkout_key=key, fulfilment="pickup",
                        pickup_name="Ann")  # fmt: skip
    pay_by_sandbox(order)
    return Order.objects.get(pk=order.pk)


def test_a_refund_racing_a_redemption_reverses_once_and_never_refuses_the_refund(
    concurrently, merchant, customer, app, product, owner
):
    member = membership.member_join(merchant=merchant, customer=customer, app=app)
    for round_ in range(4):
        order = _paid_order(customer, app, product, f"k-{round_}")
        before = Member.objects.get(pk=member.pk).balance  # 52 more than the last round

        def act(i, order=order, round_=round_, before=before):
            if i == 0:
                return refund_flows.order_refund(order=order, amount=5200, reason="r", by=owner)
            return membership.points_redeem(
                member=member, points=before, key=f"redeem:{round_}", reason="cake", actor=SYSTEM
            )

        refunded, redeemed = concurrently(act, 2)
        assert isinstance(refunded, list) and len(refunded) == 1, refunded
        reversal = PointsEntry.objects.get(
            member=member, kind=EntryKind.REVERSE, source_id=order.pk
        )
        assert reversal.points == -52
        after = Member.objects.get(pk=member.pk).balance
        if isinstance(redeemed, membership.NotEnoughPoints):  # the refund came first
            assert after == before - 52
        else:
            assert isinstance(redeemed, PointsEntry), redeemed
            assert after == before - 52 - before  # spent, then the refund: below zero
        assert membership.verify_balances() == [] and membership.verify_lots() == []
        # Back to zero for the next round.
        if after:
            membership.points_adjust(member=member, points=-after, reason="reset",
                                     key=f"reset:{round_}", actor=SYSTEM)  # fmt: skip


def test_twenty_deliveries_of_one_payment_webhook_earn_once(
    concurrently, merchant, customer, app, order
):
    from tapgo.flows.paying import intent_for_order
    from tapgo.flows.payment_events import webhook_receive
    from tapgo.payments.providers import sandbox

    member = membership.member_join(merchant=merchant, customer=customer, app=app)
    intent = intent_for_order(order=order)
    body = sandbox.event_body(event_id="evt_points", kind="payment.succeeded",
                              intent_public_id=intent.public_id, amount=intent.amount,
                              currency=intent.currency)  # fmt: skip
    signature = sandbox.sign(body)
    concurrently(
        lambda _i: webhook_receive(
            provider="sandbox", body=body, headers={sandbox.HEADER: signature or ""}
        ),
        20,
    )
    assert list(PointsEntry.objects.filter(member=member).values_list("points", flat=True)) == [52]
    assert Member.objects.get(pk=member.pk).balance == 52


def test_two_refunds_of_one_order_at_once_reverse_in_proportion_once_each(
    concurrently, merchant, customer, app, product, owner
):
    member = membership.member_join(merchant=merchant, customer=customer, app=app)
    order = _paid_order(customer, app, product, "k-two")
    results = concurrently(
        lambda i: refund_flows.order_refund(order=order, amount=2600, reason=f"r{i}", by=owner), 2
    )
    assert all(isinstance(r, list) for r in results), results
    assert sorted(
        PointsEntry.objects.filter(kind=EntryKind.REVERSE).values_list("points", flat=True)
    ) == [-26, -26]
    assert Member.objects.get(pk=member.pk).balance == 0
