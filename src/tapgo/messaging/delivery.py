"""The worker's side: claim due deliveries, deliver them, retry with backoff, dead-letter.

A delivery is claimed by a conditional UPDATE that sets a lease (a token and a time): of
two workers one gets it, and a worker killed mid-delivery lets it go when the lease runs
out, so the sweep hands it to the next worker. The inbox delivery sets the message's
delivered_at only where it is unset: a message reaches the inbox exactly once, however
often its delivery is run.

A push or an email goes out at least once, and may go out twice: when it is interrupted
between sending and recording (a worker killed), or when its worker pauses past its lease
while sending (a starved CPU) and another worker takes the delivery over. Either way the
delivery was claimed again (its attempts say so); no push service or SMTP server takes an
idempotency key that would let us do better. A phone shows a push once all the same: the
notification's tag is the message's id (shell/static/shell/sw.js), and a second one with the
same tag replaces the first.
"""

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tapgo.core.tasks import enqueue_at
from tapgo.messaging import email as email_channel
from tapgo.messaging import push as push_channel
from tapgo.messaging.models import Consent, Delivery, Message, PushSubscription
from tapgo.messaging.services.inbox import message_text

log = logging.getLogger(__name__)
S = Delivery.Status
OPEN = [S.QUEUED, S.FAILED]


def backoff(attempts: int) -> timedelta:
    """Wait before try number attempts+1: 30 s, 1, 2, 4, 8 ... minutes, at most an hour."""
    return timedelta(seconds=min(3600, settings.NOTIFY_RETRY_SECONDS * 2 ** max(0, attempts - 1)))


def _claim(scope: Q, limit: int) -> tuple[str, list[Delivery]]:
    now = timezone.now()
    free = Q(status__in=OPEN, next_attempt_at__lte=now) & (
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    ids = list(
        Delivery.objects.filter(scope & free)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return "", []
    token = secrets.token_hex(16)
    Delivery.objects.filter(free, pk__in=ids).update(
        lease_until=now + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS),
        lease_token=token,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    claimed = list(
        Delivery.objects.filter(lease_token=token)
        .select_related("message__template", "message__app", "message__customer", "subscription")
        .order_by("message_id", "pk")
    )
    return token, claimed


def _finish(delivery: Delivery, token: str, **fields) -> None:
    Delivery.objects.filter(pk=delivery.pk, lease_token=token).update(
        lease_until=None, lease_token="", updated_at=timezone.now(), **fields
    )


def _over_limit(message: Message) -> timedelta | None:
    """How long the message must wait for the per-customer or per-merchant limit, if at all."""
    now = timezone.now()
    hour, minute = now - timedelta(hours=1), now - timedelta(minutes=1)
    per_customer = settings.NOTIFY_PER_CUSTOMER_HOUR
    per_merchant = settings.NOTIFY_PER_MERCHANT_MINUTE
    if per_customer and (
        Message.objects.filter(customer_id=message.customer_id, delivered_at__gte=hour).count()
        >= per_customer
    ):
        return timedelta(minutes=5)
    if per_merchant and (
        Message.objects.filter(merchant_id=message.merchant_id, delivered_at__gte=minute).count()
        >= per_merchant
    ):
        return timedelta(seconds=15)
    return None


def _payload(message: Message, language: str) -> dict:
    title, body = message_text(message, language)
    return {
        "title": title,
        "body": body,
        "url": email_channel.open_url(message),
        "tag": message.public_id,
        "app": message.app.name,
    }


def _attempt(delivery: Delivery) -> push_channel.Outcome:
    message = delivery.message
    if delivery.channel == Delivery.Channel.INBOX:
        Message.objects.filter(pk=message.pk, delivered_at__isnull=True).update(
            delivered_at=timezone.now()
        )
        return push_channel.Outcome("sent")
    if delivery.channel == Delivery.Channel.PUSH:
        subscription = delivery.subscription
        if subscription is None:
            return push_channel.Outcome("gone", "the device turned notifications off")
        language = subscription.language or message.language or settings.LANGUAGE_CODE
        outcome = push_channel.send(subscription, _payload(message, language))
        if outcome.result == "gone":
            PushSubscription.objects.filter(pk=subscription.pk).delete()
        elif outcome.result == "sent":
            PushSubscription.objects.filter(pk=subscription.pk).update(last_sent_at=timezone.now())
        return outcome
    # email: only while the customer still wants it (an unsubscribe may come meanwhile)
    if not message.consent_id or not _email_wanted(message):
        return push_channel.Outcome("gone", "the customer stopped these emails")
    return email_channel.send(message)


def _email_wanted(message: Message) -> bool:
    consent = Consent.objects.filter(pk=message.consent_id).values("email", "kind").first()
    return bool(consent and consent["email"])


def _record(delivery: Delivery, token: str, outcome: push_channel.Outcome):
    """Write down an attempt's outcome; returns when to try again, for a retry."""
    now = timezone.now()
    if outcome.result == "sent":
        _finish(delivery, token, status=S.SENT, sent_at=now, last_error="")
    elif outcome.result == "gone":
        _finish(delivery, token, status=S.DROPPED, last_error=outcome.error)
    elif outcome.result == "dead" or delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        log.warning("delivery %s dead: %s", delivery.pk, outcome.error)
        _finish(delivery, token, status=S.DEAD, last_error=outcome.error)
    else:
        when = now + backoff(delivery.attempts)
        _finish(delivery, token, status=S.FAILED, next_attempt_at=when, last_error=outcome.error)
        return when
    return None


def _schedule(message_id: int, when) -> None:
    from tapgo.messaging.tasks import deliver_message  # tasks.py imports this module

    transaction.on_commit(lambda: enqueue_at(deliver_message, when, message_id))


def _release(token: str, message_id: int, until) -> None:
    """Give a message's claimed deliveries back until `until`, without spending a try."""
    Delivery.objects.filter(message_id=message_id, lease_token=token).update(
        lease_until=None, lease_token="", attempts=F("attempts") - 1, next_attempt_at=until
    )


def _inbox_first(message_id: int, token: str):
    """For a push or email whose message is not in the inbox yet and whose inbox delivery
    this worker does not hold: when to come back (the inbox's own next try, or the end of
    another worker's lease), or None when the inbox delivery failed for good."""
    inbox = (
        Delivery.objects.filter(message_id=message_id, channel=Delivery.Channel.INBOX)
        .values("status", "next_attempt_at", "lease_until")
        .first()
    )
    if inbox is None or inbox["status"] == S.DEAD:
        return None
    now = timezone.now()
    candidates = [t for t in (inbox["next_attempt_at"], inbox["lease_until"]) if t and t > now]
    return max(candidates, default=now) + timedelta(seconds=1)


def _still_mine(delivery: Delivery, token: str) -> bool:
    """Whether the worker still holds a delivery it is about to send: once half its lease
    has gone (a long batch, a slow push service), the lease is renewed first, and a delivery
    whose lease ran out and was taken by another worker is left to that worker. (A worker
    that pauses past the lease while sending can still send what the other one sends too:
    at least once, see the module's docstring.)"""
    now = timezone.now()
    lease = timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    if delivery.lease_until is not None and delivery.lease_until - now > lease / 2:
        return True
    delivery.lease_until = now + lease
    return bool(
        Delivery.objects.filter(pk=delivery.pk, lease_token=token).update(
            lease_until=delivery.lease_until
        )
    )


def _deliver(token: str, claimed: list[Delivery]) -> int:
    """Deliver what was claimed, message by message, the inbox first: a push or an email
    never goes out for a message the inbox does not have yet. Returns how many went."""
    done = 0
    in_inbox = {d.message_id for d in claimed if d.message.delivered_at is not None}
    released: set[int] = set()
    again: dict[int, datetime] = {}  # message -> its next try: one task each, not one per row
    for delivery in claimed:
        message = delivery.message
        if message.pk in released:
            continue
        if message.pk not in in_inbox:
            if delivery.channel == Delivery.Channel.INBOX:
                wait = _over_limit(message)
                until = timezone.now() + wait if wait is not None else None
            else:
                until = _inbox_first(message.pk, token)
                if until is None:  # the inbox never got it: nor do the other channels
                    _finish(delivery, token, status=S.DEAD, last_error="the inbox delivery failed")
                    continue
            if until is not None:  # rate-limited, or its inbox delivery is not done yet
                released.add(message.pk)
                _release(token, message.pk, until)
                again[message.pk] = min(until, again.get(message.pk, until))
                continue
        if not _still_mine(delivery, token):
            continue  # its lease ran out under a long batch, and another worker took it
        try:
            outcome = _attempt(delivery)
        except Exception as exc:  # a bug or an outage must not stop the other deliveries
            log.exception("delivery %s failed", delivery.pk)
            outcome = push_channel.Outcome("retry", f"{type(exc).__name__}: {exc}")
        when = _record(delivery, token, outcome)
        if when is not None:
            again[message.pk] = min(when, again.get(message.pk, when))
        if delivery.channel == Delivery.Channel.INBOX and outcome.result == "sent":
            in_inbox.add(message.pk)
        done += outcome.result == "sent"
    for message_id, when in again.items():
        _schedule(message_id, when)
    return done


def deliver_message(message_id: int) -> int:
    """Deliver a message's due deliveries (its task, queued when the message was made)."""
    token, claimed = _claim(Q(message_id=message_id), limit=50)
    return _deliver(token, claimed) if claimed else 0


def deliveries_due(*, limit: int = 100) -> int:
    """The safety net (the worker's sweep): deliveries whose task never ran, whose worker
    died holding them, or whose retry is due. Inbox deliveries of a message come first."""
    token, claimed = _claim(Q(), limit=limit)
    claimed.sort(key=lambda d: (d.message_id, d.channel != Delivery.Channel.INBOX))
    return _deliver(token, claimed) if claimed else 0


# --- the operator's dead letters ----------------------------------------------------------


def dead_letters():
    return (
        Delivery.objects.filter(status=S.DEAD)
        .select_related("message__template", "message__app")
        .order_by("-updated_at")
    )


def delivery_retry(*, delivery_id: int) -> bool:
    """Put a dead delivery back in the queue with fresh tries."""
    moved = Delivery.objects.filter(pk=delivery_id, status=S.DEAD).update(
        status=S.QUEUED,
        attempts=0,
        next_attempt_at=timezone.now(),
        lease_until=None,
        lease_token="",
        updated_at=timezone.now(),
    )
    if moved:
        message_id = Delivery.objects.filter(pk=delivery_id).values_list("message_id", flat=True)[0]
        from tapgo.messaging.tasks import deliver_message as task  # tasks.py imports us

        transaction.on_commit(lambda: task.enqueue(message_id))
    return bool(moved)
