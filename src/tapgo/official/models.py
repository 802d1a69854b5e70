"""A business's official account: the articles it publishes for its customers."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core.ids import PublicIdField
from tapgo.core.tenancy import MerchantOwned


class Article(MerchantOwned):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    public_id = PublicIdField()
    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=120)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("body"), blank=True)  # sanitised HTML (nh3), never raw input
    cover = models.CharField(max_length=200, blank=True)  # WebP storage name
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["app", "status", "-published_at"])]

    def __str__(self):
        return self.title
