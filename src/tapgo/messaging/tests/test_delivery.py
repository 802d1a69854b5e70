"""The delivery outbox: the inbox exactly once, leases, two workers, rate limits, retries,
dead letters, and no push or email before the message is in the inbox."""

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone
from tests.push_endpoint import Device

from tapgo.identity.services import customer_create_guest
from tapgo.messaging import delivery
from tapgo.messaging import push as push_channel
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.library import BUILTIN
from tapgo.messaging.models import Delivery, Message, Template

S = Delivery.Status


def subscribe(customer, device: Device):
    sub = device.subscription()
    return messaging.push_subscribe(
        customer=customer,
        endpoint=sub["endpoint"],
        p256dh=sub["keys"]["p256dh"],
        auth=sub["keys"]["auth"],
    )


def send_article(customer, app, title: str = "Spring menu") -> Message:
    """A message of the standing `new_article` template, queued and not delivered."""
    messaging.consent_give(customer=customer, app=app, key=TemplateKey.NEW_ARTICLE, standing=True)
    return messaging.notify(
        customer=customer,
        app=app,
        key=TemplateKey.NEW_ARTICLE,
        values={"app": app.name, "title": title},
        link=f"/m/{app.slug}/",
    )


def inbox_of(message: Message) -> Delivery:
    return Delivery.objects.get(message=message, channel=Delivery.Channel.INBOX)


def push_of(message: Message) -> Delivery:
    return Delivery.objects.get(message=message, channel=Delivery.Channel.PUSH)


def time_passes(*messages: Message, by: timedelta) -> None:
    """Move the clock forward for these messages: their deliveries and inbox times go back."""
    ids = [m.pk for m in messages]
    Message.objects.filter(pk__in=ids, delivered_at__isnull=False).update(
        delivered_at=timezone.now() - by
    )


def due_now(*messages: Message) -> None:
    Delivery.objects.filter(message__in=messages).update(next_attempt_at=timezone.now())


# --- the inbox exactly once ------------------------------------------------------------------


def test_backoff_doubles_and_stops_at_an_hour(settings):
    settings.NOTIFY_RETRY_SECONDS = 30
    waits = [delivery.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_delivering_twice_puts_the_message_in_the_inbox_once(customer, app, push_endpoint):
    phone = Device(push_endpoint.url("/phone"))
    subscribe(customer, phone)
    message = send_article(customer, app)
    assert message.delivered_at is None
    assert list(messaging.inbox_of(customer)) == []  # not before its delivery ran

    assert delivery.deliver_message(message.pk) == 2
    message.refresh_from_db()
    first = message.delivered_at
    assert first is not None

    assert delivery.deliver_message(message.pk) == 0
    assert delivery.deliveries_due() == 0
    message.refresh_from_db()
    assert message.delivered_at == first
    assert [(d.channel, d.status, d.attempts) for d in message.deliveries.order_by("pk")] == [
        ("inbox", S.SENT, 1),
        ("push", S.SENT, 1),
    ]
    assert list(messaging.inbox_of(customer)) == [message]
    assert messaging.unread_count(customer.pk) == 1
    assert len(push_endpoint.received("/phone")) == 1


def test_a_worker_that_died_holding_a_delivery_lets_it_go_when_the_lease_ends(
    customer, app, settings
):
    message = send_article(customer, app)
    # Worker A claims the inbox delivery, then dies before delivering it.
    token, claimed = delivery._claim(Q(message_id=message.pk), limit=50)
    assert [d.channel for d in claimed] == ["inbox"]
    row = inbox_of(message)
    assert row.lease_token == token and row.attempts == 1
    assert row.lease_until > timezone.now() + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS - 5)

    # While the lease holds, nobody else takes it.
    assert delivery.deliver_message(message.pk) == 0
    assert delivery.deliveries_due() == 0
    message.refresh_from_db()
    assert message.delivered_at is None

    # The lease runs out: the sweep hands it to the next worker.
    Delivery.objects.filter(pk=row.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert delivery.deliveries_due() == 1
    message.refresh_from_db()
    delivered_at = message.delivered_at
    assert delivered_at is not None
    row = inbox_of(message)
    assert (row.status, row.attempts, row.lease_token) == (S.SENT, 2, "")

    # Worker A was only slow, not dead: its late run changes nothing.
    assert delivery._deliver(token, claimed) == 1  # it thinks it delivered...
    message.refresh_from_db()
    assert message.delivered_at == delivered_at  # ...but the inbox has the message once
    row2 = inbox_of(message)
    assert (row2.status, row2.attempts, row2.sent_at) == (S.SENT, 2, row.sent_at)
    assert Message.objects.filter(customer=customer).count() == 1


def test_a_failing_channel_does_not_stop_the_others(customer, app, push_endpoint, monkeypatch):
    broken, fine = Device(push_endpoint.url("/broken")), Device(push_endpoint.url("/fine"))
    subscribe(customer, broken)
    subscribe(customer, fine)
    real_send = push_channel.send

    def send(subscription, payload):
        if subscription.endpoint == broken.endpoint:
            raise RuntimeError("a bug in the push code")
        return real_send(subscription, payload)

    monkeypatch.setattr(push_channel, "send", send)
    message = send_article(customer, app)

    assert delivery.deliver_message(message.pk) == 2  # the inbox and the fine device

    failed = Delivery.objects.get(message=message, subscription__endpoint=broken.endpoint)
    assert failed.status == S.FAILED
    assert "RuntimeError: a bug in the push code" in failed.last_error
    assert failed.next_attempt_at > timezone.now()
    assert len(push_endpoint.received("/fine")) == 1


# --- two workers -----------------------------------------------------------------------------


@pytest.fixture
def article_on(app):
    """The template library, also after a transactional test emptied the tables."""
    for spec in BUILTIN:
        Template.objects.get_or_create(
            key=spec["key"],
            defaults={k: spec[k] for k in ("subject", "fields", "texts", "standing", "default_on")},
        )
    template = Template.objects.get(key=TemplateKey.NEW_ARTICLE)
    messaging.app_template_switch(app=app, template=template, on=True)
    return template


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_workers_deliver_each_delivery_once(
    app, article_on, push_endpoint, settings, concurrently
):
    # Messages wait in the outbox (no task runs them) until the two workers race for them.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    push_endpoint.delay = 0.02  # a push takes a moment, as over the internet
    customers = [customer_create_guest() for _ in range(3)]
    phones = [Device(push_endpoint.url(f"/phone{i}")) for i in range(3)]
    messages = []
    for customer, phone in zip(customers, phones, strict=True):
        subscribe(customer, phone)
        messages += [send_article(customer, app, f"Article {n}") for n in range(4)]
    assert Delivery.objects.filter(status=S.QUEUED).count() == 24
    assert push_endpoint.received() == []

    def worker(_i):
        return sum(delivery.deliveries_due(limit=3) for _ in range(12))

    results = concurrently(worker, 2)
    assert not [r for r in results if isinstance(r, BaseException)], results
    done = sum(results)
    # A push whose inbox delivery the other worker held waits a few seconds; let it go now.
    for _ in range(5):
        if not Delivery.objects.exclude(status=S.SENT).exists():
            break
        due_now(*messages)
        done += delivery.deliveries_due()

    assert done == 24
    assert Delivery.objects.filter(status=S.SENT).count() == 24
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    for i in range(3):
        received = push_endpoint.received(f"/phone{i}")
        assert len(received) == 4
        bodies = sorted(phones[i].decrypt(p.body)["body"] for p in received)
        assert bodies == [f"Article {n}" for n in range(4)]
    assert not Message.objects.filter(delivered_at__isnull=True).exists()


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_two_tasks_for_one_message_deliver_it_once(
    app, article_on, push_endpoint, settings, concurrently
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    customer = customer_create_guest()
    phone = Device(push_endpoint.url("/phone"))
    subscribe(customer, phone)
    message = send_article(customer, app)

    results = concurrently(lambda _i: delivery.deliver_message(message.pk), 4)

    assert not [r for r in results if isinstance(r, BaseException)], results
    due_now(message)
    delivery.deliveries_due()  # the push, if it waited for the inbox in another task
    assert len(push_endpoint.received("/phone")) == 1
    assert set(message.deliveries.values_list("status", "attempts")) == {(S.SENT, 1)}


# --- rate limits -----------------------------------------------------------------------------


def test_a_customer_over_the_hourly_limit_waits_without_spending_tries(
    customer, app, push_endpoint, settings
):
    settings.NOTIFY_PER_CUSTOMER_HOUR = 2
    phone = Device(push_endpoint.url("/phone"))
    subscribe(customer, phone)
    first, second, third = (send_article(customer, app, f"Article {n}") for n in range(3))
    delivery.deliver_message(first.pk)
    delivery.deliver_message(second.pk)

    before = timezone.now()
    assert delivery.deliver_message(third.pk) == 0

    third.refresh_from_db()
    assert third.delivered_at is None
    for row in third.deliveries.all():  # the inbox and the push wait together
        assert (row.status, row.attempts, row.lease_token) == (S.QUEUED, 0, "")
        assert row.next_attempt_at >= before + timedelta(minutes=4)
    assert len(push_endpoint.received("/phone")) == 2
    assert messaging.unread_count(customer.pk) == 2

    # Another customer is not held back by this one's limit.
    other = customer_create_guest()
    assert delivery.deliver_message(send_article(other, app).pk) == 1

    # Still within the hour: the sweep leaves it waiting.
    due_now(third)
    assert delivery.deliveries_due() == 0
    assert set(third.deliveries.values_list("attempts", flat=True)) == {0}

    # An hour later the third goes, inbox and push.
    time_passes(first, second, by=timedelta(minutes=61))
    due_now(third)
    assert delivery.deliveries_due() == 2
    third.refresh_from_db()
    assert third.delivered_at is not None
    assert set(third.deliveries.values_list("status", "attempts")) == {(S.SENT, 1)}
    assert [phone.decrypt(p.body)["body"] for p in push_endpoint.received("/phone")] == [
        "Article 0",
        "Article 1",
        "Article 2",
    ]


def test_a_merchant_over_the_per_minute_limit_waits(app, other_merchant, settings):
    from tapgo.miniapps.models import MiniApp

    settings.NOTIFY_PER_MERCHANT_MINUTE = 2
    customers = [customer_create_guest() for _ in range(3)]
    messages = [send_article(c, app) for c in customers]
    delivery.deliver_message(messages[0].pk)
    delivery.deliver_message(messages[1].pk)

    before = timezone.now()
    assert delivery.deliver_message(messages[2].pk) == 0
    waiting = inbox_of(messages[2])
    assert (waiting.status, waiting.attempts) == (S.QUEUED, 0)
    assert waiting.next_attempt_at >= before + timedelta(seconds=14)

    # Another merchant's messages go meanwhile.
    bakery = MiniApp.objects.get(slug="bakery")
    assert delivery.deliver_message(send_article(customers[0], bakery).pk) == 1

    time_passes(*messages[:2], by=timedelta(minutes=2))
    due_now(messages[2])
    assert delivery.deliveries_due() == 1
    messages[2].refresh_from_db()
    assert messages[2].delivered_at is not None
    assert inbox_of(messages[2]).attempts == 1


# --- no push before the inbox ----------------------------------------------------------------


def test_a_push_waits_while_its_inbox_delivery_is_held_elsewhere(customer, app, push_endpoint):
    phone = Device(push_endpoint.url("/phone"))
    subscribe(customer, phone)
    message = send_article(customer, app)
    inbox = inbox_of(message)
    # Another worker holds the inbox delivery.
    Delivery.objects.filter(pk=inbox.pk).update(
        lease_until=timezone.now() + timedelta(minutes=2), lease_token="another-worker"
    )

    before = timezone.now()
    assert delivery.deliver_message(message.pk) == 0

    assert push_endpoint.received() == []
    row = push_of(message)
    assert (row.status, row.attempts, row.lease_token) == (S.QUEUED, 0, "")
    assert row.next_attempt_at >= before + timedelta(seconds=4)

    # The other worker died; later the sweep delivers both, the inbox first.
    Delivery.objects.filter(pk=inbox.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    due_now(message)
    assert delivery.deliveries_due() == 2
    message.refresh_from_db()
    row = push_of(message)
    assert row.status == S.SENT
    assert message.delivered_at <= row.sent_at
    assert len(push_endpoint.received("/phone")) == 1


def test_a_push_due_before_its_inbox_delivery_waits_for_it(customer, app, push_endpoint):
    phone = Device(push_endpoint.url("/phone"))
    subscribe(customer, phone)
    message = send_article(customer, app)
    later = timezone.now() + timedelta(hours=1)
    Delivery.objects.filter(pk=inbox_of(message).pk).update(next_attempt_at=later)

    assert delivery.deliveries_due(limit=1) == 0  # the sweep finds only the push
    assert delivery.deliveries_due() == 0
    assert push_endpoint.received() == []
    assert push_of(message).attempts == 0
    message.refresh_from_db()
    assert message.delivered_at is None


# --- dead letters ----------------------------------------------------------------------------


def test_a_dead_delivery_is_listed_and_goes_when_retried(
    customer, app, push_endpoint, django_capture_on_commit_callbacks
):
    phone = Device(push_endpoint.url("/phone"))
    subscribe(customer, phone)
    push_endpoint.answer("/phone", 400)
    message = send_article(customer, app)
    delivery.deliver_message(message.pk)
    dead = push_of(message)
    assert dead.status == S.DEAD
    assert [d.pk for d in delivery.dead_letters()] == [dead.pk]
    listed = delivery.dead_letters()[0]
    assert (listed.message.template.key, listed.message.app.slug) == ("new_article", app.slug)

    assert delivery.delivery_retry(delivery_id=inbox_of(message).pk) is False  # not dead
    push_endpoint.answer("/phone", 201)
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.delivery_retry(delivery_id=dead.pk) is True

    row = push_of(message)
    assert (row.status, row.attempts, row.last_error) == (S.SENT, 1, "")
    assert list(delivery.dead_letters()) == []
    assert phone.decrypt(push_endpoint.wait_for(1, "/phone")[0].body)["body"] == "Spring menu"
    assert delivery.delivery_retry(delivery_id=dead.pk) is False  # not dead any more
    assert delivery.delivery_retry(delivery_id=10**9) is False


def test_a_retried_dead_delivery_gets_fresh_tries(customer, app, push_endpoint, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    phone = Device(push_endpoint.url("/phone"))
    subscribe(customer, phone)
    push_endpoint.answer("/phone", 500)
    message = send_article(customer, app)
    delivery.deliver_message(message.pk)
    due_now(message)
    delivery.deliveries_due()
    assert (push_of(message).status, push_of(message).attempts) == (S.DEAD, 2)

    assert delivery.delivery_retry(delivery_id=push_of(message).pk)
    row = push_of(message)
    assert (row.status, row.attempts) == (S.QUEUED, 0)
    delivery.deliveries_due()  # still failing: a retry, not dead at once
    row = push_of(message)
    assert (row.status, row.attempts) == (S.FAILED, 1)
