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
    template = models.CharField(max_length=20, choices=Template.choices, default=Template.MENU)
    brand_color = models.CharField(_("brand colour"), max_length=7, default="#0f766e")
    logo = models.CharField(max_length=200, blank=True)  # storage name of a WebP thumbnail
    cover = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MiniAppQuerySet.as_manager()

    def __str__(self):
        return self.name

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class EntryCode(MerchantOwned):
    """A code printed for the store or a table. Its URL /s/<code> is looked up, never trusted."""

    class Kind(models.TextChoices):
        STORE = "store", _("Store")
        TABLE = "table", _("Table")

    code = PublicIdField(length=10)
    app = models.ForeignKey(MiniApp, on_delete=models.CASCADE, related_name="codes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    table_label = models.CharField(_("table"), max_length=40, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "table_label"],
                condition=models.Q(kind="table"),
                name="one_code_per_table",
            ),
            models.UniqueConstraint(
                fields=["app"], condition=models.Q(kind="store"), name="one_store_code"
            ),
        ]


class Visit(MerchantOwned):
    """A customer opening a mini app, with the door they came through."""

    app = models.ForeignKey(MiniApp, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    scene = models.CharField(max_length=20, choices=Scene.choices)
    code = models.ForeignKey(EntryCode, null=True, blank=True, on_delete=models.SET_NULL)
    table_label = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "-created_at"])]
