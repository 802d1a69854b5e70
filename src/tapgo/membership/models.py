"""The membership domain's tables.

- Programme: a merchant's rules (how points are earned, what a level is measured by and over
  which window, when points expire) and the counter of its member numbers;
- Level: a named step of the programme with its threshold and benefit;
- Member: a customer's card with one merchant (cached balance and lifetime points, the secret
  behind the rotating member code);
- PointsEntry: the append-only points ledger, one row per effect, unique by (member, key);
- PointsLot: what is left of each grant of points, so points expire as they were earned;
- CounterSale: what staff recorded for a member at the counter (a purchase, a payment from
  the card, a coupon used), once per form key, with who did it.
- Reward: what a member may take for points at checkout (an amount off, or an item free).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core.actors import ActorRecorded
from tapgo.core.ids import PublicIdField
from tapgo.core.tenancy import MerchantOwned


class LevelBasis(models.TextChoices):
    POINTS = "points", _("Points earned")
    SPEND = "spend", _("Amount spent")


class ExpiryRule(models.TextChoices):
    NEVER = "never", _("Points never expire")
    NEXT_YEAR_END = "next_year_end", _("At the end of the next calendar year")
    MONTHS = "months", _("A number of months after they were earned")


class Programme(MerchantOwned):
    """A merchant's membership programme: one per merchant, made on first use."""

    # Per amount paid: `points_per_unit` points for each whole `unit_amount` minor units
    # (1 point per 100 fen = ¥1), rounding down.
    points_per_unit = models.PositiveIntegerField(_("points per unit paid"), default=1)
    unit_amount = models.PositiveIntegerField(_("unit paid (minor units)"), default=100)
    points_per_order = models.PositiveIntegerField(_("points per paid order"), default=0)
    first_order_bonus = models.PositiveIntegerField(_("first order bonus"), default=0)
    level_basis = models.CharField(
        _("levels by"), max_length=10, choices=LevelBasis.choices, default=LevelBasis.POINTS
    )
    level_window_months = models.PositiveSmallIntegerField(_("level window (months)"), default=12)
    expiry_rule = models.CharField(
        _("points expire"), max_length=20, choices=ExpiryRule.choices, default=ExpiryRule.NEVER
    )
    expiry_months = models.PositiveSmallIntegerField(_("months until points expire"), default=12)
    # The last member number given (numbers are merchant-scoped: 1, 2, 3…), taken by a
    # conditional UPDATE so two customers joining at once get two numbers.
    last_number = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant"], name="programme_one_per_merchant"),
            models.CheckConstraint(condition=Q(unit_amount__gt=0), name="programme_unit_positive"),
            models.CheckConstraint(
                condition=Q(level_window_months__gte=1), name="programme_window_positive"
            ),
        ]


class EarnBonus(MerchantOwned):
    """Extra points for each unit bought of a product, or of any product in a category."""

    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    category = models.ForeignKey(
        "catalog.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    points = models.PositiveIntegerField(_("extra points per item"))

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(product__isnull=False) & Q(category__isnull=True))
                | (Q(product__isnull=True) & Q(category__isnull=False)),
                name="earn_bonus_product_or_category",
            ),
        ]


class Level(MerchantOwned):
    """A level of the programme: reached at `threshold` (points, or minor units spent, as the
    programme measures) within its window. Its benefit is a percentage off (in basis points:
    checkout applies the level recomputed under the member's lock, flows/offers.py). A coupon
    issued on reaching a level belongs to the coupons domain, which refers to the level
    (coupons sit above membership), so nothing of it is held here."""

    public_id = PublicIdField()
    name = models.CharField(_("name"), max_length=40)
    threshold = models.PositiveIntegerField(_("threshold"))
    rank = models.PositiveSmallIntegerField(_("rank"))
    discount_bps = models.PositiveIntegerField(_("discount (basis points)"), default=0)

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "rank"], name="level_rank_unique"),
            models.CheckConstraint(
                condition=Q(discount_bps__lte=10000), name="level_discount_within"
            ),
        ]


class Member(MerchantOwned):
    """A customer's card with a merchant. Joining is the customer's consent to be a member."""

    public_id = PublicIdField()
    customer = models.ForeignKey(
        "identity.Customer", on_delete=models.CASCADE, related_name="memberships"
    )
    number = models.PositiveIntegerField()  # merchant-scoped, shown; the code's TOTP guards it
    joined_at = models.DateTimeField(default=timezone.now)
    app = models.ForeignKey(
        "miniapps.MiniApp", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    level = models.ForeignKey(
        Level, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The sum of the member's ledger (may be negative after a refund), and of what it earned
    # (earned and adjusted up, less reversals): both moved with each entry, under the lock.
    balance = models.IntegerField(default=0)
    lifetime = models.IntegerField(default=0)
    secret = models.CharField(max_length=40, editable=False)  # hex, for the member code
    # The newest step of the member code spent at the counter (a code is spent once).
    last_code_step = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "customer"], name="member_once"),
            models.UniqueConstraint(fields=["merchant", "number"], name="member_number_unique"),
        ]


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjusted")
    REVERSE = "reverse", _("Reversed")
    RETURN = "return", _("Given back")  # a redemption undone (its order ended unpaid)


class Source(models.TextChoices):
    """What an entry is for, as a value (membership knows no orders or refunds)."""

    ORDER = "order", _("An order")
    COUNTER = "counter", _("A counter purchase")
    STAFF = "staff", _("Staff")
    EXPIRY = "expiry", _("Expiry")
    REWARD = "reward", _("A reward")


class PointsEntry(ActorRecorded, MerchantOwned):
    """One effect on a member's points; never edited. `key` names what it is for
    ("order:12", "refund:34", "counter:<form key>"), unique per member, so a replayed webhook
    or a retried task is refused by the database instead of counted twice."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    points = models.IntegerField()
    # Minor units spent (negative when refunded), for levels by spend.
    spend = models.IntegerField(default=0)
    key = models.CharField(max_length=80)
    source = models.CharField(max_length=10, choices=Source.choices)
    source_id = models.BigIntegerField(null=True, blank=True)  # an order's id, for example
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "key"], name="points_entry_once"),
        ]
        indexes = [
            models.Index(fields=["member", "created_at"], name="points_member_time"),
            models.Index(fields=["member", "source", "source_id"], name="points_member_source"),
            # A refund's reversal found by its key when the refund fails (flows/membership.py).
            models.Index(fields=["merchant", "key"], name="points_merchant_key"),
        ]


class PointsLot(MerchantOwned):
    """What is left of one grant of points (an earn or an adjustment up) and when it expires.
    Debits (redeemed, reversed, adjusted down) use the oldest lots first; the lots' remainders
    sum to the member's balance when it is positive, to zero otherwise."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="lots")
    entry = models.OneToOneField(PointsEntry, on_delete=models.CASCADE, related_name="lot")
    points = models.PositiveIntegerField()
    remaining = models.PositiveIntegerField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__lte=models.F("points")), name="lot_within_points"
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="lot_due", condition=Q(remaining__gt=0)),
        ]


class CounterKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    CARD = "card", _("Paid from the card")
    COUPON = "coupon", _("Coupon used")


class CounterSale(ActorRecorded, MerchantOwned):
    """One thing staff did for a member at the counter, found by the member code: a purchase
    that earns points, an amount paid from the member's stored value (payments' intent names
    this row as its purpose, `counter`), or a coupon used (coupons' row names this one).
    Unique by (merchant, form key), so a double submit records one."""

    public_id = PublicIdField()
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="counter_sales")
    kind = models.CharField(max_length=10, choices=CounterKind.choices)
    amount = models.PositiveIntegerField()  # the sale in minor units, before a coupon's part
    discount = models.PositiveIntegerField(default=0)  # what a coupon took off
    card = models.PositiveIntegerField(default=0)  # what was paid from the stored value
    coupon = models.CharField(max_length=40, blank=True)  # the coupon's public id, as a value
    code_step = models.BigIntegerField(null=True, blank=True)  # the member code's step
    key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "key"], name="counter_sale_once"),
            models.CheckConstraint(
                condition=Q(discount__lte=models.F("amount"), card__lte=models.F("amount")),
                name="counter_sale_parts_within",
            ),
        ]
        indexes = [models.Index(fields=["member", "created_at"], name="counter_member_time")]


class RewardKind(models.TextChoices):
    AMOUNT = "amount", _("An amount off the order")
    FREE_ITEM = "free_item", _("A free item")


class Reward(MerchantOwned):
    """A reward a member may choose at checkout for `points`: an amount off the order, or
    one unit of a product free (its price off one unit of it in the cart). Deactivated, not
    deleted: orders that used it keep their record by name (ordering.OrderDiscount)."""

    public_id = PublicIdField()
    name = models.CharField(_("name"), max_length=60)
    points = models.PositiveIntegerField(_("points"))
    kind = models.CharField(_("kind"), max_length=10, choices=RewardKind.choices)
    amount = models.PositiveIntegerField(_("amount off (minor units)"), default=0)
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["points", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="reward_points_positive"),
            models.CheckConstraint(
                condition=(Q(kind="amount", amount__gt=0, product__isnull=True))
                | (Q(kind="free_item", amount=0, product__isnull=False)),
                name="reward_amount_or_item",
            ),
        ]
