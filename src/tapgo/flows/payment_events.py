"""Applying a verified provider event: payments records it and moves the intent; this flow
says what the money means for what it paid for, in the same transaction.

- a capture for an order that is waiting for exactly this amount marks it paid
  (flows/orders.py); a capture for an order that can no longer take it (expired, cancelled,
  paid another way meanwhile) is given back as a surplus;
- a capture for a top-up credits the customer's card (payments.stored_value);
- a failure leaves the order payable and tells its live page;
- a refund's outcome settles the refund (a failed one gives back the points its reversal
  took, flows/membership.py); a refund made at the provider for a capture not
  heard of yet asks the provider about the capture first (reconciliation).

The event id decides duplicates (the database refuses a second record); the row locks, in
the documented order (the order, then the intent), order concurrent deliveries; conditional
updates make a second effect impossible.
"""

import logging

from django.db import IntegrityError, transaction

from tapgo.flows import membership as points
from tapgo.flows import orders as order_flows
from tapgo.flows import tables
from tapgo.ordering import locks as ordering_locks
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order
from tapgo.payments import locks as payment_locks
from tapgo.payments import providers, stored_value
from tapgo.payments import services as payments
from tapgo.payments.models import PaymentIntent, Purpose, Refund, RefundStatus
from tapgo.payments.providers import ProviderEvent, WebhookRejected

log = logging.getLogger(__name__)


def webhook_receive(*, provider: str, body: bytes, headers, account_id: str | None = None) -> str:
    """Verify, deduplicate, apply. Returns 'applied', 'duplicate' or 'ignored'.

    Raises WebhookRejected (answer 400, change nothing) for anything unverified or malformed,
    EventTooEarly (answer 503: the provider retries) for an event that needs another first.
    """
    event, account = payments.webhook_verify(
        provider=provider, body=body, headers=headers, account_id=account_id
    )
    return apply_event(provider=provider, event=event, account=account)


def apply_event(*, provider: str, event: ProviderEvent, account) -> str:
    """Apply a verified event once."""
    try:
        with transaction.atomic():
            record = payments.event_record(provider=provider, event=event)
            outcome = _apply(event, provider=provider, account=account)
            payments.event_outcome(record=record, outcome=outcome)
            return outcome
    except IntegrityError:
        if payments.event_seen(provider=provider, event_id=event.event_id):
            return "duplicate"
        raise


def _lock(intent: PaymentIntent) -> None:
    """The lock order: what the intent pays for (as every order transition locks the order
    before it cancels or refunds the order's intents: the other way round deadlocks on
    PostgreSQL), then the intent."""
    if intent.purpose == Purpose.ORDER:
        ordering_locks.lock_order(intent.purpose_id)
    elif intent.purpose == Purpose.SHARE:
        tables.share_lock(intent)
    payment_locks.lock_intent(intent)
    intent.refresh_from_db()


def _apply(event: ProviderEvent, *, provider: str, account) -> str:
    if event.kind == providers.IGNORED:
        log.info("%s event %s acknowledged, nothing to do", provider, event.event_id)
        return "ignored"
    intent = payments.intent_of_event(event, provider=provider, account=account)
    if intent is None:
        log.warning("%s event %s names an unknown intent", provider, event.event_id)
        return "ignored"
    _lock(intent)
    if event.kind == providers.PAYMENT_FAILED:
        return _failed(intent)
    if event.kind == providers.PAYMENT_SUCCEEDED:
        return _succeeded(intent, event)
    try:
        outcome = payments.refund_event(intent=intent, event=event)
    except payments.CaptureNotSeen:
        # A refund made at the provider (its dashboard) may arrive before the capture's own
        # notification: ask the provider about the payment, then apply the refund.
        if not reconcile_intent(intent):
            raise
        intent.refresh_from_db()
        outcome = payments.refund_event(intent=intent, event=event)
    if event.kind == providers.REFUND_FAILED:
        # The refund's reversal of points is undone with it (once a refund: its key).
        for refund in Refund.objects.filter(intent=intent, status=RefundStatus.FAILED):
            points.refund_failed(refund=refund)
    return outcome


def _failed(intent: PaymentIntent) -> str:
    if not payments.intent_failed(intent=intent):
        return "ignored"
    if intent.purpose == Purpose.ORDER:
        ordering.order_payment_failed(order=Order.objects.get(pk=intent.purpose_id))
    elif intent.purpose == Purpose.SHARE:
        tables.share_failed(intent)
    else:
        stored_value.topup_failed(intent=intent)
    return "applied"


def _succeeded(intent: PaymentIntent, event: ProviderEvent) -> str:
    if not payments.intent_succeeded(intent=intent, provider_ref=event.provider_ref):
        return "ignored"  # captured already: a duplicate capture changes nothing
    if intent.purpose == Purpose.TOPUP:
        stored_value.topup_captured(intent=intent)
        return "applied"
    if intent.purpose == Purpose.SHARE:
        return tables.share_captured(intent)
    payments.post_capture(intent=intent)
    order = Order.objects.get(pk=intent.purpose_id)
    outstanding = order.total - payments.paid_so_far(Purpose.ORDER, order.pk)
    if ordering.order_awaits_payment(order) and intent.sale == outstanding:
        payments.intent_count(intent=intent, counted=True)
        tips = payments.tips_paid(Purpose.ORDER, order.pk)
        if order_flows.order_mark_paid(
            order=order, amount=order.total, currency=order.currency, tip=tips
        ):
            return "applied"
        payments.intent_count(intent=intent, counted=False)
    payments.refund_surplus(intent)
    return "applied"


# --- asking the provider (reconciliation) ----------------------------------------------------


def reconcile_intent(intent: PaymentIntent) -> bool:
    """Ask the provider how an intent stands and settle it as its webhook would have.
    Returns True when the provider reported an outcome."""
    event = payments.provider_query(intent)
    if event is None:
        return False
    account = payments.provider_account(intent.merchant, intent.provider, enabled=False)
    try:
        apply_event(provider=intent.provider, event=event, account=account)
    except WebhookRejected as exc:
        log.error("provider's answer about %s refused: %s", intent.public_id, exc)
        return False
    return True


def reconcile_due(**kwargs) -> int:
    """Intents whose notification is late: ask their providers (the worker's sweep)."""
    return sum(reconcile_intent(intent) for intent in payments.intents_overdue(**kwargs))
