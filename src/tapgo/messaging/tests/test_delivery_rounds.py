"""One retry task per message per round, and a push never outlives a dead inbox delivery."""

from datetime import timedelta
from unittest import mock

from django.db.models import Q
from django.utils import timezone
from tests.push_endpoint import Device

from tapgo.messaging import delivery
from tapgo.messaging import push as push_channel
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


# --- leases under a long batch (what makes two live workers send a push once) ----------------


class Clock:
    """delivery's clock, moved by the test: leases are compared with it, in SQL too."""

    def __init__(self):
        self.at = timezone.now()

    def now(self):
        return self.at


def _phones(customer, push_endpoint, n):
    for i in range(n):
        subscribe(customer, Device(push_endpoint.url(f"/phone/{i}")))


def test_a_batch_that_outlasts_its_lease_renews_it_and_leaves_what_was_taken_over(
    customer, app, push_endpoint, settings, monkeypatch
):
    """Worker A claimed three pushes; each takes most of a lease to send. A renews a push's
    lease before sending it once half of it is gone; a push whose lease ran out meanwhile
    and that worker B's sweep took is left to B. Each push goes out once."""
    _phones(customer, push_endpoint, 3)
    message = send_article(customer, app)
    delivery.deliver_message(message.pk)  # the inbox and the three pushes, once
    assert len(push_endpoint.received()) == 3
    Delivery.objects.filter(message=message, channel=Delivery.Channel.PUSH).update(
        status=S.FAILED, next_attempt_at=timezone.now()
    )
    clock = Clock()
    monkeypatch.setattr(delivery, "timezone", clock)
    lease = timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    token, claimed = delivery._claim(Q(message_id=message.pk), limit=50)
    assert len(claimed) == 3
    taken = []  # what worker B's sweep claims while A sends, with B's token
    real_send = push_channel.send

    def slow_send(subscription, payload):
        clock.at += lease * 0.7  # most of a lease per push
        taken.append(delivery._claim(Q(), limit=50))
        return real_send(subscription, payload)

    monkeypatch.setattr(push_channel, "send", slow_send)
    by_a = delivery._deliver(token, claimed)
    monkeypatch.setattr(push_channel, "send", real_send)
    by_b = sum(delivery._deliver(t, c) for t, c in taken if c)
    # A renewed the push it was sending each time; the last one's lease had run out under
    # the first two sends, B took it, and A left it to B.
    assert [len(c) for _t, c in taken] == [0, 1]
    assert (by_a, by_b) == (2, 1)
    paths = [push.path for push in push_endpoint.received()[3:]]
    assert sorted(paths) == ["/phone/0", "/phone/1", "/phone/2"]  # once each
    assert set(Delivery.objects.filter(message=message).values_list("status", flat=True)) == {
        S.SENT
    }


def test_a_push_another_worker_took_over_is_left_to_it(customer, app, push_endpoint, settings,
                                                        monkeypatch):  # fmt: skip
    """Worker A paused past its lease (a long GC, a starved CPU) and worker B took its pushes
    over: A, waking, sends none of them; B sends each once."""
    _phones(customer, push_endpoint, 2)
    message = send_article(customer, app)
    delivery.deliver_message(message.pk)
    Delivery.objects.filter(message=message, channel=Delivery.Channel.PUSH).update(
        status=S.FAILED, next_attempt_at=timezone.now()
    )
    sent_before = len(push_endpoint.received())
    clock = Clock()
    monkeypatch.setattr(delivery, "timezone", clock)
    token_a, claimed_a = delivery._claim(Q(message_id=message.pk), limit=50)
    clock.at += timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1)  # A's lease ran out
    token_b, claimed_b = delivery._claim(Q(), limit=50)
    assert {d.pk for d in claimed_b} == {d.pk for d in claimed_a}
    assert delivery._deliver(token_a, claimed_a) == 0  # A sends nothing
    assert delivery._deliver(token_b, claimed_b) == 2
    assert len(push_endpoint.received()) == sent_before + 2
