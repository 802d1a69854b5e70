from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core.actors import ActorRecorded
from tapgo.core.ids import PublicIdField
from tapgo.core.tenancy import MerchantOwned

MAX_LINE_QUANTITY = 99


class TableGroupStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SETTLED = "settled", _("Paid")
    CLOSED = "closed", _("Closed")


class TableGroup(MerchantOwned):
    """Everyone at one table of a mini app: each phone that scans the table's code joins the
    table's open group, whose carts together are one shared cart. Rounds sent from it are
    orders of the group; where the store takes payment after eating, the group's bill is
    paid at the end in shares (TableShare), and the group is then settled."""

    public_id = PublicIdField(length=16)
    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey("merchants.Store", on_delete=models.PROTECT, related_name="+")
    table_label = models.CharField(max_length=40)
    pay_after = models.BooleanField(default=False)  # the store's choice when the group opened
    status = models.CharField(
        max_length=10, choices=TableGroupStatus.choices, default=TableGroupStatus.OPEN
    )
    currency = models.CharField(max_length=3)
    # Bumped by every change to the shared cart, a round or the bill: live pages watch it.
    version = models.PositiveIntegerField(default=1)
    # An equal split chosen by a phone: this many parts of this total (the bill left then);
    # the parts are shares numbered 1..split_parts of split round `split_round`.
    split_parts = models.PositiveSmallIntegerField(default=0)
    split_total = models.PositiveIntegerField(default=0)
    split_round = models.PositiveIntegerField(default=0)
    last_seat = models.PositiveSmallIntegerField(default=0)
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=120, blank=True)  # who closed it at the counter

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "table_label"],
                condition=models.Q(status="open"),
                name="one_open_group_per_table",
            )
        ]
        indexes = [models.Index(fields=["merchant", "status"])]


class Cart(MerchantOwned):
    """One cart per customer per mini app, kept on the server. At a table, the cart is the
    customer's seat in the table's group: the group's carts are its shared cart."""

    customer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=200, blank=True)
    table_label = models.CharField(max_length=40, blank=True)  # chosen by scanning a table code
    group = models.ForeignKey(
        TableGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="carts"
    )
    seat = models.PositiveSmallIntegerField(default=0)  # "Guest 2" at the group's table
    seat_name = models.CharField(max_length=20, blank=True)  # a first name the customer gave
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "app"], name="one_cart_per_customer_app")
        ]


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    # 0 means "no variant" so the unique constraint holds (NULLs are distinct in SQL).
    variant_key = models.BigIntegerField(default=0)
    variant = models.ForeignKey(
        "catalog.Variant", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "product", "variant_key"], name="one_line_per_item"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1, quantity__lte=MAX_LINE_QUANTITY),
                name="cartline_quantity_range",
            ),
        ]


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Waiting for payment")
    # A round of a table that pays after eating: sent to the kitchen, paid with the bill.
    PLACED = "placed", _("Sent to the kitchen")
    PAID = "paid", _("Paid")
    ACCEPTED = "accepted", _("Accepted")
    READY = "ready", _("Ready")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    COMPLETED = "completed", _("Completed")
    EXPIRED = "expired", _("Expired")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


# An order counts as sold once it is paid (a rejected or cancelled one was refunded): what
# popularity, attribution and reports count.
PAID_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.ACCEPTED,
    OrderStatus.READY,
    OrderStatus.OUT_FOR_DELIVERY,
    OrderStatus.COMPLETED,
)


# What the kitchen works on: a paid order, or a round of a table that pays after eating.
KITCHEN_STATUSES = (OrderStatus.PLACED, *PAID_STATUSES)


class Fulfilment(models.TextChoices):
    DINE_IN = "dine_in", _("Dine in")
    PICKUP = "pickup", _("Pickup")
    DELIVERY = "delivery", _("Delivery")


class DeliveryZone(MerchantOwned):
    """Where a store delivers: a radius around the store (matched by great-circle distance
    from the store's coordinates to the customer's shared position) or a named area the
    customer picks (a district, a building). Each has a fee, a minimum order (before the
    fee) and an estimated time. A store with no zones does not deliver."""

    class Kind(models.TextChoices):
        RADIUS = "radius", _("Radius around the store")
        AREA = "area", _("Named area")

    public_id = PublicIdField()
    store = models.ForeignKey("merchants.Store", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=80)
    radius_m = models.PositiveIntegerField(null=True, blank=True)  # radius zones only
    fee = models.PositiveIntegerField()  # minor units of the merchant's currency
    minimum = models.PositiveIntegerField(default=0)  # the items' total, before the fee
    eta_minutes = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "radius_m", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="radius", radius_m__gte=1)
                    | models.Q(kind="area", radius_m__isnull=True)
                ),
                name="deliveryzone_radius_by_kind",
            )
        ]


class Order(MerchantOwned):
    public_id = PublicIdField(length=16)
    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey("merchants.Store", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("identity.Customer", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    fulfilment = models.CharField(max_length=10, choices=Fulfilment.choices)
    table_label = models.CharField(max_length=40, blank=True)
    pickup_name = models.CharField(max_length=40, blank=True)
    note = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3)
    # What the customer pays: the items plus the delivery fee (part of the total, not a line).
    total = models.PositiveIntegerField()
    # What the offers took off the items (flows/offers.py: a coupon, a member's level, a
    # points reward), their sum, shared over the lines (each line's `discount`: the sum of its
    # parts); each offer's own part and name are an OrderDiscount. The gross is the total
    # plus the discount. `discount_label`: the offers' names as they were, joined (short).
    discount = models.PositiveIntegerField(default=0)
    discount_label = models.CharField(max_length=80, blank=True)
    # Tips paid with the order (apart from its total; payments books them apart from sales).
    tip = models.PositiveIntegerField(default=0)
    # A round of a table group; paid with the group's bill when the group pays after eating.
    group = models.ForeignKey(
        TableGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="rounds"
    )
    # Delivery (fulfilment "delivery"): where to, how to reach the customer, the zone it was
    # matched to as it was then (its name, fee and time kept as they were), how far by air
    # when the customer shared a position, and whether the fee has been refunded.
    delivery_address = models.CharField(max_length=200, blank=True)
    delivery_phone = models.CharField(max_length=20, blank=True)
    delivery_zone = models.ForeignKey(
        DeliveryZone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivery_zone_name = models.CharField(max_length=80, blank=True)
    delivery_fee = models.PositiveIntegerField(default=0)
    delivery_eta_minutes = models.PositiveIntegerField(null=True, blank=True)
    delivery_distance_m = models.PositiveIntegerField(null=True, blank=True)
    delivery_fee_refunded = models.BooleanField(default=False)
    # Short number called out at the counter; restarts daily per store (A001, A002, ...).
    business_date = models.DateField()
    number = models.CharField(max_length=8)
    # The checkout form's one-time key: a double-click or refresh returns the same order.
    checkout_key = models.CharField(max_length=64)
    reason = models.CharField(max_length=200, blank=True)
    # The door the customer came in by (their last visit to the app before ordering), and
    # the share link that brought them, if it was one: attribution reads these.
    scene = models.CharField(max_length=20, blank=True)
    share = models.ForeignKey(
        "miniapps.ShareLink", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The language the customer ordered in (one of settings.LANGUAGES, "" for the default):
    # what is said about the order later, from a webhook or the kitchen, is said in it.
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    @property
    def items_total(self) -> int:
        """What the items cost (the total without the delivery fee), after any discount."""
        return self.total - self.delivery_fee

    @property
    def gross(self) -> int:
        """What the order cost before its discount (the total is what is paid: the net)."""
        return self.total + self.discount

    @property
    def delivery_due(self):
        """When a paid delivery order should arrive: paid, plus its zone's estimated time."""
        if self.paid_at is None or self.delivery_eta_minutes is None:
            return None
        return self.paid_at + timedelta(minutes=self.delivery_eta_minutes)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "checkout_key"], name="one_order_per_key"),
            models.UniqueConstraint(
                fields=["store", "business_date", "number"], name="pickup_number_once_a_day"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "status"]),
            models.Index(fields=["customer", "-created_at"]),
            models.Index(fields=["status", "expires_at"]),
            # The history, newest first, read by the keyset (created_at, id).
            models.Index(fields=["merchant", "-created_at", "-id"], name="order_history"),
            # Searching the history for a pickup number (one a day per store).
            models.Index(fields=["merchant", "number"], name="order_number"),
        ]


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey(
        "catalog.Variant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(max_length=130)  # what the customer saw, kept as it was
    unit_price = models.PositiveIntegerField()
    quantity = models.PositiveIntegerField()
    refunded_quantity = models.PositiveIntegerField(default=0)
    # This line's part of the order's discount (largest remainder over the eligible lines).
    discount = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(refunded_quantity__lte=models.F("quantity")),
                name="refund_within_quantity",
            ),
            models.CheckConstraint(
                condition=models.Q(discount__lte=models.F("unit_price") * models.F("quantity")),
                name="line_discount_within_price",
            ),
        ]

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity

    def paid_for(self, quantity: int, *, already: int = 0) -> int:
        """What the customer paid for `quantity` more of this line's units after `already`:
        the line's discount is given to its units cumulatively (floor(discount × n / quantity)
        for the first n), so refunding the units one by one or all at once adds up to the
        same, and all of them to exactly the line's net."""
        taken = self.discount * (already + quantity) // self.quantity
        before = self.discount * already // self.quantity
        return self.unit_price * quantity - (taken - before)


class DiscountKind(models.TextChoices):
    COUPON = "coupon", _("Coupon")
    LEVEL = "level", _("Member level")
    REWARD = "reward", _("Points reward")


class OrderDiscount(models.Model):
    """One offer's part of an order's discount, with its name as it was when the order was
    placed: the order page and the console list them. Their sum is the order's `discount`."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="discounts")
    kind = models.CharField(max_length=10, choices=DiscountKind.choices)
    label = models.CharField(max_length=80)
    amount = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="order_discount_once_per_kind"),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="order_discount_positive"
            ),
        ]


class PickupCounter(models.Model):
    store = models.ForeignKey("merchants.Store", on_delete=models.CASCADE, related_name="+")
    business_date = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "business_date"], name="one_counter_a_day")
        ]


class OrderEvent(ActorRecorded, MerchantOwned):
    """An append-only feed of what happened to orders; live pages stream it by id. Each
    event records who moved the order (core/actors.py)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    created_at = models.DateTimeField(default=timezone.now)


class TableShareStatus(models.TextChoices):
    OPEN = "open", _("Waiting for payment")
    PAID = "paid", _("Paid")
    VOID = "void", _("Not needed")


class ShareKind(models.TextChoices):
    ALL = "all", _("The whole bill")
    REST = "rest", _("The remaining")
    EQUAL = "equal", _("An equal part")
    ITEMS = "items", _("My items")
    AMOUNT = "amount", _("An amount")
    COUNTER = "counter", _("At the counter")


class TableShare(MerchantOwned):
    """A part of a table's bill one phone pays (or staff record at the counter). The money
    is a payment intent for it (payments' purpose "share"); the bill is settled when its
    paid shares add up to it. A share paid when the bill no longer needs it is given back."""

    public_id = PublicIdField(length=16)
    group = models.ForeignKey(TableGroup, on_delete=models.PROTECT, related_name="shares")
    customer = models.ForeignKey(
        "identity.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=ShareKind.choices)
    amount = models.PositiveIntegerField()  # of the bill, the tip apart
    tip = models.PositiveIntegerField(default=0)
    # An equal part: which of the split's parts, in which split (a new split starts a round).
    split_round = models.PositiveIntegerField(default=0)
    part = models.PositiveSmallIntegerField(default=0)
    # {order line id: quantity} for "my items".
    lines = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=TableShareStatus.choices, default=TableShareStatus.OPEN
    )
    method = models.CharField(max_length=20, blank=True)  # at the counter: cash or card
    recorded_by = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="share_positive"),
            # Each equal part is taken by one phone at a time.
            models.UniqueConstraint(
                fields=["group", "split_round", "part"],
                condition=models.Q(part__gt=0) & ~models.Q(status="void"),
                name="one_phone_per_part",
            ),
        ]
