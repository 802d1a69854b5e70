import zoneinfo

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core.ids import PublicIdField
from tapgo.core.tenancy import MerchantOwned


def default_tip_percentages() -> list[int]:
    return [10, 15, 20]


class DineInPayment(models.TextChoices):
    PAY_FIRST = "pay_first", _("Pay when ordering")
    PAY_AFTER = "pay_after", _("Pay after eating")


class Merchant(models.Model):
    public_id = PublicIdField()
    name = models.CharField(_("name"), max_length=120)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # The language of its texts' ordinary columns (one of settings.LANGUAGES): what customers
    # read when the merchant gave no text in theirs.
    language = models.CharField(_("default language"), max_length=10, default="en")
    created_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=True)
    ordering_paused = models.BooleanField(default=False)
    pause_reason = models.CharField(max_length=200, blank=True)
    # Bumped by every catalogue write: part of the menu cache key.
    catalog_version = models.PositiveIntegerField(default=1)
    # Tips the customer may add when paying: off, or these percentages (and any amount).
    tips_on = models.BooleanField(_("take tips"), default=False)
    tip_percentages = models.JSONField(default=default_tip_percentages)

    def __str__(self):
        return self.name


class Store(MerchantOwned):
    """A place where the merchant serves: address, location, opening hours, time zone."""

    public_id = PublicIdField()
    name = models.CharField(_("name"), max_length=120)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=300, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    # Dine-in rounds are paid when ordered, or sent to the kitchen and paid at the end as
    # one bill for the table (ordering's table groups).
    dine_in_payment = models.CharField(
        _("dine-in payment"),
        max_length=10,
        choices=DineInPayment.choices,
        default=DineInPayment.PAY_FIRST,
    )

    class Meta:
        # Nearby: a bounding box on these columns first, then the exact distance.
        indexes = [models.Index(fields=["latitude", "longitude"])]

    def __str__(self):
        return self.name

    @property
    def tz(self):
        return zoneinfo.ZoneInfo(self.time_zone)


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    STAFF = "staff", _("Staff")


class Membership(MerchantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "user"], name="membership_once")]


class Invitation(MerchantOwned):
    public_id = PublicIdField(length=24)
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
