"""Payment intents, verified provider events, refunds.

The order is marked paid only by a verified webhook, deduplicated by the provider's event id.
(The double-entry ledger and real providers slot in here in their own issue.)
"""

import logging
import secrets

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core.ids import is_public_id
from tapgo.ordering.models import Order, OrderStatus
from tapgo.payments.models import IntentStatus, PaymentIntent, SandboxOutbox, WebhookEvent
from tapgo.payments.providers import ProviderEvent, WebhookRejected, sandbox

log = logging.getLogger(__name__)
OPEN = [IntentStatus.REQUIRES_ACTION, IntentStatus.PROCESSING]


class PaymentError(ValueError):
    pass


def intent_for_order(*, order: Order) -> PaymentIntent:
    """The order's open payment intent, made once: a refreshed pay page finds the same one."""
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise PaymentError(_("This order is not waiting for payment."))
    if order.expires_at <= timezone.now():
        raise PaymentError(_("This order has expired. Please order again."))
    intent = PaymentIntent.objects.filter(order=order, status__in=OPEN).first()
    if intent is not None:
        return intent
    try:
        with transaction.atomic():
            return PaymentIntent.objects.create(
                merchant_id=order.merchant_id,
                order=order,
                amount=order.total,
                currency=order.currency,
                provider=sandbox.NAME,
            )
    except IntegrityError:
        return PaymentIntent.objects.get(order=order, status__in=OPEN)


def access_intent(public_id: str) -> PaymentIntent:
    if not is_public_id(public_id, PaymentIntent._meta.get_field("public_id").id_length):
        raise Http404
    intent = (
        PaymentIntent.objects.select_related("order", "order__app")
        .filter(public_id=public_id)
        .first()
    )
    if intent is None:
        raise Http404
    return intent


# --- the sandbox provider's side -----------------------------------------------------------


def sandbox_decide(*, intent: PaymentIntent, approve: bool) -> None:
    """The customer approved or declined on the sandbox's hosted page.

    Like a real provider, the sandbox answers with a signed webhook, written to its outbox in
    this transaction and delivered by the worker after commit. A second click changes nothing.
    """
    from tapgo.payments import tasks

    with transaction.atomic():
        moved = PaymentIntent.objects.filter(
            pk=intent.pk, status=IntentStatus.REQUIRES_ACTION
        ).update(status=IntentStatus.PROCESSING, updated_at=timezone.now())
        if not moved:
            return
        event_id = "evt_" + secrets.token_hex(12)
        body = sandbox.event_body(
            event_id=event_id,
            kind="payment.succeeded" if approve else "payment.failed",
            intent_public_id=intent.public_id,
            amount=intent.amount,
            currency=intent.currency,
        )
        outbox = SandboxOutbox.objects.create(intent=intent, event_id=event_id, body=body.decode())
        transaction.on_commit(lambda: tasks.deliver_sandbox_webhook.enqueue(outbox.pk))


# --- webhooks ------------------------------------------------------------------------------


def webhook_receive(*, provider: str, body: bytes, signature: str | None) -> str:
    """Verify, deduplicate, apply. Returns 'applied', 'duplicate' or 'ignored'.

    Raises WebhookRejected (answer 400, change nothing) for anything unverified or malformed.
    """
    if provider != sandbox.NAME:
        raise WebhookRejected("unknown provider")
    event = sandbox.verify(body, signature)
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                provider=provider, event_id=event.event_id, kind=event.kind, payload=event.payload
            )
            return _apply(event)
    except IntegrityError:
        if WebhookEvent.objects.filter(provider=provider, event_id=event.event_id).exists():
            return "duplicate"
        raise


def _apply(event: ProviderEvent) -> str:
    intent = PaymentIntent.objects.filter(public_id=event.intent_public_id).first()
    if intent is None:
        log.warning("webhook %s names an unknown intent", event.event_id)
        return "ignored"
    if event.amount != intent.amount or event.currency != intent.currency:
        raise WebhookRejected("amount or currency does not match the intent")
    # Lock the order first, as every order transition does (it moves the order, then cancels
    # or refunds its intents): the other way round deadlocks on PostgreSQL. Then read the
    # intent again: an expiry that committed while we waited has cancelled it.
    order = Order.objects.select_for_update().get(pk=intent.order_id)
    intent.refresh_from_db()
    if event.kind == "payment.failed":
        if PaymentIntent.objects.filter(pk=intent.pk, status__in=OPEN).update(
            status=IntentStatus.FAILED, updated_at=timezone.now()
        ):
            from tapgo.ordering.services import order_payment_failed

            order_payment_failed(order=order)
        return "applied"
    # payment.succeeded
    if not PaymentIntent.objects.filter(pk=intent.pk, status__in=OPEN).update(
        status=IntentStatus.SUCCEEDED, updated_at=timezone.now()
    ):
        if intent.status in (IntentStatus.FAILED, IntentStatus.CANCELLED):
            # Money arrived for an attempt we had given up on: give it back.
            _refund(intent)
        return "ignored"
    intent.status = IntentStatus.SUCCEEDED
    from tapgo.ordering.services import order_mark_paid

    if not order_mark_paid(order=order, amount=event.amount, currency=event.currency):
        _refund(intent)  # the order expired or was cancelled meanwhile
    return "applied"


def _refund(intent: PaymentIntent) -> None:
    PaymentIntent.objects.filter(pk=intent.pk).update(
        status=IntentStatus.REFUNDED, refunded_amount=intent.amount, updated_at=timezone.now()
    )


def payment_refund_order(*, order: Order) -> None:
    """Refund an order's captured payment in full (rejected or cancelled after paying)."""
    intent = PaymentIntent.objects.filter(order=order, status=IntentStatus.SUCCEEDED).first()
    if intent is not None:
        _refund(intent)


def payment_cancel_open(*, order: Order) -> None:
    PaymentIntent.objects.filter(order=order, status__in=OPEN).update(
        status=IntentStatus.CANCELLED, updated_at=timezone.now()
    )


def intent_of_order(order: Order) -> PaymentIntent | None:
    return PaymentIntent.objects.filter(order=order).order_by("-id").first()
