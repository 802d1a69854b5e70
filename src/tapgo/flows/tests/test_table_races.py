"""Races at a table, against a real database (each thread its own connection): phones
adding to the shared cart at once, and phones paying the last of the bill at once."""

import pytest

from tapgo.flows import checkout as checkout_flow
from tapgo.flows import payment_events
from tapgo.flows import tables as table_flows
from tapgo.identity.services import customer_create_guest
from tapgo.merchants.models import Store
from tapgo.miniapps.models import MiniApp
from tapgo.ordering import services as ordering
from tapgo.ordering.models import CartLine, TableGroup, TableGroupStatus, TableShare
from tapgo.payments.models import PaymentIntent, SandboxOutbox
from tapgo.payments.providers import sandbox
from tapgo.payments.tests.sandbox_helpers import deliver_outbox

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def _app(app):
    return MiniApp.objects.select_related("merchant", "store").get(pk=app.pk)


def _unexpected(results, *allowed):
    return [r for r in results if isinstance(r, BaseException) and not isinstance(r, allowed)]


def test_eight_phones_adding_the_same_item_at_once_lose_no_update(concurrently, app, product):
    phones = [customer_create_guest() for _ in range(8)]

    def scan_and_add(i):
        ordering.group_join(customer=phones[i], app=_app(app), table_label="1")
        for _ in range(3):
            ordering.cart_add(
                customer=phones[i], app=_app(app), product_public_id=product.public_id
            )

    results = concurrently(scan_and_add, 8)

    assert _unexpected(results) == []
    assert TableGroup.objects.filter(status=TableGroupStatus.OPEN).count() == 1
    view = ordering.cart_view(customer=phones[0], app=app)
    assert view.count == 24  # 8 phones × 3, none lost
    assert sorted(line.added_by for line in view.lines) == sorted(f"Guest {n}" for n in range(1, 9))


def test_two_phones_sending_the_same_shared_cart_make_one_round(concurrently, app, product):
    Store.objects.filter(merchant=app.merchant).update(dine_in_payment="pay_after")
    app = _app(app)
    a, b = (customer_create_guest() for _ in range(2))
    for phone in (a, b):
        ordering.group_join(customer=phone, app=app, table_label="1")
        ordering.cart_add(customer=phone, app=app, product_public_id=product.public_id)

    def send(i):
        return checkout_flow.checkout(
            customer=(a, b)[i], app=_app(app), checkout_key=f"k{i}", fulfilment="dine_in"
        )

    results = concurrently(send, 2)

    assert _unexpected(results, ordering.OrderingError) == []
    rounds = [r for r in results if not isinstance(r, BaseException)]
    assert len(rounds) == 1 and rounds[0].total == 2 * product.price
    assert not CartLine.objects.exists()


def test_two_phones_paying_the_last_share_at_once_apply_one(concurrently, app, product):
    Store.objects.filter(merchant=app.merchant).update(dine_in_payment="pay_after")
    app = _app(app)
    a, b = (customer_create_guest() for _ in range(2))
    for phone in (a, b):
        ordering.group_join(customer=phone, app=app, table_label="1")
    ordering.cart_add(customer=a, app=app, product_public_id=product.public_id, quantity=2)
    group = checkout_flow.checkout(
        customer=a, app=app, checkout_key="k", fulfilment="dine_in"
    ).group
    intents = []
    for phone in (a, b):
        share = table_flows.share_choose(group=group, customer=phone, kind="rest")
        intent = table_flows.share_intent(share=share, customer=phone)
        sandbox.decide(intent=intent, approve=True)
        intents.append(intent)

    # The two webhooks land at once (one delivery each, in two threads).
    bodies = list(SandboxOutbox.objects.order_by("id"))

    def land(i):
        body = bodies[i].body.encode()
        return payment_events.webhook_receive(
            provider=sandbox.NAME, body=body, headers={sandbox.HEADER: sandbox.sign(body)}
        )

    results = concurrently(land, 2)

    assert _unexpected(results) == []
    SandboxOutbox.objects.update(delivered_at=PaymentIntent.objects.first().created_at)
    deliver_outbox()
    counted = PaymentIntent.objects.filter(counted=True)
    assert counted.count() == 1
    given_back = PaymentIntent.objects.get(counted=False, status="succeeded")
    assert given_back.refunded_amount == given_back.amount
    group.refresh_from_db()
    assert group.status == TableGroupStatus.SETTLED
    assert TableShare.objects.filter(status="paid").count() == 1
