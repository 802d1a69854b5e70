"""The built-in sandbox provider: a hosted pay page and HMAC-signed server-to-server webhooks.

It behaves like a real provider seen from Tapgo's side: the customer's decision on the pay
page is *not* trusted by the order; only the signed webhook, delivered by the worker to the
webhook URL, marks it paid.

Signature header: ``Tapgo-Sandbox-Signature: t=<unix seconds>,v1=<hex hmac-sha256>`` over
``"<t>.<raw body>"`` with the shared secret, as Stripe does.
"""

import hashlib
import hmac
import json
import secrets
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core import links
from tapgo.payments import providers
from tapgo.payments import tasks as payment_tasks
from tapgo.payments.models import IntentStatus, PaymentIntent, SandboxOutbox
from tapgo.payments.providers import ProviderEvent, RefundResult, WebhookRejected

NAME = "sandbox"
HEADER = "Tapgo-Sandbox-Signature"
TOLERANCE_SECONDS = 300
KINDS = {
    providers.PAYMENT_SUCCEEDED,
    providers.PAYMENT_FAILED,
    providers.REFUND_SUCCEEDED,
    providers.REFUND_FAILED,
}


def _mac(timestamp: int, body: bytes) -> str:
    secret = settings.SANDBOX_WEBHOOK_SECRET.encode()
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(body: bytes, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_mac(timestamp, body)}"


def event_body(
    *,
    event_id: str,
    kind: str,
    intent_public_id: str,
    amount: int,
    currency: str,
    refund_public_id: str = "",
) -> bytes:
    data = {"intent": intent_public_id, "amount": amount, "currency": currency}
    if refund_public_id:
        data["refund"] = refund_public_id
    return json.dumps({"id": event_id, "type": kind, "data": data}, separators=(",", ":")).encode()


def verify(body: bytes, signature: str | None, *, now: float | None = None) -> ProviderEvent:
    """Check the signature before reading anything, then the shape of the event."""
    if not signature:
        raise WebhookRejected("missing signature")
    now = time.time() if now is None else now
    try:
        parts = dict(item.split("=", 1) for item in signature.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
        skew = abs(now - timestamp)  # OverflowError for an absurdly long number
    except (ValueError, KeyError, OverflowError):
        raise WebhookRejected("malformed signature") from None
    if skew > TOLERANCE_SECONDS:
        raise WebhookRejected("stale signature")
    # As bytes: compare_digest raises TypeError on a str with non-ASCII characters.
    if not hmac.compare_digest(
        given.encode(errors="surrogateescape"), _mac(timestamp, body).encode()
    ):
        raise WebhookRejected("bad signature")
    try:
        data = json.loads(body)
        event_id, kind = data["id"], data["type"]
        intent, amount, currency = (
            data["data"]["intent"],
            data["data"]["amount"],
            data["data"]["currency"],
        )
    except (ValueError, KeyError, TypeError):
        raise WebhookRejected("malformed event") from None
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 100):
        raise WebhookRejected("malformed event id")
    if kind not in KINDS:
        raise WebhookRejected("unknown event type")
    if not (isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0):
        raise WebhookRejected("malformed amount")
    refund = data["data"].get("refund", "")
    if not (
        isinstance(currency, str)
        and len(currency) == 3
        and isinstance(intent, str)
        and isinstance(refund, str)
    ):
        raise WebhookRejected("malformed event")
    if kind.startswith("refund.") and not refund:
        raise WebhookRejected("refund event without a refund")
    return ProviderEvent(event_id, kind, intent, amount, currency, data, refund_public_id=refund)


class SandboxProvider:
    """The sandbox as a provider: its 'remote side' is the outbox in our own database."""

    name = NAME
    label = _("Sandbox (test payments)")
    pays_with = _("with the test sandbox")
    secret_fields = ()
    config_fields = ()
    currencies = ()

    def check_credentials(self, config: dict, secrets: dict) -> None:
        return None

    def test_connection(self, config: dict, secrets: dict) -> providers.Connection:
        return providers.Connection(live=False)

    def create(self, intent, *, account, return_url: str) -> tuple[str, dict]:
        return intent.public_id, {"url": links.pay_page(NAME, intent.public_id)}

    def verify_webhook(self, body: bytes, headers, *, account) -> ProviderEvent:
        return verify(body, headers.get(HEADER))

    def query(self, intent, *, account) -> ProviderEvent | None:
        """What the sandbox decided for this intent, if anything (a lost webhook's event)."""
        for item in SandboxOutbox.objects.filter(intent=intent).order_by("id"):
            data = json.loads(item.body)
            if data["type"] in (providers.PAYMENT_SUCCEEDED, providers.PAYMENT_FAILED):
                d = data["data"]
                return ProviderEvent(
                    data["id"], data["type"], d["intent"], d["amount"], d["currency"], data
                )
        return None

    def refund(self, refund, *, account) -> RefundResult:
        """Accepted at once; the outcome follows as a signed webhook, like a real provider."""
        outbox(
            intent=refund.intent,
            kind=providers.REFUND_SUCCEEDED,
            amount=refund.amount,
            refund_public_id=refund.public_id,
        )
        return RefundResult("pending", refund.public_id)

    def cancel(self, intent, *, account) -> None:
        return None


PROVIDER = SandboxProvider()


# --- the sandbox's remote side: its decisions and its outgoing webhooks ----------------------


def outbox(*, intent: PaymentIntent, kind: str, amount: int, refund_public_id: str = "") -> None:
    """Write a sandbox webhook to its outbox, sent by the worker after commit."""
    event_id = "evt_" + secrets.token_hex(12)
    body = event_body(
        event_id=event_id,
        kind=kind,
        intent_public_id=intent.public_id,
        amount=amount,
        currency=intent.currency,
        refund_public_id=refund_public_id,
    )
    item = SandboxOutbox.objects.create(intent=intent, event_id=event_id, body=body.decode())
    transaction.on_commit(lambda: payment_tasks.deliver_sandbox_webhook.enqueue(item.pk))


def decide(*, intent: PaymentIntent, approve: bool) -> None:
    """The customer approved or declined on the sandbox's hosted page.

    Like a real provider, the sandbox answers with a signed webhook, written to its outbox in
    this transaction and delivered by the worker after commit. A second click changes nothing.
    """
    with transaction.atomic():
        moved = PaymentIntent.objects.filter(
            pk=intent.pk, status=IntentStatus.REQUIRES_ACTION
        ).update(status=IntentStatus.PROCESSING, updated_at=timezone.now())
        if not moved:
            return
        kind = providers.PAYMENT_SUCCEEDED if approve else providers.PAYMENT_FAILED
        outbox(intent=intent, kind=kind, amount=intent.amount)
