"""Background work for payments: the sandbox's webhook deliveries (with retries, as a real
provider would), sending refunds to providers, cancelling abandoned provider payments.

The services schedule these tasks, so what the tasks run is imported when they run, not when
this module loads (the services import this module).
"""

import logging
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from tapgo.core import links
from tapgo.core.tasks import enqueue_at
from tapgo.payments import providers
from tapgo.payments.models import PaymentIntent, Refund, SandboxOutbox
from tapgo.payments.providers import ProviderError

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def webhook_url() -> str:
    return settings.SANDBOX_WEBHOOK_BASE_URL + links.provider_webhook("sandbox")


@task()
def deliver_sandbox_webhook(outbox_id: int) -> bool:
    from tapgo.payments.providers import sandbox  # it schedules this task

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


@task()
def send_refund(refund_id: int, attempt: int = 0) -> bool:
    """Ask the provider to pay a refund; retried with backoff, then left to the sweep."""
    from tapgo.payments import services  # they schedule this task

    refund = (
        Refund.objects.select_related("intent", "intent__merchant").filter(pk=refund_id).first()
    )
    if refund is None:
        return True
    try:
        services.refund_send(refund=refund)
    except ProviderError as exc:
        log.warning("refund %s not sent (attempt %d): %s", refund.public_id, attempt + 1, exc)
        if attempt + 1 < MAX_ATTEMPTS:
            enqueue_at(
                send_refund,
                timezone.now() + timedelta(seconds=2 ** (attempt + 1)),
                refund_id,
                attempt + 1,
            )
        return False
    return True


@task()
def cancel_at_provider(intent_id: int) -> None:
    """Cancel an abandoned attempt at its provider, so the customer cannot finish paying it
    (if they do anyway, the capture is refunded as a surplus)."""
    from tapgo.payments import services  # they schedule this task

    intent = PaymentIntent.objects.select_related("merchant").filter(pk=intent_id).first()
    if intent is None:
        return
    provider = providers.get(intent.provider)
    if provider is None:
        return
    try:
        provider.cancel(
            intent,
            account=services.provider_account(intent.merchant, intent.provider, enabled=False),
        )
    except providers.ProviderError as exc:
        log.warning("could not cancel %s at %s: %s", intent.public_id, intent.provider, exc)
