"""Delivery of the sandbox provider's webhooks, with retries, as a real provider would."""

import logging
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from tapgo.core.tasks import enqueue_at

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def webhook_url() -> str:
    return settings.SANDBOX_WEBHOOK_BASE_URL + reverse("payments:webhook", args=["sandbox"])


@task()
def deliver_sandbox_webhook(outbox_id: int) -> bool:
    from tapgo.payments.models import SandboxOutbox
    from tapgo.payments.providers import sandbox

    item = SandboxOutbox.objects.filter(pk=outbox_id, delivered_at__isnull=True).first()
    if item is None:
        return True
    SandboxOutbox.objects.filter(pk=item.pk).update(attempts=F("attempts") + 1)
    body = item.body.encode()
    request = urllib.request.Request(  # noqa: S310 (http(s) URL from settings)
        webhook_url(),
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", sandbox.HEADER: sandbox.sign(body)},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our URL)
            ok = 200 <= response.status < 300
    except (urllib.error.URLError, OSError) as exc:
        log.warning("sandbox webhook %s not delivered: %s", item.event_id, exc)
        ok = False
    if ok:
        SandboxOutbox.objects.filter(pk=item.pk).update(delivered_at=timezone.now())
        return True
    if item.attempts + 1 < MAX_ATTEMPTS:
        delay = timedelta(seconds=2 ** (item.attempts + 1))
        enqueue_at(deliver_sandbox_webhook, timezone.now() + delay, item.pk)
    return False
