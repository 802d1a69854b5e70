"""Refunds: taking back part or all of a captured intent (to the card through its provider,
or to stored value), sending them to providers, and reversing what a provider refused."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.payments import ledger, providers
from tapgo.payments import tasks as payment_tasks
from tapgo.payments.locks import lock_intent_row
from tapgo.payments.models import (
    AccountKind,
    IntentStatus,
    LedgerTransaction,
    PaymentIntent,
    Refund,
    RefundStatus,
    TxKind,
)
from tapgo.payments.services.intents import (
    COUNTER,
    WALLET,
    PaymentError,
    fee,
    of_purpose,
    post_fee,
    provider_account,
)

log = logging.getLogger(__name__)
SURPLUS_REFUND_TRIES = 3


class RefundError(PaymentError):
    pass


def refund_create(
    *,
    intent: PaymentIntent,
    amount: int,
    tip: int = 0,
    reason: str = "",
    lines: dict | None = None,
    restock: bool = False,
    by=None,
    provider_ref: str = "",
) -> Refund:
    """Give back part or all of a captured intent: to the card through its provider, to
    stored value, or as cash at the counter. `tip` of the amount comes off the intent's tip,
    the rest off its sale; each part is taken with one conditional update, so of two refunds
    racing for the last of it one wins; the ledger moves in the same transaction."""
    if not isinstance(amount, int) or amount <= 0:
        raise RefundError(_("Enter an amount above zero."))
    if not isinstance(tip, int) or not 0 <= tip <= amount:
        raise RefundError(_("That is more than is left to refund on this payment."))
    sale = amount - tip
    at_once = intent.provider in (WALLET, COUNTER)
    with transaction.atomic():
        # The sale's part and the tip's part each stay within what is left of them.
        taken = PaymentIntent.objects.filter(
            pk=intent.pk,
            status=IntentStatus.SUCCEEDED,
            refunded_amount__lte=F("amount") - F("tip") + F("tip_refunded") - sale,
            tip_refunded__lte=F("tip") - tip,
        ).update(
            refunded_amount=F("refunded_amount") + amount,
            tip_refunded=F("tip_refunded") + tip,
            updated_at=timezone.now(),
        )
        if not taken:
            raise RefundError(_("That is more than is left to refund on this payment."))
        before = (
            PaymentIntent.objects.values_list("refunded_amount", flat=True).get(pk=intent.pk)
            - amount
        )
        refund = Refund.objects.create(
            merchant_id=intent.merchant_id,
            intent=intent,
            amount=amount,
            tip=tip,
            currency=intent.currency,
            reason=reason[:200],
            lines=lines or {},
            restock=restock,
            created_by=by,
            provider_ref=provider_ref,
            status=RefundStatus.SUCCEEDED if at_once or provider_ref else RefundStatus.PENDING,
        )
        entries = []
        if sale:
            refunds = ledger.account(
                AccountKind.REFUNDS, currency=intent.currency, merchant=intent.merchant
            )
            entries.append((refunds, sale))
        if tip:
            tips = ledger.account(
                AccountKind.TIPS, currency=intent.currency, merchant=intent.merchant
            )
            entries.append((tips, tip))
        entries.append((_back_to(intent), -amount))
        ledger.post(
            kind=TxKind.REFUND,
            merchant=intent.merchant,
            currency=intent.currency,
            key=f"refund:{refund.pk}",
            entries=entries,
            intent=intent,
            refund=refund,
        )
        if not at_once:
            # The fee follows the amount kept: fee(kept before) - fee(kept after).
            returned = fee(intent.amount - before) - fee(intent.amount - before - amount)
            post_fee(intent=intent, amount=-returned, key=f"fee:refund:{refund.pk}", refund=refund)
            if refund.status == RefundStatus.PENDING:
                transaction.on_commit(lambda: payment_tasks.send_refund.enqueue(refund.pk))
    return refund


def _back_to(intent: PaymentIntent):
    """Where a refund's money goes: the customer's stored value, the cash the merchant hands
    back at the counter (less owed to the platform), or the provider's clearing account."""
    if intent.provider == WALLET:
        return ledger.account(
            AccountKind.WALLET,
            currency=intent.currency,
            merchant=intent.merchant,
            customer=intent.customer,
        )
    if intent.provider == COUNTER:
        return ledger.account(
            AccountKind.RECEIVABLE, currency=intent.currency, merchant=intent.merchant
        )
    return ledger.account(AccountKind.CLEARING, currency=intent.currency, provider=intent.provider)


def refund_surplus(intent: PaymentIntent) -> Refund:
    """Money that arrived for nothing (the order had expired, or was paid another way
    meanwhile): not counted, and given back in full."""
    log.warning("surplus payment %s for %s %s refunded", intent.public_id, intent.purpose,
                intent.purpose_id)  # fmt: skip
    return refund_create(
        intent=intent, amount=intent.amount, tip=intent.tip, reason="surplus payment"
    )


def refund_send(*, refund: Refund) -> None:
    """Ask the provider to pay a pending refund (a task; safe to run again)."""
    if refund.status != RefundStatus.PENDING or refund.provider_ref:
        return
    intent = refund.intent
    provider = providers.get(intent.provider)
    # Only a provider's payment has a pending refund (one to stored value succeeds at once),
    # and intent_start started it with a provider that exists.
    assert provider is not None, intent.provider
    account = provider_account(intent.merchant, intent.provider, enabled=False)
    result = provider.refund(refund, account=account)
    Refund.objects.filter(pk=refund.pk, provider_ref="").update(
        provider_ref=result.provider_ref, updated_at=timezone.now()
    )
    if result.status == RefundStatus.SUCCEEDED:
        Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(
            status=RefundStatus.SUCCEEDED, updated_at=timezone.now()
        )
    elif result.status == RefundStatus.FAILED:
        refund_failed(refund=refund)


def refund_failed(*, refund: Refund) -> None:
    """The provider could not pay the refund: reverse its postings, the amount is
    refundable again.

    The platform's fee follows what is kept, not the refund: the fee it gave back is not
    simply reversed (refunds return fee(kept before) - fee(kept after) each, so reversing one
    that is not the latest would leave the fee a rounding step away from fee(kept)); the fee
    is brought to fee(kept) instead."""
    with transaction.atomic():
        lock_intent_row(refund.intent_id)
        # Pending, or (rarely, as Stripe may report) failed after it had succeeded.
        if not Refund.objects.filter(
            pk=refund.pk, status__in=[RefundStatus.PENDING, RefundStatus.SUCCEEDED]
        ).update(status=RefundStatus.FAILED, updated_at=timezone.now()):
            return
        kept_before = PaymentIntent.objects.values_list(
            F("amount") - F("refunded_amount"), flat=True
        ).get(pk=refund.intent_id)
        PaymentIntent.objects.filter(pk=refund.intent_id).update(
            refunded_amount=F("refunded_amount") - refund.amount, updated_at=timezone.now()
        )
        for tx in (
            LedgerTransaction.objects.filter(refund=refund).exclude(kind=TxKind.FEE).order_by("id")
        ):
            ledger.reverse(
                tx,
                kind=TxKind.REFUND_FAILED,
                key=f"reversal:{tx.pk}",
                refund=refund,
                intent=refund.intent,
            )
        intent = PaymentIntent.objects.get(pk=refund.intent_id)
        # (Only a provider's refund can fail: a fee was taken on its capture.)
        post_fee(
            intent=intent,
            amount=fee(kept_before + refund.amount) - fee(kept_before),
            key=f"fee:refund_failed:{refund.pk}",
            refund=refund,
        )
        failures = Refund.objects.filter(intent=intent, status=RefundStatus.FAILED).count()
        if not intent.counted and failures < SURPLUS_REFUND_TRIES:
            # Money we must not keep (a surplus capture): ask again. After the last try the
            # intent stays short of a full refund, and `ledger verify` names it for the
            # operator to settle with the customer.
            refund_create(intent=intent, amount=refund.amount, reason=refund.reason)


def _counted(purpose: str, purpose_id: int | list[int]):
    return of_purpose(purpose, purpose_id).filter(status=IntentStatus.SUCCEEDED, counted=True)


def _in_refund_order(purpose: str, purpose_id: int | list[int]) -> list[PaymentIntent]:
    """A purpose's counted intents in the one order every refund takes them (provider
    payments first, then stored value; by id): two refunds racing lock their rows in the same
    order, never in a cycle."""
    wallet_last = Case(When(provider=WALLET, then=Value(1)), default=Value(0),
                       output_field=IntegerField())  # fmt: skip
    return list(
        _counted(purpose, purpose_id).annotate(is_wallet=wallet_last).order_by("is_wallet", "id")
    )


def _sale_left(intent: PaymentIntent) -> int:
    return intent.amount - intent.tip - (intent.refunded_amount - intent.tip_refunded)


def refundable(purpose: str, purpose_id: int | list[int]) -> int:
    """What is left to refund of a purpose's payments, their tips apart."""
    return sum(_sale_left(i) for i in _counted(purpose, purpose_id))


def tip_refundable(purpose: str, purpose_id: int | list[int]) -> int:
    return sum(i.tip - i.tip_refunded for i in _counted(purpose, purpose_id))


def refund_purpose(
    *,
    purpose: str,
    purpose_id: int | list[int],
    amount: int,
    reason: str = "",
    lines=None,
    restock=False,
    by=None,
) -> list[Refund]:
    """Refund an amount of a purpose's sales across its payments (their tips stay: see
    refund_tips): provider payments first, then stored value. Raises RefundError, changing
    nothing, above what is left to refund."""
    intents = _in_refund_order(purpose, purpose_id)
    if amount > sum(_sale_left(i) for i in intents):
        raise RefundError(_("That is more than is left to refund on this order."))
    made = []
    try:
        with transaction.atomic():
            for intent in intents:
                part = min(amount, _sale_left(intent))
                if part <= 0:
                    continue
                made.append(
                    refund_create(
                        intent=intent,
                        amount=part,
                        reason=reason,
                        lines=lines,
                        restock=restock,
                        by=by,
                    )
                )
                amount -= part
                lines = None  # the items are recorded once, on the first part
    except RefundError:  # another refund took part of it since we looked: none of this one
        raise RefundError(_("That is more than is left to refund on this order.")) from None
    return made


def refund_tips(
    *, purpose: str, purpose_id: int | list[int], reason: str = "", by=None
) -> list[Refund]:
    """Give back the tips of a purpose's payments, on their own. Raises RefundError when
    there is no tip left to refund."""
    intents = [i for i in _in_refund_order(purpose, purpose_id) if i.tip > i.tip_refunded]
    if not intents:
        raise RefundError(_("There is no tip left to refund."))
    with transaction.atomic():
        return [
            refund_create(
                intent=intent,
                amount=intent.tip - intent.tip_refunded,
                tip=intent.tip - intent.tip_refunded,
                reason=reason,
                by=by,
            )
            for intent in intents
        ]


def refund_all(
    *, purpose: str, purpose_id: int | list[int], reason: str = "", by=None
) -> list[Refund]:
    """Refund what is left of a purpose's payments in full, tips included (a paid order
    rejected or cancelled)."""
    made = []
    with transaction.atomic():
        for intent in _in_refund_order(purpose, purpose_id):
            if intent.refundable:
                made.append(
                    refund_create(
                        intent=intent,
                        amount=intent.refundable,
                        tip=intent.tip - intent.tip_refunded,
                        reason=reason,
                        by=by,
                    )
                )
    return made


def give_back_all(*, purpose: str, purpose_id: int) -> None:
    """A purpose that ended unpaid gives back what it already took (the stored-value part of
    a split payment): none of it counts any more, all of it is refunded."""
    for intent in _counted(purpose, purpose_id):
        PaymentIntent.objects.filter(pk=intent.pk).update(counted=False)
        if intent.refundable:
            refund_create(
                intent=intent,
                amount=intent.refundable,
                tip=intent.tip - intent.tip_refunded,
                reason="order ended unpaid",
            )


def refunds_of(purpose: str, purpose_id: int):
    return Refund.objects.filter(intent__purpose=purpose, intent__purpose_id=purpose_id).order_by(
        "id"
    )


def failed_refunds(*, since: timedelta, limit: int = 500) -> list[Refund]:
    """Refunds that failed at their provider lately (what flows settle after them), oldest
    first."""
    return list(
        Refund.objects.filter(
            status=RefundStatus.FAILED, updated_at__gte=timezone.now() - since
        ).order_by("updated_at", "id")[:limit]
    )


def refunds_send_due(*, older_than: timedelta = timedelta(minutes=2), limit: int = 200) -> int:
    """Pending refunds the provider has not acknowledged (the worker died, the provider was
    down): ask again. The provider sees the refund's id as its idempotency key."""
    due = Refund.objects.filter(
        status=RefundStatus.PENDING,
        provider_ref="",
        updated_at__lte=timezone.now() - older_than,
    ).select_related("intent", "intent__merchant")[:limit]
    sent = 0
    for refund in due:
        try:
            refund_send(refund=refund)
            sent += 1
        except providers.ProviderError as exc:
            log.warning("refund %s not sent: %s", refund.public_id, exc)
    return sent
