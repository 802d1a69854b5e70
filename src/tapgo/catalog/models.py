from django.db import models
from django.utils.translation import gettext_lazy as _

from tapgo.core.ids import PublicIdField
from tapgo.core.tenancy import MerchantOwned


class Category(MerchantOwned):
    public_id = PublicIdField()
    name = models.CharField(_("name"), max_length=60)
    # Names and descriptions in languages other than the merchant's (core/translations.py).
    translations = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class Product(MerchantOwned):
    public_id = PublicIdField()
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=500, blank=True)
    # Names and descriptions in languages other than the merchant's (core/translations.py).
    translations = models.JSONField(default=dict, blank=True)
    price = models.PositiveIntegerField(_("price"))  # minor units of the merchant's currency
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True)  # None: not counted
    available = models.BooleanField(_("available"), default=True)
    image = models.CharField(max_length=200, blank=True)  # WebP thumbnail's storage name
    position = models.PositiveIntegerField(default=0)

    # Not columns: what the customer is told of stock, set by catalog.services.mark_stock.
    left: int | None
    sold_out: bool

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="product_stock_gte_0")
        ]

    def __str__(self):
        return self.name


class Variant(MerchantOwned):
    """A choice such as a size, with its own price and stock."""

    public_id = PublicIdField()
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(_("name"), max_length=40)
    # Names and descriptions in languages other than the merchant's (core/translations.py).
    translations = models.JSONField(default=dict, blank=True)
    price = models.PositiveIntegerField(_("price"))
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    # Not columns: set by catalog.services.mark_stock.
    left: int | None
    sold_out: bool

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="variant_stock_gte_0")
        ]
