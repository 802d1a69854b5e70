"""Devices: a customer's Web Push subscriptions (the phones and browsers that show their
notifications)."""

from django.db import IntegrityError, transaction

from tapgo.identity.models import Customer
from tapgo.messaging import texts as template_texts
from tapgo.messaging.models import PushSubscription
from tapgo.messaging.push import check_subscription

MAX_DEVICES = 10  # push subscriptions a customer keeps; a new one beyond drops the oldest


def push_subscribe(
    *, customer: Customer, endpoint: str, p256dh: str, auth: str, label: str = ""
) -> PushSubscription:
    """Keep a device's subscription; the same endpoint again updates it (and moves it to this
    customer: a phone belongs to whoever uses it now)."""
    endpoint, p256dh, auth = check_subscription(endpoint, p256dh, auth)
    values = dict(
        customer=customer,
        p256dh=p256dh,
        auth=auth,
        label=label[:80],
        language=template_texts.current_language(),
    )
    try:
        with transaction.atomic():
            subscription, _created = PushSubscription.objects.update_or_create(
                endpoint=endpoint, defaults=values
            )
    except IntegrityError:  # created by a racing request
        PushSubscription.objects.filter(endpoint=endpoint).update(**values)
        subscription = PushSubscription.objects.get(endpoint=endpoint)
    # A customer has a few phones, not hundreds of endpoints for the worker to call.
    keep = PushSubscription.objects.filter(customer=customer).order_by("-created_at", "-pk")
    stale = list(keep.values_list("pk", flat=True)[MAX_DEVICES:])
    if stale:
        PushSubscription.objects.filter(pk__in=stale).delete()
    return subscription


def push_unsubscribe(*, customer: Customer, endpoint: str = "", public_id: str = "") -> bool:
    mine = PushSubscription.objects.filter(customer=customer)
    if endpoint:
        mine = mine.filter(endpoint=endpoint)
    elif public_id:
        mine = mine.filter(public_id=public_id)
    else:
        return False
    return bool(mine.delete()[0])


def devices_of(customer: Customer | None):
    if customer is None:
        return PushSubscription.objects.none()
    return PushSubscription.objects.filter(customer=customer).order_by("-created_at")
