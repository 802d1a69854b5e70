from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core.actors import ActorKind
from tapgo.core.ids import PublicIdField
from tapgo.core.tenancy import MerchantOwned

MAX_LINE_QUANTITY = 99


class Cart(MerchantOwned):
    """One cart per customer per mini app, kept on the server."""

    customer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=200, blank=True)
    table_label = models.CharField(max_length=40, blank=True)  # chosen by scanning a table code
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
    PAID = "paid", _("Paid")
    ACCEPTED = "accepted", _("Accepted")
    READY = "ready", _("Ready")
    COMPLETED = "completed", _("Completed")
    EXPIRED = "expired", _("Expired")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


# An order counts as sold once it is paid (a rejected or cancelled one was refunded): what
# popularity, attribution and reports count.
PAID_STATUSES = (OrderStatus.PAID, OrderStatus.ACCEPTED, OrderStatus.READY, OrderStatus.COMPLETED)


class Fulfilment(models.TextChoices):
    DINE_IN = "dine_in", _("Dine in")
    PICKUP = "pickup", _("Pickup")


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
    total = models.PositiveIntegerField()
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

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(refunded_quantity__lte=models.F("quantity")),
                name="refund_within_quantity",
            )
        ]

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity


class PickupCounter(models.Model):
    store = models.ForeignKey("merchants.Store", on_delete=models.CASCADE, related_name="+")
    business_date = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "business_date"], name="one_counter_a_day")
        ]


class OrderEvent(MerchantOwned):
    """An append-only feed of what happened to orders; live pages stream it by id. Each
    event records who moved the order (core/actors.py)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    # Blank on events recorded before actors were (none since).
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices, blank=True)
    actor_user = models.ForeignKey(
        "identity.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
