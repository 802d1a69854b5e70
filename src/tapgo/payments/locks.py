"""Row locks of payments' tables, for the flows that must hold them (docs/architecture.md,
"Lock order"): what a payment is for first (an order, in ordering/locks.py; a top-up here),
then its intents."""

from tapgo.payments.models import PaymentIntent, Purpose, TopUp


def lock_intent(intent: PaymentIntent) -> None:
    """Lock an intent's top-up (when it pays for one), then the intent: every writer of its
    refunds waits here."""
    if intent.purpose == Purpose.TOPUP:
        TopUp.objects.select_for_update().filter(pk=intent.purpose_id).first()
    PaymentIntent.objects.select_for_update().filter(pk=intent.pk).first()
