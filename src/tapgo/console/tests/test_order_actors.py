"""Who moved an order: every step of its life records its actor, and the console's order
page shows it on the timeline. The actions offered are the state machine's
(ordering.order_actions), never re-encoded in a template."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tapgo.console.tests.conftest import paid_order
from tapgo.core.actors import ActorKind
from tapgo.flows import orders as order_flows
from tapgo.identity.services import customer_create_guest
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order, OrderEvent, OrderStatus

S = OrderStatus


def _act(client, merchant, order, action, **data):
    url = reverse("console:order_action", args=[merchant.public_id, order.public_id, action])
    return client.post(url, data, follow=True)


def _events(order):
    return list(
        OrderEvent.objects.filter(order=order)
        .order_by("pk")
        .values_list("status", "actor_kind", "actor_user_id", "actor_label")
    )


def test_each_step_records_who_took_it(client, owner, staff_member, merchant, app, product):
    order = paid_order(app, product)
    client.force_login(staff_member)
    _act(client, merchant, order, "accept")
    client.force_login(owner)
    _act(client, merchant, order, "ready")
    _act(client, merchant, order, "cancel", reason="Machine broke")

    assert _events(order) == [
        (S.PENDING_PAYMENT, ActorKind.CUSTOMER, None, ""),
        (S.PAID, ActorKind.SYSTEM, None, ""),  # a verified payment, not a person
        (S.ACCEPTED, ActorKind.STAFF, staff_member.pk, "staff@cafe.test"),
        (S.READY, ActorKind.STAFF, owner.pk, "owner@cafe.test"),
        (S.CANCELLED, ActorKind.STAFF, owner.pk, "owner@cafe.test"),
    ]
    page = client.get(reverse("console:order", args=[merchant.public_id, order.public_id]))
    timeline = page.content.decode().split('<ol class="history">')[1].split("</ol>")[0]
    assert timeline.count('data-kind="step"') == 5
    # The cancellation told the customer (the paid order granted one message about it).
    assert timeline.count('data-kind="message"') == 1
    assert 'Accepted <span class="muted">· staff@cafe.test</span>' in timeline
    assert 'Cancelled <span class="muted">· owner@cafe.test</span>' in timeline
    assert 'Placed <span class="muted">· The customer</span>' in timeline
    assert 'Paid <span class="muted">· Automatic</span>' in timeline


def test_a_staff_name_is_shown_when_there_is_one(client, owner, merchant, app, product):
    owner.name = "Ann Lee"
    owner.save(update_fields=["name"])
    order = paid_order(app, product)
    client.force_login(owner)
    _act(client, merchant, order, "reject", reason="Out of milk")
    assert _events(order)[-1] == (S.REJECTED, ActorKind.STAFF, owner.pk, "Ann Lee")


def test_the_customer_giving_up_and_the_clock_are_recorded_too(app, product, order):
    order_flows.order_cancel_unpaid(order=order)
    assert _events(order)[-1][:2] == (S.CANCELLED, ActorKind.CUSTOMER)

    customer = customer_create_guest()
    ordering.cart_add(customer=customer, app=app, product_public_id=product.public_id)
    late = ordering.order_place(
        customer=customer, app=app, checkout_key="late", fulfilment="pickup", pickup_name="Bo"
    )
    Order.objects.filter(pk=late.pk).update(expires_at=timezone.now())
    late.refresh_from_db()
    assert order_flows.order_expire(order=late)
    assert _events(late)[-1][:2] == (S.EXPIRED, ActorKind.SYSTEM)


@pytest.mark.parametrize("status", S.values)
def test_the_actions_offered_are_the_state_machines(status, order):
    Order.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    actions = ordering.order_actions(order)
    expected = {
        S.PAID: [("accept", True), ("reject", False)],
        S.PLACED: [("accept", True), ("reject", False)],  # a table's round, paid after eating
        S.ACCEPTED: [("ready", True), ("cancel", False)],
        S.READY: [("complete", True), ("cancel", False)],
        S.OUT_FOR_DELIVERY: [("cancel", False)],  # no other order gets there
    }.get(status, [])
    assert [(a.name, a.primary) for a in actions] == expected
    targets = {"accept": S.ACCEPTED, "ready": S.READY, "complete": S.COMPLETED,
               "reject": S.REJECTED, "cancel": S.CANCELLED}  # fmt: skip
    for action in actions:
        assert targets[action.name] in ordering.TRANSITIONS[status]
        assert bool(action.reason) is not action.primary  # a way out asks for a reason


def test_the_board_renders_the_offered_actions(owner_client, merchant, app, product):
    order = paid_order(app, product)
    html = owner_client.get(reverse("console:board", args=[merchant.public_id])).content.decode()
    card = html.split(f'id="order-{order.public_id}"')[1].split("</article>")[0]
    assert (
        reverse("console:order_action", args=[merchant.public_id, order.public_id, "accept"])
        in card
    )
    assert (
        reverse("console:order_action", args=[merchant.public_id, order.public_id, "reject"])
        in card
    )
    assert "cancel" not in card and 'placeholder="e.g. Sold out today"' in card
