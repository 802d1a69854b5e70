from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core.ids import PublicIdField
from tapgo.core.scenes import Scene
from tapgo.core.tenancy import MerchantOwned, MerchantQuerySet


class Template(models.TextChoices):
    MENU = "menu", _("Menu & ordering")


class MiniAppQuerySet(MerchantQuerySet):
    def live(self):
        return self.filter(status=MiniApp.Status.PUBLISHED, merchant__is_active=True)


class MiniApp(MerchantOwned):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    public_id = PublicIdField()
    store = models.ForeignKey("merchants.Store", on_delete=models.PROTECT, related_name="+")
    slug = models.SlugField(_("public slug"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    description = models.CharField(_("description"), max_length=300, blank=True)
    # Names and descriptions in languages other than the merchant's (core/translations.py).
    translations = models.JSONField(default=dict, blank=True)
    template = models.CharField(max_length=20, choices=Template.choices, default=Template.MENU)
    brand_color = models.CharField(_("brand colour"), max_length=7, default="#0f766e")
    logo = models.CharField(max_length=200, blank=True)  # storage name of a WebP thumbnail
    cover = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)

    # ClassVar like the manager it overrides (MerchantOwned's); its type is the plugin's.
    objects: ClassVar = MiniAppQuerySet.as_manager()

    def __str__(self):
        return self.name

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class EntryCode(MerchantOwned):
    """A code printed for the store, a table, a product or a campaign.

    Its URL /s/<code> is looked up, never trusted: what it opens (app, table, product, scene
    parameter) lives in this row, so no query string can change it.
    """

    class Kind(models.TextChoices):
        STORE = "store", _("Store")
        TABLE = "table", _("Table")
        PRODUCT = "product", _("Product")
        CAMPAIGN = "campaign", _("Campaign")

    code = PublicIdField(length=10)
    app = models.ForeignKey(MiniApp, on_delete=models.CASCADE, related_name="codes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    table_label = models.CharField(_("table"), max_length=40, blank=True)
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Up to 32 characters the merchant chooses (a flyer's name): recorded with each visit.
    scene_param = models.CharField(_("scene parameter"), max_length=32, blank=True)
    name = models.CharField(_("name"), max_length=60, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    # Not a column: set on the code live.code_state() returns ("" for no product).
    product_public_id: str

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "table_label", "scene_param"],
                condition=models.Q(kind="table"),
                name="one_code_per_table",
            ),
            models.UniqueConstraint(
                fields=["app", "scene_param"],
                condition=models.Q(kind="store"),
                name="one_store_code",
            ),
            models.UniqueConstraint(
                fields=["app", "product", "scene_param"],
                condition=models.Q(kind="product"),
                name="one_code_per_product",
            ),
            models.UniqueConstraint(
                fields=["app", "scene_param"],
                condition=models.Q(kind="campaign"),
                name="one_code_per_campaign",
            ),
        ]


class ShareLink(MerchantOwned):
    """A customer's link for sharing one mini app: its opaque token credits what it brings.

    The token names the sharer to us and to no one else; the app comes from the URL's path,
    and a token of another app, a made-up one or the sharer's own gets no credit.
    """

    token = PublicIdField(length=12)
    app = models.ForeignKey(MiniApp, on_delete=models.CASCADE, related_name="+")
    sharer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "sharer"], name="one_share_link_per_app")
        ]


class Visit(MerchantOwned):
    """A customer opening a mini app, with the door they came through."""

    app = models.ForeignKey(MiniApp, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    scene = models.CharField(max_length=20, choices=Scene.choices)
    code = models.ForeignKey(EntryCode, null=True, blank=True, on_delete=models.SET_NULL)
    # What the code was when scanned: "" for a working one, else disabled or expired.
    code_state = models.CharField(max_length=10, blank=True)
    scene_param = models.CharField(max_length=32, blank=True)
    table_label = models.CharField(max_length=40, blank=True)
    share = models.ForeignKey(ShareLink, null=True, blank=True, on_delete=models.SET_NULL)
    # The customer's first visit to this merchant: a new customer, credited to this door.
    first = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-created_at"]),
            models.Index(fields=["merchant", "customer"]),
        ]
