"""Row locks of payments' tables (docs/architecture.md, "Lock order"): what a payment is for
first (an order, in ordering/locks.py; a top-up here), then its intent; ledger accounts last
(ledger.post moves their balances in account id order). A merchant's provider account is
locked alone, while its settings change."""

from tapgo.payments.models import PaymentIntent, ProviderAccount, Purpose, TopUp


def lock_intent(intent: PaymentIntent) -> None:
    """Lock an intent's top-up (when it pays for one), then the intent: every writer of its
    refunds waits here."""
    if intent.purpose == Purpose.TOPUP:
        TopUp.objects.select_for_update().filter(pk=intent.purpose_id).first()
    lock_intent_row(intent.pk)


def lock_intent_row(intent_id: int) -> None:
    """Lock one intent (its refunds' writers wait here) when what it pays for is not needed."""
    PaymentIntent.objects.select_for_update().filter(pk=intent_id).first()


def lock_provider_account(merchant, provider: str) -> ProviderAccount | None:
    """The merchant's account with a provider, locked, if there is one."""
    return (
        ProviderAccount.objects.select_for_update()
        .filter(merchant=merchant, provider=provider)
        .first()
    )
