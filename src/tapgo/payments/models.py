"""Payments: the double-entry ledger, payment intents, refunds, stored value, provider accounts.

Every movement of money is a LedgerTransaction whose entries sum to zero. Entries are never
edited or deleted; a mistake is undone by a new transaction. Signs follow the books: a debit
is positive, a credit negative. An account's cached `balance` is shown on its normal side
(assets and expenses are debit-normal, liabilities and income credit-normal) and is updated in
the same transaction as the entries; `tapgo ledger verify` checks it against the entries.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core.ids import PublicIdField
from tapgo.core.tenancy import MerchantOwned

# --- the ledger ----------------------------------------------------------------------------


class AccountKind(models.TextChoices):
    # The platform's own accounts (no merchant).
    CLEARING = "clearing", _("Provider clearing")  # what a provider has collected for us
    FEES = "fees", _("Platform fees")  # fee income
    # Per merchant.
    HELD = "held", _("Revenue held for settlement")  # what the platform owes the merchant
    RECEIVABLE = "receivable", _("Receivable from the merchant")  # cash taken at the counter
    REFUNDS = "refunds", _("Refunds")  # refunds given, before they reduce the payout
    SETTLED = "settled", _("Paid out to the merchant")
    # Per merchant and customer.
    WALLET = "wallet", _("Stored value")  # the prepaid balance the merchant owes the customer
    TIPS = "tips", _("Tips held for settlement")  # customers' tips, owed to the merchant apart
    # Memo accounts, per merchant: no money moves on them and settlement leaves them alone.
    # A discount given is Dr discounts, Cr gross_memo (the part of the gross sales not paid
    # for); a refund's share of it goes back the other way (0004).
    DISCOUNTS = "discounts", _("Discounts given")
    GROSS_MEMO = "gross_memo", _("Gross sales given as discounts")


DEBIT_NORMAL = {
    AccountKind.CLEARING,
    AccountKind.RECEIVABLE,
    AccountKind.REFUNDS,
    AccountKind.DISCOUNTS,
}


class LedgerAccount(models.Model):
    kind = models.CharField(max_length=12, choices=AccountKind.choices)
    merchant = models.ForeignKey(
        "merchants.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "identity.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provider = models.CharField(max_length=20, blank=True)  # for clearing accounts
    currency = models.CharField(max_length=3)
    # "kind:merchant:customer:provider:currency", unique: one account each (NULLs would be
    # distinct in a unique constraint over the columns themselves).
    key = models.CharField(max_length=120, unique=True)
    # Sum of the entries, on the account's normal side; kept in step by ledger.post().
    balance = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["merchant", "kind"])]
        constraints = [
            # The database, not Python, keeps every wallet at zero or above: of two devices
            # spending the last of a balance at once, the second update fails.
            models.CheckConstraint(
                condition=~Q(kind="wallet") | Q(balance__gte=0), name="wallet_not_negative"
            ),
        ]

    @property
    def sign(self) -> int:
        return 1 if self.kind in DEBIT_NORMAL else -1


class TxKind(models.TextChoices):
    CAPTURE = "capture", _("Payment captured")
    WALLET_PAYMENT = "wallet_payment", _("Paid from stored value")
    REFUND = "refund", _("Refund")
    REFUND_FAILED = "refund_failed", _("Refund failed and reversed")
    FEE = "fee", _("Fee")
    TOPUP = "topup", _("Stored value top-up")
    COUNTER_TOPUP = "counter_topup", _("Stored value top-up at the counter")
    SETTLEMENT = "settlement", _("Settlement")
    TRANSFER = "transfer", _("Moved to your account")
    COUNTER_PAYMENT = "counter_payment", _("Paid at the counter")
    # Memo: the discount an order was paid with, and a refund's share of it given back.
    DISCOUNT = "discount", _("Discount given")
    DISCOUNT_BACK = "discount_back", _("Discount returned by a refund")


class LedgerTransaction(models.Model):
    kind = models.CharField(max_length=20, choices=TxKind.choices)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    # What the money moved for: makes a retried posting a no-op (the database refuses a
    # second transaction with the same key).
    key = models.CharField(max_length=80, unique=True)
    intent = models.ForeignKey(
        "PaymentIntent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund = models.ForeignKey(
        "Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    topup = models.ForeignKey(
        "TopUp", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What a memo posting is for, as a value (an order's discount): payments knows no orders.
    purpose = models.CharField(max_length=10, blank=True)
    purpose_id = models.BigIntegerField(null=True, blank=True)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "created_at"]),
            models.Index(
                fields=["purpose", "purpose_id"],
                condition=Q(purpose_id__isnull=False),
                name="ledger_tx_purpose",
            ),
        ]


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField()  # debit positive, credit negative

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="entry_not_zero")]


# --- provider accounts ---------------------------------------------------------------------


class ProviderAccount(MerchantOwned):
    """A merchant's credentials with one provider. Secrets are stored encrypted."""

    public_id = PublicIdField()
    provider = models.CharField(max_length=20)
    enabled = models.BooleanField(default=True)
    config = models.JSONField(default=dict)  # public settings (ids, serial numbers)
    secrets = models.BinaryField(default=b"")  # Fernet token over a JSON object
    # The last characters of each secret, so the console can show which one is set.
    hints = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)
    # The last successful connection test with the settings as they are (None: untested; any
    # change of a setting clears it): a provider is switched on only once tested.
    tested_at = models.DateTimeField(null=True, blank=True)
    tested_live = models.BooleanField(null=True)  # live money (False: the provider's test mode)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "provider"], name="one_provider_account_per_merchant"
            )
        ]


# --- payment intents -----------------------------------------------------------------------


class IntentStatus(models.TextChoices):
    REQUIRES_ACTION = "requires_action", _("Waiting for the customer")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Purpose(models.TextChoices):
    """What a payment is for. Payments knows it as a value (a kind and the id of the thing
    in its own domain), never by importing the model: the flow that takes the payment knows
    what to do with it (flows/payment_events.py)."""

    ORDER = "order", _("Order")
    TOPUP = "topup", _("Stored value top-up")
    SHARE = "share", _("Share of a table's bill")
    # Paid from a member's card at the counter: the id is membership's CounterSale.
    COUNTER = "counter", _("A sale at the counter")


class PaymentIntent(MerchantOwned):
    """One attempt to collect money through a provider (or stored value), for an order or a
    top-up. Only verified provider events move it (stored value moves at once)."""

    public_id = PublicIdField(length=20)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    purpose_id = models.BigIntegerField()  # the order's or top-up's row id
    # What the customer and their bank statement know it by (an order's pickup number).
    reference = models.CharField(max_length=40, blank=True)
    customer = models.ForeignKey(
        "identity.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provider = models.CharField(max_length=20, default="sandbox")
    # The provider's id for this payment (Stripe's pi_..., WeChat's out_trade_no).
    provider_ref = models.CharField(max_length=100, blank=True, db_index=True)
    # What the customer's page needs to finish (client secret, JSAPI parameters).
    client_data = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)
    amount = models.PositiveIntegerField()  # what the customer pays, the tip included
    # The part of the amount that is a tip: booked apart from sales, refundable on its own.
    tip = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=20, choices=IntentStatus.choices, default=IntentStatus.REQUIRES_ACTION
    )
    refunded_amount = models.PositiveIntegerField(default=0)  # the tip's refunds included
    tip_refunded = models.PositiveIntegerField(default=0)
    # True when the captured money counts towards its order or top-up; a surplus capture (the
    # order expired, or was paid another way meanwhile) stays False and is refunded in full.
    counted = models.BooleanField(default=False)
    failure_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # At most one open attempt per purpose: a refreshed pay page finds the same one.
            models.UniqueConstraint(
                fields=["purpose", "purpose_id"],
                condition=Q(status__in=["requires_action", "processing"]),
                name="one_open_intent_per_purpose",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("amount")),
                name="intent_refund_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(tip__lte=models.F("amount"), tip_refunded__lte=models.F("tip")),
                name="intent_tip_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=["order", "topup", "share", "counter"]),
                name="intent_has_purpose",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"]),
            models.Index(fields=["purpose", "purpose_id"], name="intent_purpose"),
        ]

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded_amount if self.status == "succeeded" else 0

    @property
    def sale(self) -> int:
        """What the intent pays of what it is for (the tip apart)."""
        return self.amount - self.tip


class WebhookEvent(models.Model):
    """Every verified provider event, once: the provider's event id decides duplicates."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=50)
    payload = models.JSONField()
    outcome = models.CharField(max_length=20, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")
        ]


class SandboxOutbox(models.Model):
    """The sandbox provider's outgoing webhooks, written with the decision, sent after commit."""

    intent = models.ForeignKey(PaymentIntent, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=40, unique=True)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)


# --- refunds -------------------------------------------------------------------------------


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")


class Refund(MerchantOwned):
    """Money given back on one intent. Posted to the ledger when asked for (so the refundable
    amount is taken at once, under a lock); reversed if the provider later reports failure."""

    public_id = PublicIdField(length=16)
    intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField()
    tip = models.PositiveIntegerField(default=0)  # the part of the amount that was a tip
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    reason = models.CharField(max_length=200, blank=True)
    # {order line id: quantity} for a refund by item; empty for an amount.
    lines = models.JSONField(default=dict, blank=True)
    restock = models.BooleanField(default=False)
    provider_ref = models.CharField(max_length=100, blank=True, db_index=True)
    created_by = models.ForeignKey(
        "identity.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_positive"),
            models.CheckConstraint(
                condition=Q(tip__lte=models.F("amount")), name="refund_tip_within"
            ),
        ]
        indexes = [
            # Refunds failed lately, for the flows' sweep (few: a partial index).
            models.Index(
                fields=["updated_at"], condition=Q(status="failed"), name="refund_failed_recent"
            ),
        ]


# --- stored value --------------------------------------------------------------------------


class BonusTier(MerchantOwned):
    """Pay at least `pay`, get `bonus` more on the card (pay 500, get 550)."""

    currency = models.CharField(max_length=3)
    pay = models.PositiveIntegerField()
    bonus = models.PositiveIntegerField()

    class Meta:
        ordering = ["pay"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "currency", "pay"], name="one_tier_per_pay"
            ),
            models.CheckConstraint(condition=Q(pay__gt=0), name="tier_pay_positive"),
        ]


class TopUpStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for payment")
    SUCCEEDED = "succeeded", _("Added")
    FAILED = "failed", _("Failed")


class TopUp(MerchantOwned):
    public_id = PublicIdField(length=16)
    customer = models.ForeignKey("identity.Customer", on_delete=models.PROTECT, related_name="+")
    amount = models.PositiveIntegerField()  # what the customer pays
    bonus = models.PositiveIntegerField(default=0)  # what the merchant adds on top
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=10)  # "online" or "counter"
    status = models.CharField(
        max_length=10, choices=TopUpStatus.choices, default=TopUpStatus.PENDING
    )
    recorded_by = models.ForeignKey(
        "identity.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key = models.CharField(max_length=64)  # the form's one-time key: a double-submit is one
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "key"], name="one_topup_per_key"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="topup_positive"),
        ]
