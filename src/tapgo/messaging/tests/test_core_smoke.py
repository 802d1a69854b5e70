"""The core path end to end: paying grants one message; ready uses it; the inbox has it."""

import pytest

from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.messaging import services as messaging
from tapgo.messaging.models import Consent, Delivery, Message


@pytest.fixture
def paid(order):
    assert order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    return order


def test_paying_grants_one_message_that_ready_uses(
    paid, customer, django_capture_on_commit_callbacks
):
    grant = Consent.objects.get(customer=customer, kind=Consent.Kind.GRANT)
    assert grant.subject == f"order:{paid.public_id}"
    order_flows.order_accept(actor=SYSTEM, order=paid)
    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_mark_ready(actor=SYSTEM, order=paid)
    message = Message.objects.get(customer=customer)
    assert message.template.key == "order_ready"
    assert message.delivered_at is not None  # the immediate task backend delivered it
    assert list(messaging.inbox_of(customer)) == [message]
    assert messaging.unread_count(customer.pk) == 1
    assert Delivery.objects.get(message=message).status == Delivery.Status.SENT
    grant.refresh_from_db()
    assert grant.status == Consent.Status.USED
    title, body = messaging.message_text(message, "en")
    assert title == "Your order is ready"
    assert paid.number in body
    title, body = messaging.message_text(message, "zh-hans")
    assert title == "您的订单已做好"


def test_cancelling_after_ready_has_no_consent_left(paid, customer):
    order_flows.order_accept(actor=SYSTEM, order=paid)
    order_flows.order_mark_ready(actor=SYSTEM, order=paid)
    order_flows.order_cancel(actor=SYSTEM, order=paid, reason="Out of milk")
    assert Message.objects.filter(customer=customer).count() == 1


def test_a_push_reaches_the_device_encrypted(
    paid, customer, push_endpoint, django_capture_on_commit_callbacks
):
    from tests.push_endpoint import Device

    phone = Device(push_endpoint.url("/phone"))
    sub = phone.subscription()
    messaging.push_subscribe(
        customer=customer,
        endpoint=sub["endpoint"],
        p256dh=sub["keys"]["p256dh"],
        auth=sub["keys"]["auth"],
    )
    order_flows.order_accept(actor=SYSTEM, order=paid)
    with django_capture_on_commit_callbacks(execute=True):
        order_flows.order_mark_ready(actor=SYSTEM, order=paid)
    push = push_endpoint.wait_for(1, "/phone")[0]
    assert push.headers["content-encoding"] == "aes128gcm"
    assert push.headers["authorization"].startswith("vapid t=")
    payload = phone.decrypt(push.body)
    assert payload["title"] == "Your order is ready"
    assert paid.number in payload["body"]
    assert f"/me/n/{Message.objects.get().public_id}?k=" in payload["url"]
