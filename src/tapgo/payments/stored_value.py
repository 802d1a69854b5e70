"""Stored value: the prepaid card a small business sells at the counter.

A customer's wallet is a ledger account per merchant and currency. The platform holds the
money paid in (online through a provider; at the counter the merchant keeps the cash and owes
it to the settlement) and the merchant earns it when it is spent. A bonus ("pay 500, get
550") is the merchant's cost, taken from its held revenue when the card is topped up.

The wallet's CHECK constraint is what keeps it at zero or above under concurrent spending.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core.money import MAX_AMOUNT, format_money
from tapgo.payments import ledger, providers
from tapgo.payments.models import (
    AccountKind,
    BonusTier,
    IntentStatus,
    LedgerAccount,
    LedgerEntry,
    PaymentIntent,
    Purpose,
    TopUp,
    TopUpStatus,
    TxKind,
)
from tapgo.payments.services.intents import (
    OPEN,
    PaymentError,
    fee,
    of_purpose,
    payment_methods,
    post_fee,
)

MAX_TOPUP = MAX_AMOUNT // 100  # 10,000.00 in a two-decimal currency
MAX_TIERS = 10


class StoredValueError(PaymentError):
    pass


class GuestCard(StoredValueError):
    """A card belongs to a signed-in customer: a guest's cookie can be lost, and the
    balance with it."""


def wallet(merchant, customer, currency: str | None = None) -> LedgerAccount:
    return ledger.account(
        AccountKind.WALLET,
        currency=currency or merchant.currency,
        merchant=merchant,
        customer=customer,
    )


def balance(merchant, customer) -> int:
    if customer is None:
        return 0
    found = LedgerAccount.objects.filter(
        kind=AccountKind.WALLET, merchant=merchant, customer=customer, currency=merchant.currency
    ).first()
    return ledger.balance(found)


# --- bonus tiers ---------------------------------------------------------------------------


def tiers(merchant):
    return BonusTier.objects.filter(merchant=merchant, currency=merchant.currency).order_by("pay")


def bonus_for(merchant, amount: int) -> int:
    tier = tiers(merchant).filter(pay__lte=amount).order_by("-pay").first()
    return tier.bonus if tier else 0


def tier_set(*, merchant, pay: int, bonus: int) -> BonusTier:
    if not 0 < pay <= MAX_TOPUP or not 0 <= bonus <= pay:
        raise StoredValueError(_("A tier needs an amount above zero and a bonus no larger."))
    with transaction.atomic():
        tier = BonusTier.objects.filter(merchant=merchant, currency=merchant.currency, pay=pay)
        if tier.exists():
            tier.update(bonus=bonus)
            return tier.get()
        if tiers(merchant).count() >= MAX_TIERS:
            raise StoredValueError(_("A card can have at most %(n)d tiers.") % {"n": MAX_TIERS})
        try:
            with transaction.atomic():
                return BonusTier.objects.create(
                    merchant=merchant, currency=merchant.currency, pay=pay, bonus=bonus
                )
        except IntegrityError:
            return BonusTier.objects.get(merchant=merchant, currency=merchant.currency, pay=pay)


def tier_delete(*, merchant, tier_id: int) -> None:
    BonusTier.objects.filter(merchant=merchant, pk=tier_id).delete()


# --- top-ups -------------------------------------------------------------------------------


def _check_amount(amount: int) -> None:
    if not isinstance(amount, int) or not 0 < amount <= MAX_TOPUP:
        raise StoredValueError(_("Enter an amount above zero and at most 10,000."))


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not 8 <= len(key) <= 64 or not key.isascii() or not key.isprintable():
        raise StoredValueError(_("This form has expired. Please try again."))
    return key


def _new_topup(merchant, customer, amount: int, key: str, *, method: str, by=None) -> TopUp:
    """The top-up row, with the bonus of the tier its amount reaches today."""
    return TopUp.objects.create(
        merchant=merchant,
        customer=customer,
        amount=amount,
        bonus=bonus_for(merchant, amount),
        currency=merchant.currency,
        method=method,
        key=key,
        recorded_by=by,
    )


def topup_online(*, merchant, customer, amount: int, key: str, provider: str | None = None):
    """Start a top-up paid through a provider; returns its intent (the same for a repeated
    key). The wallet is credited only when the provider's verified event arrives."""
    _check_amount(amount)
    key = _check_key(key)
    if customer is None or customer.is_guest:
        raise GuestCard(_("Sign in with your email to keep a card balance."))
    methods = payment_methods(merchant)
    provider = provider or (methods[0] if methods else None)
    if provider not in methods:
        raise StoredValueError(_("This way of paying is not available here."))
    existing = TopUp.objects.filter(merchant=merchant, key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                existing = _new_topup(merchant, customer, amount, key, method="online")
                PaymentIntent.objects.create(
                    merchant=merchant,
                    purpose=Purpose.TOPUP,
                    purpose_id=existing.pk,
                    customer=customer,
                    amount=amount,
                    currency=merchant.currency,
                    provider=provider,
                    idempotency_key=f"topup:{existing.pk}",
                )
        except IntegrityError:
            existing = TopUp.objects.get(merchant=merchant, key=key)
    if existing.customer_id != customer.pk:
        raise StoredValueError(_("This form has expired. Please try again."))
    return of_purpose(Purpose.TOPUP, existing.pk).get()


def topup_captured(*, intent: PaymentIntent) -> None:
    """The provider confirmed a top-up's payment: credit the wallet with the bonus.

    Dr clearing (paid), Cr wallet (paid + bonus), Dr held revenue (bonus); then the fee."""
    topup = TopUp.objects.get(pk=intent.purpose_id)
    clearing = ledger.account(
        AccountKind.CLEARING, currency=intent.currency, provider=intent.provider
    )
    _credit(topup, kind=TxKind.TOPUP, source=clearing)
    PaymentIntent.objects.filter(pk=intent.pk).update(counted=True)
    post_fee(intent=intent, amount=fee(intent.amount), key=f"fee:capture:{intent.pk}")


def _credit(topup: TopUp, *, kind: str, source: LedgerAccount) -> None:
    merchant = topup.merchant
    held = ledger.account(AccountKind.HELD, currency=topup.currency, merchant=merchant)
    card = wallet(merchant, topup.customer, topup.currency)
    ledger.post(
        kind=kind,
        merchant=merchant,
        currency=topup.currency,
        key=f"topup:{topup.pk}",
        entries=[
            (source, topup.amount),
            (card, -(topup.amount + topup.bonus)),
            (held, topup.bonus),
        ],
        topup=topup,
        intent=of_purpose(Purpose.TOPUP, topup.pk).first(),
    )
    TopUp.objects.filter(pk=topup.pk).update(status=TopUpStatus.SUCCEEDED)


def topup_failed(*, intent: PaymentIntent) -> None:
    """The provider says a top-up's payment failed."""
    TopUp.objects.filter(pk=intent.purpose_id, status=TopUpStatus.PENDING).update(
        status=TopUpStatus.FAILED
    )


def topup_counter(*, merchant, customer, amount: int, key: str, by) -> TopUp:
    """Staff took cash at the counter: the wallet is credited at once; the merchant keeps the
    cash, so it is owed to the settlement (Dr receivable). A repeated key is one top-up."""
    _check_amount(amount)
    key = _check_key(key)
    if customer.is_guest:
        raise GuestCard(
            _(
                "This customer has not signed in. Ask them to sign in with their email first, "
                "so the balance stays theirs."
            )
        )
    with transaction.atomic():
        try:
            with transaction.atomic():
                topup = _new_topup(merchant, customer, amount, key, method="counter", by=by)
        except IntegrityError:
            return TopUp.objects.get(merchant=merchant, key=key)
        receivable = ledger.account(
            AccountKind.RECEIVABLE, currency=merchant.currency, merchant=merchant
        )
        _credit(topup, kind=TxKind.COUNTER_TOPUP, source=receivable)
    topup.refresh_from_db()
    return topup


def cards_move(*, source, target) -> None:
    """A guest signed in: their card balances move to the account by a ledger transfer (the
    wallet account belongs to one customer), and their payments and top-ups follow, so a
    later refund of a card payment goes to the account's card."""
    PaymentIntent.objects.filter(customer=source).update(customer=target)
    TopUp.objects.filter(customer=source).update(customer=target)
    for card in LedgerAccount.objects.filter(kind=AccountKind.WALLET, customer=source):
        if card.balance <= 0:
            continue
        into = wallet(card.merchant, target, card.currency)
        ledger.post(
            kind=TxKind.TRANSFER,
            merchant=card.merchant,
            currency=card.currency,
            key=f"transfer:{card.pk}:{into.pk}",
            entries=[(card, card.balance), (into, -card.balance)],
        )


# --- paying with stored value --------------------------------------------------------------


def wallet_pay(
    *,
    merchant,
    customer,
    purpose: str,
    purpose_id: int,
    amount_due: int,
    currency: str,
    reference: str = "",
) -> PaymentIntent:
    """Pay as much of `amount_due` as the customer's card holds (all of it, or the first part
    of a split payment whose rest goes through a provider): a succeeded, counted intent, its
    money moved from the wallet to the merchant's held revenue. Raises StoredValueError with a
    message when there is nothing to use or the balance moved meanwhile (the wallet's CHECK
    constraint decides a race between two devices)."""
    card = wallet(merchant, customer, currency)
    use = min(card.balance, amount_due)
    if use <= 0:
        raise StoredValueError(_("Your card has no balance to use."))
    return _take(card, use, merchant=merchant, customer=customer, purpose=purpose,
                 purpose_id=purpose_id, currency=currency, reference=reference)  # fmt: skip


def wallet_spend(
    *,
    merchant,
    customer,
    purpose: str,
    purpose_id: int,
    amount: int,
    currency: str,
    reference: str = "",
) -> PaymentIntent:
    """Pay exactly `amount` from the customer's card (staff taking it at the counter): never
    a part of it. StoredValueError with a message saying what the card holds when that is
    less, or when the balance moved meanwhile (the wallet's CHECK constraint decides)."""
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        raise StoredValueError(_("Enter an amount above zero."))
    card = wallet(merchant, customer, currency)
    if card.balance < amount:
        raise StoredValueError(
            _("The card holds %(balance)s, less than %(amount)s: nothing was taken.")
            % {
                "balance": format_money(card.balance, currency),
                "amount": format_money(amount, currency),
            }  # fmt: skip
        )
    return _take(card, amount, merchant=merchant, customer=customer, purpose=purpose,
                 purpose_id=purpose_id, currency=currency, reference=reference)  # fmt: skip


def _take(card, use: int, *, merchant, customer, purpose, purpose_id, currency, reference):
    """A succeeded, counted intent of `use` and its money moved from the card to the
    merchant's held revenue (Dr wallet, Cr held), like an order paid by card."""
    intent = PaymentIntent.objects.create(
        merchant=merchant,
        purpose=purpose,
        purpose_id=purpose_id,
        reference=reference,
        customer=customer,
        provider=providers.WALLET,
        amount=use,
        currency=currency,
        status=IntentStatus.SUCCEEDED,
        counted=True,
    )
    held = ledger.account(AccountKind.HELD, currency=currency, merchant=merchant)
    try:
        ledger.post(
            kind=TxKind.WALLET_PAYMENT,
            merchant=merchant,
            currency=currency,
            key=f"capture:{intent.pk}",
            entries=[(card, use), (held, -use)],
            intent=intent,
        )
    except ledger.InsufficientFunds:
        raise StoredValueError(
            _("Your card balance changed meanwhile. Please try again.")
        ) from None
    return intent


# --- what customers and merchants see ------------------------------------------------------


def history(merchant, customer, *, limit: int = 100):
    """The customer's card movements, newest first: (when, kind, amount signed as seen by
    the customer: + in, - out)."""
    card = LedgerAccount.objects.filter(
        kind=AccountKind.WALLET, merchant=merchant, customer=customer
    ).first()
    if card is None:
        return []
    return [
        (e.transaction.created_at, e.transaction.get_kind_display(), -e.amount)
        for e in LedgerEntry.objects.filter(account=card)
        .select_related("transaction")
        .order_by("-id")[:limit]
    ]


def cards_of_customer(customer):
    """Every card the customer holds, with its merchant (for /me)."""
    if customer is None:
        return []
    return list(
        LedgerAccount.objects.filter(kind=AccountKind.WALLET, customer=customer)
        .select_related("merchant")
        .order_by("-balance", "id")
    )


def members(merchant, *, limit: int = 500):
    """The merchant's card holders with their balances, largest first."""
    return (
        LedgerAccount.objects.filter(kind=AccountKind.WALLET, merchant=merchant)
        .select_related("customer")
        .order_by("-balance", "id")[:limit]
    )


def liability(merchant) -> int:
    """What the merchant owes its card holders in all."""
    return (
        LedgerAccount.objects.filter(
            kind=AccountKind.WALLET, merchant=merchant, currency=merchant.currency
        ).aggregate(total=Sum("balance"))["total"]
        or 0
    )


def topups(merchant, *, limit: int = 100):
    return (
        TopUp.objects.filter(merchant=merchant)
        .select_related("customer", "recorded_by")
        .order_by("-created_at")[:limit]
    )


OPEN_TOPUP_HOURS = 24


def open_topups(customer, merchant=None) -> list[PaymentIntent]:
    """The customer's online top-ups of the last day not yet added to a card."""
    if customer is None or customer.is_guest:
        return []
    since = timezone.now() - timedelta(hours=OPEN_TOPUP_HOURS)
    pending = TopUp.objects.filter(customer=customer, status=TopUpStatus.PENDING)
    found = PaymentIntent.objects.filter(
        customer=customer,
        purpose=Purpose.TOPUP,
        purpose_id__in=pending.values("pk"),
        status__in=OPEN,
        created_at__gte=since,
    ).exclude(provider_ref="")
    if merchant is not None:
        found = found.filter(merchant=merchant)
    return list(found.select_related("merchant").order_by("-id")[:20])
