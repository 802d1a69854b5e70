from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core.ids import PublicIdField
from tapgo.core.tenancy import MerchantOwned


class IntentStatus(models.TextChoices):
    REQUIRES_ACTION = "requires_action", _("Waiting for the customer")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


class PaymentIntent(MerchantOwned):
    """One attempt to collect an order's amount through a provider."""

    public_id = PublicIdField(length=20)
    order = models.ForeignKey("ordering.Order", on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=20, default="sandbox")
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=20, choices=IntentStatus.choices, default=IntentStatus.REQUIRES_ACTION
    )
    refunded_amount = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # At most one open attempt per order: a refreshed pay page finds the same one.
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(status__in=["requires_action", "processing"]),
                name="one_open_intent_per_order",
            )
        ]


class WebhookEvent(models.Model):
    """Every verified provider event, once: the provider's event id decides duplicates."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=50)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")
        ]


class SandboxOutbox(models.Model):
    """The sandbox provider's outgoing webhooks, written with the decision, sent after commit."""

    intent = models.ForeignKey(PaymentIntent, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=40, unique=True)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
