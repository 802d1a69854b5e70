"""How customers find mini apps: the search index, favourites and the recently used list."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Favourite(models.Model):
    """A mini app the customer pinned to their home page."""

    customer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "app"], name="favourite_once")]


class RecentRemoval(models.Model):
    """The customer took this app off their recently used list; a later visit puts it back."""

    customer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.CASCADE, related_name="+")
    removed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "app"], name="recent_removal_once")
        ]


class SearchDoc(models.Model):
    """One searchable thing (a mini app, a product, an article), as the index sees it.

    `title_terms` and `body_terms` hold the text already segmented (jieba for Chinese,
    folded and split for the rest), space-separated, so both back ends index the same
    tokens: an FTS5 table over these columns on SQLite, a generated tsvector with a GIN
    index on PostgreSQL (migration 0002). `live` mirrors "published app of an active
    merchant" and is kept up to date by the services that change either.
    """

    class Kind(models.TextChoices):
        APP = "app", _("Mini app")
        PRODUCT = "product", _("Product")
        ARTICLE = "article", _("Article")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    ref_id = models.PositiveBigIntegerField()  # the app's, product's or article's row id
    ref_public_id = models.CharField(max_length=24, blank=True)
    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.CASCADE, related_name="+")
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    # Title and summary in the merchant's other languages: {"zh-hans": {"title", "summary"}}.
    # Nullable so that adding it is a plain ALTER TABLE (SQLite would otherwise rebuild the
    # table, and lose the full-text triggers of migration 0002).
    translations = models.JSONField(null=True, blank=True)
    title_terms = models.TextField(blank=True)
    body_terms = models.TextField(blank=True)
    live = models.BooleanField(default=False)
    popularity = models.FloatField(default=0)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "ref_id"], name="one_search_doc_per_thing")
        ]
        indexes = [models.Index(fields=["app"])]
