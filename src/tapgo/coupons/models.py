"""The coupons domain's tables: a merchant's coupon batches, the coupons issued from them, and
the counters that hold a batch's per-customer and per-day caps (one row each, moved by a
conditional UPDATE, created under a unique constraint: the database decides every cap)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core.ids import PublicIdField
from tapgo.core.tenancy import MerchantOwned


class CouponKind(models.TextChoices):
    AMOUNT = "amount", _("Amount off")
    PERCENT = "percent", _("Percentage off")
    THRESHOLD = "threshold", _("Amount off above a spend")
    FREE_ITEM = "free_item", _("A free item")
    # Issued by itself when an order is paid, for the customer's next order (an amount off).
    NEXT_ORDER = "next_order", _("Next-order coupon")


class Audience(models.TextChoices):
    """Who may have a coupon of a batch: everyone, the merchant's members, or members at the
    batch's `level` or above (levels ordered by rank)."""

    EVERYONE = "everyone", _("Everyone")
    MEMBERS = "members", _("Members")
    LEVEL = "level", _("Members at a level or above")


class AutoIssue(models.TextChoices):
    """When coupons of a batch are issued without a claim: after a paid order (next-order
    coupons), on joining the card, on reaching the batch's `level` (one per member, ever)."""

    NONE = "", _("Claimed or granted")
    PAID_ORDER = "paid_order", _("After a paid order")
    JOIN = "join", _("On joining the card")
    LEVEL = "level", _("On reaching a level")


class Batch(MerchantOwned):
    """A merchant's coupon offer: what it takes off, on what, for how long, and how many."""

    public_id = PublicIdField()
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=12, choices=CouponKind.choices)
    # Minor units off (amount, threshold, next order) or a percentage (1..99, percent).
    value = models.PositiveIntegerField(default=0)
    max_off = models.PositiveIntegerField(null=True, blank=True)  # percent: at most this off
    # The pre-discount subtotal of the eligible items must reach this (the threshold's spend).
    min_spend = models.PositiveIntegerField(default=0)
    free_product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What it applies to; both empty: everything.
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="+")
    categories = models.ManyToManyField("catalog.Category", blank=True, related_name="+")
    # Claimable (and valid, for fixed dates) from..until; or valid N days after each claim.
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True)
    valid_days = models.PositiveSmallIntegerField(null=True, blank=True)
    total_cap = models.PositiveIntegerField(null=True, blank=True)  # None: no cap
    per_customer_cap = models.PositiveIntegerField(null=True, blank=True, default=1)
    per_day_cap = models.PositiveIntegerField(null=True, blank=True)
    issued = models.PositiveIntegerField(default=0)  # moved only by the cap's conditional UPDATE
    combinable = models.BooleanField(default=False)  # with other offers (one coupon an order)
    audience = models.CharField(max_length=12, choices=Audience.choices, default=Audience.EVERYONE)
    auto_issue = models.CharField(
        max_length=12, choices=AutoIssue.choices, default=AutoIssue.NONE, blank=True
    )
    stopped = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # The level of `audience` LEVEL ("members at this level or above") and of `auto_issue`
    # LEVEL ("issued on reaching it"). PROTECT: a level an offer is for cannot be deleted
    # until the offer is changed, so an offer never silently widens or closes its audience.
    level = models.ForeignKey(
        "membership.Level", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total_cap__isnull=True)
                | models.Q(issued__lte=models.F("total_cap")),
                name="batch_issued_within_cap",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=False) | models.Q(valid_days__isnull=False),
                name="batch_has_validity",
            ),
        ]

    def __str__(self):
        return self.name


class CustomerCount(models.Model):
    """How many coupons of a batch one customer has had (the per-customer cap)."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "customer"], name="one_count_per_customer")
        ]


class DayCount(models.Model):
    """How many coupons of a batch were issued on one day of the store (the per-day cap)."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "day"], name="one_count_per_day")]


class CouponState(models.TextChoices):
    AVAILABLE = "available", _("Available")
    RESERVED = "reserved", _("Held by an order")
    USED = "used", _("Used")
    EXPIRED = "expired", _("Expired")


class Source(models.TextChoices):
    CLAIMED = "claimed", _("Claimed in the app")
    LINK = "link", _("Claim link or campaign code")
    STAFF = "staff", _("Granted by staff")
    NEXT_ORDER = "next_order", _("After an order")
    JOIN = "join", _("On joining the card")
    LEVEL = "level", _("On reaching a level")


class Coupon(MerchantOwned):
    """One coupon a customer holds. Its life is conditional UPDATEs: available → reserved
    for one order (placed) → used (paid); a reserved one goes back to available when its
    order ends unpaid, a used one when its whole order is refunded while it is still valid.
    At the counter it goes from available to used at once, for a counter sale."""

    public_id = PublicIdField()  # the coupon's code
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="coupons")
    customer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(
        max_length=10, choices=CouponState.choices, default=CouponState.AVAILABLE
    )
    source = models.CharField(max_length=12, choices=Source.choices)
    scene = models.CharField(max_length=20, blank=True)  # the door of a claim link's visit
    source_ref = models.CharField(max_length=120, blank=True)  # campaign, staff, order
    claimed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # The order holding or having used it (ordering's id, as a value: coupons sits beside
    # ordering), and what it took off that order.
    order_id = models.BigIntegerField(null=True, blank=True)
    discount = models.PositiveIntegerField(default=0)
    # Or the sale at the counter it was used for (membership's CounterSale id, as a value),
    # staff having found the member by the member code.
    counter_sale_id = models.BigIntegerField(null=True, blank=True)
    reserved_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)  # "about to expire", once

    class Meta:
        ordering = ["expires_at", "id"]
        indexes = [
            models.Index(fields=["customer", "state", "expires_at"]),
            models.Index(fields=["order_id"]),
            models.Index(fields=["batch", "state"]),
            models.Index(fields=["state", "expires_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state="available")
                | models.Q(state="expired")
                | models.Q(order_id__isnull=False)
                | models.Q(state="used", counter_sale_id__isnull=False),
                name="coupon_held_by_order_or_counter",
            )
        ]
