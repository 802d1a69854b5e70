"""One retry task per message per round, and a push never outlives a dead inbox delivery."""

from datetime import timedelta
from unittest import mock

from django.utils import timezone
from tests.push_endpoint import Device

from tapgo.messaging import delivery
from tapgo.messaging.models import Delivery
from tapgo.messaging.tests.test_delivery import push_of, send_article, subscribe

S = Delivery.Status


def test_failing_deliveries_of_one_message_queue_one_retry_task(
    customer, app, push_endpoint, django_capture_on_commit_callbacks
):
    for name in ("a", "b", "c"):
        push_endpoint.answer(f"/{name}", 503)
        subscribe(customer, Device(push_endpoint.url(f"/{name}")))
    message = send_article(customer, app)
    with mock.patch("tapgo.messaging.delivery.enqueue_at") as enqueue_at:
        with django_capture_on_commit_callbacks(execute=True):
            delivery.deliver_message(message.pk)
    pushes = Delivery.objects.filter(message=message, channel=Delivery.Channel.PUSH)
    assert {d.status for d in pushes} == {S.FAILED}
    assert enqueue_at.call_count == 1  # three failed pushes, one task for the message
    (_task, when, message_id), _kw = enqueue_at.call_args
    assert message_id == message.pk
    assert when == min(d.next_attempt_at for d in pushes)


def test_a_push_whose_inbox_delivery_is_dead_is_dead_too(customer, app, push_endpoint):
    subscribe(customer, Device(push_endpoint.url("/phone")))
    message = send_article(customer, app)
    Delivery.objects.filter(message=message, channel=Delivery.Channel.INBOX).update(
        status=S.DEAD, last_error="disk full"
    )
    assert delivery.deliveries_due() == 0
    push = push_of(message)
    assert push.status == S.DEAD
    assert push.last_error == "the inbox delivery failed"
    assert push_endpoint.received() == []


def test_a_push_waits_for_its_inbox_delivery_without_spending_tries(customer, app, push_endpoint):
    subscribe(customer, Device(push_endpoint.url("/phone")))
    message = send_article(customer, app)
    later = timezone.now() + timedelta(minutes=3)
    Delivery.objects.filter(message=message, channel=Delivery.Channel.INBOX).update(
        next_attempt_at=later
    )
    delivery.deliveries_due()
    push = push_of(message)
    assert push.status == S.QUEUED
    assert push.attempts == 0
    assert push.next_attempt_at > later  # comes back after the inbox's own try
    assert push_endpoint.received() == []
