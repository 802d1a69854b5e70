"""Payment intents, verified provider events, refunds and reconciliation.

Only a verified provider event (a webhook, or the provider's answer to our query) moves a
provider intent; stored value moves at once inside our own ledger. Every movement of money is
posted to the ledger (ledger.py) in the same database transaction as the state change it
belongs to. Stored value (wallets, top-ups) is in stored_value.py.
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core.ids import is_public_id
from tapgo.ordering.models import Order, OrderStatus
from tapgo.payments import ledger, providers
from tapgo.payments.models import (
    AccountKind,
    IntentStatus,
    PaymentIntent,
    ProviderAccount,
    Refund,
    RefundStatus,
    SandboxOutbox,
    TopUp,
    TopUpStatus,
    TxKind,
    WebhookEvent,
)
from tapgo.payments.providers import ProviderEvent, WebhookRejected, sandbox

log = logging.getLogger(__name__)
OPEN = [IntentStatus.REQUIRES_ACTION, IntentStatus.PROCESSING]
WALLET = providers.WALLET


class PaymentError(ValueError):
    pass


# --- providers of a merchant ---------------------------------------------------------------


def provider_account(merchant, name: str, *, enabled: bool = True) -> ProviderAccount | None:
    """The merchant's account with a provider: enabled ones take new payments; refunds,
    queries and cancellations of earlier payments use it even when switched off."""
    found = ProviderAccount.objects.filter(merchant=merchant, provider=name)
    if enabled:
        found = found.filter(enabled=True)
    return found.first()


def payment_methods(merchant) -> list[str]:
    """The providers a customer can pay this merchant with, in the merchant's order.

    The sandbox stands in while a merchant has set up no real provider (and where the
    operator allows it: TAPGO_SANDBOX_PAYMENTS)."""
    names = []
    accounts = ProviderAccount.objects.filter(merchant=merchant, enabled=True).order_by("id")
    for name in accounts.values_list("provider", flat=True):
        impl = providers.get(name)
        if impl is not None and (not impl.currencies or merchant.currency in impl.currencies):
            names.append(name)
    if not names and settings.SANDBOX_PAYMENTS:
        names = [sandbox.NAME]
    return names


def fee(amount: int) -> int:
    """The platform's fee on a captured amount, rounded half up to the minor unit."""
    return (amount * settings.PLATFORM_FEE_BPS + 5000) // 10000


# --- intents -------------------------------------------------------------------------------


def order_paid_so_far(order: Order) -> int:
    return (
        PaymentIntent.objects.filter(
            order=order, status=IntentStatus.SUCCEEDED, counted=True
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )


def _check_payable(order: Order) -> None:
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise PaymentError(_("This order is not waiting for payment."))
    if order.expires_at <= timezone.now():
        raise PaymentError(_("This order has expired. Please order again."))


def intent_for_order(*, order: Order, provider: str | None = None) -> PaymentIntent:
    """The order's open provider intent for what is left to pay, made once: a refreshed pay
    page finds the same one. Choosing another provider cancels an unstarted attempt."""
    _check_payable(order)
    methods = payment_methods(order.merchant)
    provider = provider or (methods[0] if methods else None)
    if provider not in methods:
        raise PaymentError(_("This way of paying is not available here."))
    outstanding = order.total - order_paid_so_far(order)
    intent = PaymentIntent.objects.filter(order=order, status__in=OPEN).first()
    if intent is not None:
        if intent.provider == provider and intent.amount == outstanding:
            return intent
        _cancel_intent(intent)
    try:
        with transaction.atomic():
            return PaymentIntent.objects.create(
                merchant_id=order.merchant_id,
                order=order,
                customer_id=order.customer_id,
                amount=outstanding,
                currency=order.currency,
                provider=provider,
            )
    except IntegrityError:
        return PaymentIntent.objects.get(order=order, status__in=OPEN)


def _cancel_intent(intent: PaymentIntent) -> None:
    """Give up an attempt the customer has not finished; refused while it is processing."""
    if intent.status == IntentStatus.PROCESSING:
        raise PaymentError(_("A payment is being confirmed. Please wait a moment."))
    if (
        PaymentIntent.objects.filter(pk=intent.pk, status=IntentStatus.REQUIRES_ACTION).update(
            status=IntentStatus.CANCELLED, updated_at=timezone.now()
        )
        and intent.provider_ref
    ):
        _cancel_at_provider(intent)


def _cancel_at_provider(intent: PaymentIntent) -> None:
    from tapgo.payments import tasks

    if intent.provider not in (WALLET, sandbox.NAME):
        transaction.on_commit(lambda: tasks.cancel_at_provider.enqueue(intent.pk))


def intent_start(intent: PaymentIntent, *, return_url: str) -> PaymentIntent:
    """Create the payment at the provider (outside any database transaction: no lock is held
    across the network). Retrying is safe: the provider sees our intent's id as its
    idempotency key and answers with the same payment."""
    if intent.provider_ref or intent.status not in OPEN:
        return intent
    provider = providers.get(intent.provider)
    account = provider_account(intent.merchant, intent.provider)
    if provider is None or (provider.secret_fields and account is None):
        raise PaymentError(_("This way of paying is not available here."))
    try:
        ref, client_data = provider.create(intent, account=account, return_url=return_url)
    except providers.ProviderError as exc:
        log.warning("could not start intent %s: %s", intent.public_id, exc)
        raise PaymentError(_("The payment service did not answer. Please try again.")) from exc
    PaymentIntent.objects.filter(pk=intent.pk, provider_ref="").update(
        provider_ref=ref, client_data=client_data, updated_at=timezone.now()
    )
    intent.refresh_from_db()
    return intent


def access_intent(public_id: str) -> PaymentIntent:
    if not is_public_id(public_id, PaymentIntent._meta.get_field("public_id").id_length):
        raise Http404
    intent = (
        PaymentIntent.objects.select_related("order", "order__app", "topup")
        .filter(public_id=public_id)
        .first()
    )
    if intent is None:
        raise Http404
    return intent


def return_url(intent: PaymentIntent) -> str:
    """Where the customer goes back to from a provider's page."""
    from django.urls import reverse

    if intent.order_id:
        order = intent.order
        return reverse("shell:order", args=[order.app.slug, order.public_id])
    return reverse("shell:my_cards")


def intent_of_order(order: Order) -> PaymentIntent | None:
    """The order's latest provider attempt (stored value is shown apart)."""
    return (
        PaymentIntent.objects.filter(order=order).exclude(provider=WALLET).order_by("-id").first()
    )


def refunds_of_order(order: Order):
    return Refund.objects.filter(order=order).order_by("id")


def intents_of_order(order: Order):
    return PaymentIntent.objects.filter(order=order).order_by("id")


# --- the sandbox provider's side -----------------------------------------------------------


def sandbox_outbox(
    *, intent: PaymentIntent, kind: str, amount: int, refund_public_id: str = ""
) -> None:
    """Write a sandbox webhook to its outbox, sent by the worker after commit."""
    from tapgo.payments import tasks

    event_id = "evt_" + secrets.token_hex(12)
    body = sandbox.event_body(
        event_id=event_id,
        kind=kind,
        intent_public_id=intent.public_id,
        amount=amount,
        currency=intent.currency,
        refund_public_id=refund_public_id,
    )
    outbox = SandboxOutbox.objects.create(intent=intent, event_id=event_id, body=body.decode())
    transaction.on_commit(lambda: tasks.deliver_sandbox_webhook.enqueue(outbox.pk))


def sandbox_decide(*, intent: PaymentIntent, approve: bool) -> None:
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
        sandbox_outbox(intent=intent, kind=kind, amount=intent.amount)


# --- webhooks ------------------------------------------------------------------------------


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


def webhook_receive(*, provider: str, body: bytes, headers, account_id: str | None = None) -> str:
    """Verify, deduplicate, apply. Returns 'applied', 'duplicate' or 'ignored'.

    Raises WebhookRejected (answer 400, change nothing) for anything unverified or malformed.
    """
    impl = providers.get(provider)
    if impl is None:
        raise WebhookRejected("unknown provider")
    account = webhook_account(provider, account_id)
    event = impl.verify_webhook(body, headers, account=account)
    return apply_event(provider=provider, event=event, account=account)


def apply_event(*, provider: str, event: ProviderEvent, account) -> str:
    """Apply a verified event once: the event id decides duplicates, the intent's row lock
    orders concurrent deliveries, and conditional updates make a second effect impossible."""
    try:
        with transaction.atomic():
            record = WebhookEvent.objects.create(
                provider=provider, event_id=event.event_id, kind=event.kind, payload=event.payload
            )
            outcome = _apply(event, provider=provider, account=account)
            WebhookEvent.objects.filter(pk=record.pk).update(outcome=outcome)
            return outcome
    except IntegrityError:
        if WebhookEvent.objects.filter(provider=provider, event_id=event.event_id).exists():
            return "duplicate"
        raise


def _find_intent(event: ProviderEvent, provider: str, account) -> PaymentIntent | None:
    found = PaymentIntent.objects.filter(provider=provider)
    if account is not None:
        found = found.filter(merchant_id=account.merchant_id)
    if is_public_id(event.intent_public_id, 20):
        return found.filter(public_id=event.intent_public_id).first()
    if event.provider_ref and not event.kind.startswith("refund."):
        return found.filter(provider_ref=event.provider_ref).first()
    return None


def _apply(event: ProviderEvent, *, provider: str, account) -> str:
    if event.kind == providers.IGNORED:
        log.info("%s event %s acknowledged, nothing to do", provider, event.event_id)
        return "ignored"
    intent = _find_intent(event, provider, account)
    if intent is None:
        log.warning("%s event %s names an unknown intent", provider, event.event_id)
        return "ignored"
    if event.currency != intent.currency or (
        event.kind.startswith("payment.") and event.amount != intent.amount
    ):
        raise WebhookRejected("amount or currency does not match the intent")
    _lock_purpose(intent)
    intent.refresh_from_db()
    if event.kind == providers.PAYMENT_FAILED:
        return _payment_failed(intent)
    if event.kind == providers.PAYMENT_SUCCEEDED:
        return _payment_succeeded(intent, event)
    return _refund_event(intent, event)


def _lock_purpose(intent: PaymentIntent) -> None:
    """Lock the order (or top-up) first, as every order transition does (it moves the order,
    then cancels or refunds its intents): the other way round deadlocks on PostgreSQL. Then
    the intent, which orders every writer of its refunds."""
    if intent.order_id:
        Order.objects.select_for_update().filter(pk=intent.order_id).first()
    if intent.topup_id:
        TopUp.objects.select_for_update().filter(pk=intent.topup_id).first()
    PaymentIntent.objects.select_for_update().filter(pk=intent.pk).first()


def _payment_failed(intent: PaymentIntent) -> str:
    if not PaymentIntent.objects.filter(pk=intent.pk, status__in=OPEN).update(
        status=IntentStatus.FAILED, updated_at=timezone.now()
    ):
        return "ignored"
    if intent.order_id:
        from tapgo.ordering.services import order_payment_failed

        order_payment_failed(order=Order.objects.get(pk=intent.order_id))
    if intent.topup_id:
        TopUp.objects.filter(pk=intent.topup_id, status=TopUpStatus.PENDING).update(
            status=TopUpStatus.FAILED
        )
    return "applied"


def _payment_succeeded(intent: PaymentIntent, event: ProviderEvent) -> str:
    # From an open state, or from one we had given up on: the money arrived all the same, so
    # it is captured in the books and (being a surplus) given back.
    if not PaymentIntent.objects.filter(
        pk=intent.pk,
        status__in=[*OPEN, IntentStatus.FAILED, IntentStatus.CANCELLED],
    ).update(
        status=IntentStatus.SUCCEEDED,
        provider_ref=event.provider_ref or F("provider_ref"),
        updated_at=timezone.now(),
    ):
        return "ignored"  # already captured: a duplicate capture changes nothing
    intent.refresh_from_db()
    if intent.topup_id:
        from tapgo.payments import stored_value

        stored_value.topup_captured(intent=intent)
        return "applied"
    _post_capture(intent)
    order = Order.objects.get(pk=intent.order_id)
    outstanding = order.total - order_paid_so_far(order)
    if order.status == OrderStatus.PENDING_PAYMENT and intent.amount == outstanding:
        PaymentIntent.objects.filter(pk=intent.pk).update(counted=True)
        from tapgo.ordering.services import order_mark_paid

        if order_mark_paid(order=order, amount=order.total, currency=order.currency):
            return "applied"
        PaymentIntent.objects.filter(pk=intent.pk).update(counted=False)
    intent.refresh_from_db()
    log.warning("surplus payment %s for order %s refunded", intent.public_id, order.public_id)
    refund_create(intent=intent, amount=intent.amount, reason="surplus payment")
    return "applied"


def _post_capture(intent: PaymentIntent) -> None:
    """Money arrived at the provider for an order: Dr clearing, Cr the merchant's held
    revenue; the platform's fee is a second transaction."""
    clearing = ledger.account(
        AccountKind.CLEARING, currency=intent.currency, provider=intent.provider
    )
    held = ledger.account(AccountKind.HELD, currency=intent.currency, merchant=intent.merchant)
    ledger.post(
        kind=TxKind.CAPTURE,
        merchant=intent.merchant,
        currency=intent.currency,
        key=f"capture:{intent.pk}",
        entries=[(clearing, intent.amount), (held, -intent.amount)],
        intent=intent,
        order_id=intent.order_id,
    )
    post_fee(intent, fee(intent.amount), key=f"fee:capture:{intent.pk}")


def post_fee(intent: PaymentIntent, amount: int, *, key: str, refund=None) -> None:
    """The platform's fee: Dr the merchant's held revenue, Cr fees (negative to give back)."""
    if not amount:
        return
    held = ledger.account(AccountKind.HELD, currency=intent.currency, merchant=intent.merchant)
    fees = ledger.account(AccountKind.FEES, currency=intent.currency)
    ledger.post(
        kind=TxKind.FEE,
        merchant=intent.merchant,
        currency=intent.currency,
        key=key,
        entries=[(held, amount), (fees, -amount)],
        intent=intent,
        order_id=intent.order_id,
        refund=refund,
    )


# --- refunds -------------------------------------------------------------------------------


class RefundError(PaymentError):
    pass


def refund_create(
    *,
    intent: PaymentIntent,
    amount: int,
    reason: str = "",
    lines: dict | None = None,
    restock: bool = False,
    by=None,
    provider_ref: str = "",
) -> Refund:
    """Give back part or all of a captured intent: to the card through its provider, or to
    stored value. The refundable amount is taken with one conditional update, so of two
    refunds racing for the last of it one wins; the ledger moves in the same transaction."""
    if not isinstance(amount, int) or amount <= 0:
        raise RefundError(_("Enter an amount above zero."))
    with transaction.atomic():
        taken = PaymentIntent.objects.filter(
            pk=intent.pk,
            status=IntentStatus.SUCCEEDED,
            refunded_amount__lte=F("amount") - amount,
        ).update(refunded_amount=F("refunded_amount") + amount, updated_at=timezone.now())
        if not taken:
            raise RefundError(_("That is more than is left to refund on this payment."))
        before = (
            PaymentIntent.objects.values_list("refunded_amount", flat=True).get(pk=intent.pk)
            - amount
        )
        refund = Refund.objects.create(
            merchant_id=intent.merchant_id,
            intent=intent,
            order_id=intent.order_id,
            amount=amount,
            currency=intent.currency,
            reason=reason[:200],
            lines=lines or {},
            restock=restock,
            created_by=by,
            provider_ref=provider_ref,
            status=RefundStatus.SUCCEEDED
            if intent.provider == WALLET or provider_ref
            else RefundStatus.PENDING,
        )
        refunds = ledger.account(
            AccountKind.REFUNDS, currency=intent.currency, merchant=intent.merchant
        )
        if intent.provider == WALLET:
            back_to = ledger.account(
                AccountKind.WALLET,
                currency=intent.currency,
                merchant=intent.merchant,
                customer=intent.customer,
            )
        else:
            back_to = ledger.account(
                AccountKind.CLEARING, currency=intent.currency, provider=intent.provider
            )
        ledger.post(
            kind=TxKind.REFUND,
            merchant=intent.merchant,
            currency=intent.currency,
            key=f"refund:{refund.pk}",
            entries=[(refunds, amount), (back_to, -amount)],
            intent=intent,
            order_id=intent.order_id,
            refund=refund,
        )
        if intent.provider != WALLET:
            # The fee follows the amount kept: fee(kept before) - fee(kept after).
            returned = fee(intent.amount - before) - fee(intent.amount - before - amount)
            post_fee(intent, -returned, key=f"fee:refund:{refund.pk}", refund=refund)
            if refund.status == RefundStatus.PENDING:
                from tapgo.payments import tasks

                transaction.on_commit(lambda: tasks.send_refund.enqueue(refund.pk))
    return refund


def refund_send(refund: Refund) -> None:
    """Ask the provider to pay a pending refund (a task; safe to run again)."""
    if refund.status != RefundStatus.PENDING or refund.provider_ref:
        return
    intent = refund.intent
    provider = providers.get(intent.provider)
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
        refund_failed(refund)


SURPLUS_REFUND_TRIES = 3


def refund_failed(refund: Refund) -> None:
    """The provider could not pay the refund: reverse its postings, the amount is
    refundable again."""
    with transaction.atomic():
        PaymentIntent.objects.select_for_update().filter(pk=refund.intent_id).first()
        # Pending, or (rarely, as Stripe may report) failed after it had succeeded.
        if not Refund.objects.filter(
            pk=refund.pk, status__in=[RefundStatus.PENDING, RefundStatus.SUCCEEDED]
        ).update(status=RefundStatus.FAILED, updated_at=timezone.now()):
            return
        PaymentIntent.objects.filter(pk=refund.intent_id).update(
            refunded_amount=F("refunded_amount") - refund.amount, updated_at=timezone.now()
        )
        from tapgo.payments.models import LedgerTransaction

        for tx in LedgerTransaction.objects.filter(refund=refund).order_by("id"):
            ledger.reverse(
                tx,
                kind=TxKind.REFUND_FAILED,
                key=f"reversal:{tx.pk}",
                refund=refund,
                intent=refund.intent,
                order_id=refund.order_id,
            )
        intent = PaymentIntent.objects.get(pk=refund.intent_id)
        failures = Refund.objects.filter(intent=intent, status=RefundStatus.FAILED).count()
        if not intent.counted and failures < SURPLUS_REFUND_TRIES:
            # Money we must not keep (a surplus capture): ask again. After the last try the
            # intent stays short of a full refund, and `ledger verify` names it for the
            # operator to settle with the customer.
            refund_create(intent=intent, amount=refund.amount, reason=refund.reason)


def _refund_event(intent: PaymentIntent, event: ProviderEvent) -> str:
    refund = None
    if event.refund_public_id and is_public_id(event.refund_public_id, 16):
        refund = Refund.objects.filter(intent=intent, public_id=event.refund_public_id).first()
    if refund is None and event.provider_ref:
        refund = Refund.objects.filter(intent=intent, provider_ref=event.provider_ref).first()
    if refund is not None:
        status = (
            RefundStatus.SUCCEEDED
            if event.kind == providers.REFUND_SUCCEEDED
            else RefundStatus.FAILED
        )
        if status == RefundStatus.FAILED:
            refund_failed(refund)
        else:
            Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(
                status=status,
                provider_ref=event.provider_ref or refund.provider_ref,
                updated_at=timezone.now(),
            )
        return "applied"
    if event.kind != providers.REFUND_SUCCEEDED:
        return "ignored"
    # A refund made at the provider directly (its dashboard): record it. It may arrive before
    # the capture's own notification; ask the provider about the payment first.
    if intent.status != IntentStatus.SUCCEEDED:
        settled = reconcile_intent(intent)
        intent.refresh_from_db()
        if not settled or intent.status != IntentStatus.SUCCEEDED:
            raise EventTooEarly("refund before its capture; the provider will retry")
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


class EventTooEarly(RuntimeError):
    """An event that depends on one not yet seen: answered 503 so the provider retries."""


def refund_order(
    *, order: Order, amount: int, reason: str = "", lines=None, restock=False, by=None
) -> list[Refund]:
    """Refund an amount of an order across its payments: provider payments first, then
    stored value. Raises RefundError, changing nothing, above what is left to refund."""
    intents = list(
        PaymentIntent.objects.filter(order=order, status=IntentStatus.SUCCEEDED, counted=True)
        .annotate(is_wallet=models_is_wallet())
        .order_by("is_wallet", "id")
    )
    left = sum(i.amount - i.refunded_amount for i in intents)
    if amount > left:
        raise RefundError(_("That is more than is left to refund on this order."))
    made = []
    try:
        with transaction.atomic():
            for intent in intents:
                part = min(amount, intent.amount - intent.refunded_amount)
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


def models_is_wallet():
    from django.db.models import Case, IntegerField, Value, When

    return Case(When(provider=WALLET, then=Value(1)), default=Value(0), output_field=IntegerField())


def order_refundable(order: Order) -> int:
    return sum(
        i.amount - i.refunded_amount
        for i in PaymentIntent.objects.filter(
            order=order, status=IntentStatus.SUCCEEDED, counted=True
        )
    )


def payment_refund_order(*, order: Order, reason: str = "") -> None:
    """Refund what is left of a paid order in full (rejected or cancelled after paying)."""
    left = order_refundable(order)
    if left:
        refund_order(order=order, amount=left, reason=reason or order.reason)


def payment_cancel_open(*, order: Order) -> None:
    """An unpaid order ended (expired or cancelled): cancel its open attempts and give back
    what it already took (the stored-value part of a split payment)."""
    for intent in PaymentIntent.objects.filter(order=order, status__in=OPEN):
        if (
            PaymentIntent.objects.filter(pk=intent.pk, status__in=OPEN).update(
                status=IntentStatus.CANCELLED, updated_at=timezone.now()
            )
            and intent.provider_ref
        ):
            _cancel_at_provider(intent)
    for intent in PaymentIntent.objects.filter(
        order=order, status=IntentStatus.SUCCEEDED, counted=True
    ):
        PaymentIntent.objects.filter(pk=intent.pk).update(counted=False)
        if intent.refundable:
            refund_create(intent=intent, amount=intent.refundable, reason="order ended unpaid")


# --- reconciliation ------------------------------------------------------------------------


def reconcile_intent(intent: PaymentIntent) -> bool:
    """Ask the provider how an intent stands and settle it as its webhook would have.
    Returns True when the provider reported an outcome."""
    provider = providers.get(intent.provider)
    if provider is None or intent.provider == WALLET:
        return False
    account = provider_account(intent.merchant, intent.provider, enabled=False)
    try:
        event = provider.query(intent, account=account)
    except providers.ProviderError as exc:
        log.warning("reconciling %s: %s", intent.public_id, exc)
        return False
    if event is None:
        return False
    query_event = ProviderEvent(
        f"query:{intent.public_id}:{event.kind}",
        event.kind,
        intent.public_id,
        event.amount,
        event.currency,
        event.payload,
        provider_ref=event.provider_ref,
    )
    try:
        apply_event(provider=intent.provider, event=query_event, account=account)
    except WebhookRejected as exc:
        log.error("provider's answer about %s refused: %s", intent.public_id, exc)
        return False
    return True


def reconcile_due(*, older_than: timedelta | None = None, limit: int = 200) -> int:
    """Intents whose notification is late: ask their providers (a periodic task)."""
    if older_than is None:
        older_than = timedelta(seconds=settings.RECONCILE_AFTER_SECONDS)
    due = (
        PaymentIntent.objects.filter(status__in=OPEN, updated_at__lte=timezone.now() - older_than)
        .exclude(provider=WALLET)
        .exclude(provider_ref="")
        .order_by("updated_at")[:limit]
    )
    return sum(reconcile_intent(intent) for intent in due)


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
            refund_send(refund)
            sent += 1
        except providers.ProviderError as exc:
            log.warning("refund %s not sent: %s", refund.public_id, exc)
    return sent
