"""Verified provider events: from a webhook's body (or the provider's answer to a query) to
the intent they are about, recorded once; and what a refund event does to its refund.

What a payment's success or failure means for what it pays for (an order paid, a card topped
up, a surplus given back) is the flow's: flows/payment_events.py applies each event in one
transaction with these pieces.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from tapgo.core.ids import is_public_id
from tapgo.payments import providers
from tapgo.payments.models import (
    IntentStatus,
    PaymentIntent,
    ProviderAccount,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from tapgo.payments.providers import ProviderEvent, WebhookRejected, sandbox
from tapgo.payments.services.intents import OPEN, WALLET, provider_account
from tapgo.payments.services.refunds import refund_create, refund_failed

log = logging.getLogger(__name__)


class EventTooEarly(RuntimeError):
    """An event that depends on one not yet seen: answered 503 so the provider retries."""


class CaptureNotSeen(EventTooEarly):
    """A refund made at the provider for a payment whose capture we have not heard of yet:
    ask the provider about the payment (reconcile), then apply the refund."""


def webhook_account(provider: str, account_id: str | None) -> ProviderAccount | None:
    """The merchant account a webhook URL names; the sandbox has none."""
    if provider == sandbox.NAME and account_id is None:
        return None
    if account_id is None or not is_public_id(account_id):
        raise WebhookRejected("unknown endpoint")
    account = ProviderAccount.objects.filter(public_id=account_id, provider=provider).first()
    if account is None:
        raise WebhookRejected("unknown endpoint")
    return account


def webhook_verify(
    *, provider: str, body: bytes, headers, account_id: str | None = None
) -> tuple[ProviderEvent, ProviderAccount | None]:
    """The verified event a webhook carries, and the account it came for. Raises
    WebhookRejected (answer 400, change nothing) for anything unverified or malformed."""
    impl = providers.get(provider)
    if impl is None:
        raise WebhookRejected("unknown provider")
    account = webhook_account(provider, account_id)
    return impl.verify_webhook(body, headers, account=account), account


def event_record(*, provider: str, event: ProviderEvent) -> WebhookEvent:
    """Record an event; the database refuses (IntegrityError) one seen before."""
    return WebhookEvent.objects.create(
        provider=provider, event_id=event.event_id, kind=event.kind, payload=event.payload
    )


def event_outcome(*, record: WebhookEvent, outcome: str) -> None:
    WebhookEvent.objects.filter(pk=record.pk).update(outcome=outcome)


def event_seen(*, provider: str, event_id: str) -> bool:
    return WebhookEvent.objects.filter(provider=provider, event_id=event_id).exists()


def intent_of_event(event: ProviderEvent, *, provider: str, account) -> PaymentIntent | None:
    """The intent an event is about (of the account's merchant), or None for one we do not
    know. Raises WebhookRejected when the amount or currency is not the intent's."""
    found = PaymentIntent.objects.filter(provider=provider)
    if account is not None:
        found = found.filter(merchant_id=account.merchant_id)
    if is_public_id(event.intent_public_id, 20):
        intent = found.filter(public_id=event.intent_public_id).first()
    elif event.provider_ref and not event.kind.startswith("refund."):
        intent = found.filter(provider_ref=event.provider_ref).first()
    else:
        intent = None
    if intent is not None and (
        event.currency != intent.currency
        or (event.kind.startswith("payment.") and event.amount != intent.amount)
    ):
        raise WebhookRejected("amount or currency does not match the intent")
    return intent


def refund_event(*, intent: PaymentIntent, event: ProviderEvent) -> str:
    """A refund's outcome, or a refund made at the provider directly (its dashboard), which
    is recorded. Raises CaptureNotSeen when such a refund arrives before the capture's own
    notification."""
    refund = None
    if event.refund_public_id and is_public_id(event.refund_public_id, 16):
        refund = Refund.objects.filter(intent=intent, public_id=event.refund_public_id).first()
    if refund is None and event.provider_ref:
        refund = Refund.objects.filter(intent=intent, provider_ref=event.provider_ref).first()
    if refund is not None:
        if event.kind == providers.REFUND_SUCCEEDED:
            Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(
                status=RefundStatus.SUCCEEDED,
                provider_ref=event.provider_ref or refund.provider_ref,
                updated_at=timezone.now(),
            )
        else:
            refund_failed(refund=refund)
        return "applied"
    if event.kind != providers.REFUND_SUCCEEDED:
        return "ignored"
    if intent.status != IntentStatus.SUCCEEDED:
        raise CaptureNotSeen("refund before its capture; the provider will retry")
    if event.amount > intent.refundable:
        log.error("provider refund %s exceeds what is left on %s", event.event_id, intent.pk)
        return "ignored"
    refund_create(
        intent=intent,
        amount=event.amount,
        reason="refunded at the provider",
        provider_ref=event.provider_ref or event.event_id,
    )
    return "applied"


# --- asking the provider (reconciliation) ----------------------------------------------------


def provider_query(intent: PaymentIntent) -> ProviderEvent | None:
    """Ask the provider how an intent stands: an event (with an id of our own, so applying it
    twice is a duplicate) when it has settled, None when it has not or cannot say."""
    provider = providers.get(intent.provider)
    if provider is None or intent.provider in (WALLET, providers.COUNTER):
        return None
    account = provider_account(intent.merchant, intent.provider, enabled=False)
    try:
        event = provider.query(intent, account=account)
    except providers.ProviderError as exc:
        log.warning("reconciling %s: %s", intent.public_id, exc)
        return None
    if event is None:
        return None
    return ProviderEvent(
        f"query:{intent.public_id}:{event.kind}",
        event.kind,
        intent.public_id,
        event.amount,
        event.currency,
        event.payload,
        provider_ref=event.provider_ref,
    )


def intents_overdue(
    *, older_than: timedelta | None = None, limit: int = 200
) -> QuerySet[PaymentIntent]:
    """Open intents whose notification is late (what reconciliation asks about)."""
    if older_than is None:
        older_than = timedelta(seconds=settings.RECONCILE_AFTER_SECONDS)
    return (
        PaymentIntent.objects.filter(status__in=OPEN, updated_at__lte=timezone.now() - older_than)
        .exclude(provider=WALLET)
        .exclude(provider_ref="")
        .order_by("updated_at")[:limit]
    )
