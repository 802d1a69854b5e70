"""Payment intents: the merchant's providers, an attempt to collect what is left to pay for a
purpose, starting it at the provider, and the postings of a capture.

A purpose (an order, a top-up) is a value here: payments never reads the thing paid for.
What is payable and how much is left to pay is the caller's to say (flows/paying.py).
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core.ids import is_public_id
from tapgo.payments import ledger, providers
from tapgo.payments import tasks as payment_tasks
from tapgo.payments.models import (
    AccountKind,
    IntentStatus,
    PaymentIntent,
    ProviderAccount,
    Purpose,
    TxKind,
)
from tapgo.payments.providers import sandbox

log = logging.getLogger(__name__)
OPEN = [IntentStatus.REQUIRES_ACTION, IntentStatus.PROCESSING]
WALLET = providers.WALLET
COUNTER = providers.COUNTER


class PaymentError(ValueError):
    pass


def of_purpose(purpose: str, purpose_id: int | list[int]):
    """Every intent for one purpose (an order's, a top-up's), or for several of one kind (the
    shares of a table's bill)."""
    if isinstance(purpose_id, list):
        return PaymentIntent.objects.filter(purpose=purpose, purpose_id__in=purpose_id)
    return PaymentIntent.objects.filter(purpose=purpose, purpose_id=purpose_id)


def of_order(order_id: int):
    return of_purpose(Purpose.ORDER, order_id)


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

    The sandbox is offered where the operator allows it (TAPGO_SANDBOX_PAYMENTS): as the
    merchant chose (its own account row, `credentials.sandbox_set`), or else while no real
    provider is on."""
    names = []
    sandbox_chosen = None
    accounts = ProviderAccount.objects.filter(merchant=merchant).order_by("id")
    for name, enabled in accounts.values_list("provider", "enabled"):
        if name == sandbox.NAME:
            sandbox_chosen = enabled
            continue
        impl = providers.get(name)
        if enabled and impl is not None and _takes(impl, merchant.currency):
            names.append(name)
    if settings.SANDBOX_PAYMENTS and (sandbox_chosen or (sandbox_chosen is None and not names)):
        names.append(sandbox.NAME)
    return names


def _takes(impl, currency: str) -> bool:
    return not impl.currencies or currency in impl.currencies


@dataclass(frozen=True)
class CustomerView:
    """What a customer meets at checkout with the merchant's settings as they are, in plain
    words for the settings page: how they pay, or why they cannot, and what is wrong."""

    lines: list[str]
    can_pay: bool
    problems: list[str]


def customer_view(merchant) -> CustomerView:
    methods = payment_methods(merchant)
    accounts = {
        account.provider: account for account in ProviderAccount.objects.filter(merchant=merchant)
    }
    lines, problems = [], []
    for name in methods:
        impl = providers.get(name)
        if impl is None:  # payment_methods names registered providers only
            continue
        account = accounts.get(name)
        if name == sandbox.NAME:
            lines.append(_("Customers pay %(how)s: no real money moves.") % {"how": impl.pays_with})
        elif account is not None and account.tested_live is False:
            lines.append(
                _("Customers pay %(how)s (test mode: no real money moves).")
                % {"how": impl.pays_with}
            )
        else:
            lines.append(_("Customers pay %(how)s.") % {"how": impl.pays_with})
    for name, account in accounts.items():
        impl = providers.get(name)
        if account.enabled and impl is not None and not _takes(impl, merchant.currency):
            problems.append(
                _("%(provider)s takes %(currencies)s only, and your prices are in %(currency)s.")
                % {
                    "provider": impl.label,
                    "currencies": ", ".join(impl.currencies),
                    "currency": merchant.currency,
                }
            )
    if not methods:
        if accounts.get(sandbox.NAME) is not None and settings.SANDBOX_PAYMENTS:
            why = _("no payment provider is on, and you turned test payments off.")
        else:
            why = _("no payment provider is on. Set one up below.")
        lines.append(_("Customers cannot pay: %(why)s") % {"why": why})
    return CustomerView(lines=lines, can_pay=bool(methods), problems=problems)


def fee(amount: int) -> int:
    """The platform's fee on a captured amount, rounded half up to the minor unit."""
    return (amount * settings.PLATFORM_FEE_BPS + 5000) // 10000


# --- what a purpose has paid ----------------------------------------------------------------


def paid_so_far(purpose: str, purpose_id: int) -> int:
    """What counts towards the purpose: its captured, counted intents (tips apart)."""
    return (
        of_purpose(purpose, purpose_id)
        .filter(status=IntentStatus.SUCCEEDED, counted=True)
        .aggregate(total=Sum(F("amount") - F("tip")))["total"]
        or 0
    )


def tips_paid(purpose: str, purpose_id: int) -> int:
    """The tips the purpose's counted intents brought, less what was refunded of them."""
    return (
        of_purpose(purpose, purpose_id)
        .filter(status=IntentStatus.SUCCEEDED, counted=True)
        .aggregate(total=Sum(F("tip") - F("tip_refunded")))["total"]
        or 0
    )


def intents_of(purpose: str, purpose_id: int):
    return of_purpose(purpose, purpose_id).order_by("id")


def latest_attempt(purpose: str, purpose_id: int) -> PaymentIntent | None:
    """The purpose's latest provider attempt (stored value is shown apart)."""
    return of_purpose(purpose, purpose_id).exclude(provider=WALLET).order_by("-id").first()


# --- an attempt ----------------------------------------------------------------------------


def intent_open(
    *,
    merchant,
    customer_id: int | None,
    purpose: str,
    purpose_id: int,
    amount: int,
    currency: str,
    provider: str | None = None,
    reference: str = "",
    tip: int = 0,
) -> PaymentIntent:
    """The purpose's open provider attempt for `amount` (what is left to pay) and a `tip`
    on top, made once: a refreshed pay page finds the same one. Choosing another provider,
    another tip, or a changed amount (a card payment took part of it meanwhile), cancels an
    unstarted attempt first."""
    methods = payment_methods(merchant)
    provider = provider or (methods[0] if methods else None)
    if provider not in methods:
        raise PaymentError(_("This way of paying is not available here."))
    if not isinstance(tip, int) or tip < 0:
        raise PaymentError(_("A tip cannot be below zero."))
    intent = of_purpose(purpose, purpose_id).filter(status__in=OPEN).first()
    if intent is not None:
        if intent.provider == provider and intent.amount == amount + tip and intent.tip == tip:
            return intent
        intent_cancel(intent=intent)
    try:
        with transaction.atomic():
            return PaymentIntent.objects.create(
                merchant=merchant,
                purpose=purpose,
                purpose_id=purpose_id,
                reference=reference,
                customer_id=customer_id,
                amount=amount + tip,
                tip=tip,
                currency=currency,
                provider=provider,
            )
    except IntegrityError:
        return of_purpose(purpose, purpose_id).get(status__in=OPEN)


def intent_cancel(*, intent: PaymentIntent) -> None:
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
    if intent.provider not in (WALLET, sandbox.NAME):
        transaction.on_commit(lambda: payment_tasks.cancel_at_provider.enqueue(intent.pk))


def open_attempts_cancel(*, purpose: str, purpose_id: int) -> None:
    """The purpose ended unpaid (an order expired or was cancelled): its open attempts are
    cancelled, at the provider too."""
    _attempts_cancel(purpose, purpose_id, OPEN)


def _attempts_cancel(purpose: str, purpose_id: int, statuses: Sequence[str]) -> None:
    for intent in of_purpose(purpose, purpose_id).filter(status__in=statuses):
        if (
            PaymentIntent.objects.filter(pk=intent.pk, status__in=statuses).update(
                status=IntentStatus.CANCELLED, updated_at=timezone.now()
            )
            and intent.provider_ref
        ):
            _cancel_at_provider(intent)


def unstarted_attempts_cancel(*, purpose: str, purpose_id: int) -> bool:
    """Cancel the purpose's attempts the customer has not finished, and say whether one is
    being confirmed (finished at the provider, its word not come yet), which is left alone.

    The conditional UPDATE comes first: a customer approving at the same moment either moved
    the attempt to processing before it (it is skipped, and seen here as confirming) or finds
    it cancelled after (the provider's page refuses)."""
    _attempts_cancel(purpose, purpose_id, [IntentStatus.REQUIRES_ACTION])
    return of_purpose(purpose, purpose_id).filter(status=IntentStatus.PROCESSING).exists()


def intent_start(*, intent: PaymentIntent, return_url: str) -> PaymentIntent:
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
    """An intent by its public id (its pay page's address), or 404."""
    if not is_public_id(public_id, PaymentIntent._meta.get_field("public_id").id_length):
        raise Http404
    intent = PaymentIntent.objects.select_related("merchant").filter(public_id=public_id).first()
    if intent is None:
        raise Http404
    return intent


# --- what a verified event does to an intent -----------------------------------------------


def intent_failed(*, intent: PaymentIntent) -> bool:
    """The provider says the attempt failed; False when it was not open (nothing changes)."""
    return bool(
        PaymentIntent.objects.filter(pk=intent.pk, status__in=OPEN).update(
            status=IntentStatus.FAILED, updated_at=timezone.now()
        )
    )


def intent_succeeded(*, intent: PaymentIntent, provider_ref: str = "") -> bool:
    """The provider says the money arrived. From an open state, or from one we had given up
    on: it arrived all the same, so it is captured in the books (and, when nothing wants it,
    given back as a surplus). False when it was captured already: nothing changes."""
    moved = PaymentIntent.objects.filter(
        pk=intent.pk,
        status__in=[*OPEN, IntentStatus.FAILED, IntentStatus.CANCELLED],
    ).update(
        status=IntentStatus.SUCCEEDED,
        provider_ref=provider_ref or F("provider_ref"),
        updated_at=timezone.now(),
    )
    intent.refresh_from_db()
    return bool(moved)


def intent_count(*, intent: PaymentIntent, counted: bool) -> None:
    """Whether a captured intent's money counts towards its purpose (a surplus does not)."""
    PaymentIntent.objects.filter(pk=intent.pk).update(counted=counted)
    intent.counted = counted


def post_capture(*, intent: PaymentIntent) -> None:
    """Money arrived at the provider for an order: Dr clearing, Cr the merchant's held
    revenue (and Cr tips for its tip, booked apart from sales); the platform's fee is a
    second transaction."""
    clearing = ledger.account(
        AccountKind.CLEARING, currency=intent.currency, provider=intent.provider
    )
    ledger.post(
        kind=TxKind.CAPTURE,
        merchant=intent.merchant,
        currency=intent.currency,
        key=f"capture:{intent.pk}",
        entries=[(clearing, intent.amount), *_earned(intent)],
        intent=intent,
    )
    post_fee(intent=intent, amount=fee(intent.amount), key=f"fee:capture:{intent.pk}")


def _earned(intent: PaymentIntent) -> list:
    """The credit side of a capture: the sale to held revenue, the tip to tips."""
    held = ledger.account(AccountKind.HELD, currency=intent.currency, merchant=intent.merchant)
    entries = [(held, -intent.sale)] if intent.sale else []
    if intent.tip:
        tips = ledger.account(AccountKind.TIPS, currency=intent.currency, merchant=intent.merchant)
        entries.append((tips, -intent.tip))
    return entries


def counter_payment(
    *,
    merchant,
    purpose: str,
    purpose_id: int,
    amount: int,
    currency: str,
    method: str,
    reference: str = "",
) -> PaymentIntent:
    """Staff took the money at the counter (cash, or the shop's own card terminal): a
    succeeded, counted intent at once; the merchant holds the money, so Dr what the merchant
    owes the platform (receivable), Cr held revenue: the payout is unchanged, the sale counted.
    No platform fee: the platform did not carry the payment."""
    if not isinstance(amount, int) or amount <= 0:
        raise PaymentError(_("Enter an amount above zero."))
    intent = PaymentIntent.objects.create(
        merchant=merchant,
        purpose=purpose,
        purpose_id=purpose_id,
        reference=reference,
        provider=providers.COUNTER,
        provider_ref=method[:100],
        amount=amount,
        currency=currency,
        status=IntentStatus.SUCCEEDED,
        counted=True,
    )
    receivable = ledger.account(AccountKind.RECEIVABLE, currency=currency, merchant=merchant)
    ledger.post(
        kind=TxKind.COUNTER_PAYMENT,
        merchant=merchant,
        currency=currency,
        key=f"capture:{intent.pk}",
        entries=[(receivable, amount), *_earned(intent)],
        intent=intent,
    )
    return intent


def post_fee(*, intent: PaymentIntent, amount: int, key: str, refund=None) -> None:
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
        refund=refund,
    )
