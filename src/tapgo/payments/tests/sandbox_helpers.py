"""Test helpers: play the sandbox provider's part without a running server."""

from django.utils import timezone

from tapgo.flows import paying, payment_events
from tapgo.payments.models import SandboxOutbox
from tapgo.payments.providers import sandbox
from tapgo.payments.providers import sandbox as sandbox_provider


def deliver_outbox() -> list[str]:
    """Deliver every undelivered sandbox webhook, in order, as the worker would."""
    outcomes = []
    for item in SandboxOutbox.objects.filter(delivered_at__isnull=True).order_by("id"):
        body = item.body.encode()
        outcomes.append(
            payment_events.webhook_receive(
                provider=sandbox.NAME, body=body, headers={sandbox.HEADER: sandbox.sign(body)}
            )
        )
        SandboxOutbox.objects.filter(pk=item.pk).update(delivered_at=timezone.now())
    return outcomes


def pay_by_sandbox(order, *, approve: bool = True):
    """The customer pays what is left of an order on the sandbox page; the webhook lands."""
    intent = paying.intent_for_order(order=order)
    sandbox_provider.decide(intent=intent, approve=approve)
    deliver_outbox()
    intent.refresh_from_db()
    return intent
