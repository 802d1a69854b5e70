"""Notifications customers asked for (docs/decisions/0010-notifications.md).

A platform library of templates; merchants switch templates on per app; a customer's consent
(one-time, standing, or the one granted by paying an order) allows a message; each message
is an inbox entry plus an outbox of deliveries (inbox, Web Push per device, email) that the
worker works through after commit.
"""

from dataclasses import dataclass
from typing import Self

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tapgo.core.ids import PublicIdField
from tapgo.core.tenancy import MerchantOwned


class Template(models.Model):
    """A notification template of the platform: typed fields and a text per shipped language.

    `fields` is a list of {"name": ..., "type": "text" | "money" | "datetime" | "number"};
    `texts` maps each language code to {"name", "ask", "title", "body"}, where title and body
    may name fields as {field}. Operators add templates; built-in ones come from a migration.
    """

    class Subject(models.TextChoices):
        NONE = "", _("Nothing in particular")
        ORDER = "order", _("An order")
        BOOKING = "booking", _("A booking")
        CARD = "card", _("A membership card")
        COUPON = "coupon", _("A coupon")
        ARTICLE = "article", _("An official account")

    key = models.SlugField(_("key"), max_length=40, unique=True)
    subject = models.CharField(_("about"), max_length=10, choices=Subject.choices, blank=True)
    fields = models.JSONField(default=list)
    texts = models.JSONField(default=dict)
    # The operator allows a standing consent (until revoked) for this template.
    standing = models.BooleanField(_("standing consent"), default=False)
    # Switched on for every new mini app (merchants can switch it off).
    default_on = models.BooleanField(_("on for new apps"), default=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    # Not a column: set on the templates templates_with_usage() lists.
    apps_using: int

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.key


SUBJECT_LENGTH = 40  # of Consent.subject and Message.subject: "kind:public id"


@dataclass(frozen=True)
class ConsentSubject:
    """What a consent or a message is about: one order, booking, card, coupon or article, as
    its kind (a Template.Subject other than NONE) and its public id. None where a consent or a
    message is about nothing in particular.

    Consent.subject and Message.subject store it as "kind:public id" (e.g. "order:7h3k…"):
    str() gives that form and parse() reads it back."""

    kind: Template.Subject
    public_id: str

    def __post_init__(self):
        kind = Template.Subject(self.kind)  # ValueError for a kind that is not a choice
        if kind == Template.Subject.NONE:
            raise ValueError("a subject is about something: give its kind")
        if not isinstance(self.public_id, str) or not self.public_id:
            raise ValueError("a subject names the public id of what it is about")
        if len(kind.value) + 1 + len(self.public_id) > SUBJECT_LENGTH:
            raise ValueError(f"a subject is stored in {SUBJECT_LENGTH} characters")
        object.__setattr__(self, "kind", kind)

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.public_id}"

    @classmethod
    def parse(cls, text: str) -> Self | None:
        """The subject stored as `text`; None for "" (nothing in particular) or anything that
        is not a subject."""
        kind, colon, public_id = text.partition(":") if isinstance(text, str) else ("", "", "")
        if not colon:
            return None
        try:
            return cls(Template.Subject(kind), public_id)
        except ValueError:
            return None


class AppTemplate(MerchantOwned):
    """A template a merchant switched on for one of its mini apps."""

    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "template"], name="template_on_once_per_app")
        ]


class Consent(MerchantOwned):
    """A customer's permission for messages of one template from one mini app."""

    class Kind(models.TextChoices):
        ONE_TIME = "one_time", _("One message")
        STANDING = "standing", _("Until I turn it off")
        GRANT = "grant", _("One message about an order I paid")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        USED = "used", _("Used")
        REVOKED = "revoked", _("Turned off")
        ENDED = "ended", _("Ended")  # what it was about is over (a completed order)

    public_id = PublicIdField()
    customer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.CASCADE, related_name="+")
    # None for a grant: it covers any template about its subject.
    template = models.ForeignKey(
        Template, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # What the consent is about (a ConsentSubject); "" for anything of the template.
    subject = models.CharField(max_length=SUBJECT_LENGTH, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    email = models.BooleanField(default=False)  # also by email (the customer chose it)
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A double submit of "tell me" is one consent, not two messages.
            models.UniqueConstraint(
                fields=["customer", "app", "template", "subject"],
                condition=Q(status="active", kind__in=["one_time", "standing"]),
                name="one_active_consent_per_template",
            ),
            models.UniqueConstraint(
                fields=["customer", "app", "subject"],
                condition=Q(kind="grant"),
                name="one_grant_per_subject",
            ),
        ]
        indexes = [models.Index(fields=["customer", "status"])]


class Message(MerchantOwned):
    """One notification to one customer: its inbox entry and the root of its deliveries."""

    public_id = PublicIdField()
    customer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.CASCADE, related_name="+")
    # RESTRICT: a template or consent is never deleted from under a sent message; deleting
    # the customer deletes both, which RESTRICT (unlike PROTECT) allows.
    template = models.ForeignKey(Template, on_delete=models.RESTRICT, related_name="+")
    consent = models.ForeignKey(Consent, on_delete=models.RESTRICT, related_name="+")
    subject = models.CharField(max_length=SUBJECT_LENGTH, blank=True)  # a ConsentSubject or ""
    # The sender's idempotency key: one message per (customer, template, key).
    key = models.CharField(max_length=80, blank=True)
    values = models.JSONField(default=dict)  # the template's fields, as checked by the service
    link = models.CharField(max_length=300)  # a path inside the mini app
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)  # in the inbox since
    read_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)  # its link was followed

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "template", "key"],
                condition=~Q(key=""),
                name="one_message_per_key",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "-delivered_at"]),
            models.Index(fields=["customer", "read_at"]),
            models.Index(fields=["merchant", "delivered_at"]),
            models.Index(fields=["merchant", "template"]),
            # What an order's page shows it was told: the messages about it.
            models.Index(fields=["merchant", "subject"], name="message_subject"),
        ]


class Delivery(models.Model):
    """One channel of one message: the outbox row the worker delivers, and its log."""

    class Channel(models.TextChoices):
        INBOX = "inbox", pgettext_lazy("channel", "Inbox")
        PUSH = "push", pgettext_lazy("channel", "Push")
        EMAIL = "email", pgettext_lazy("channel", "Email")  # not the address field's "Email"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed, will retry")
        DEAD = "dead", _("Failed for good")
        DROPPED = "dropped", _("Not needed any more")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    subscription = models.ForeignKey(
        "messaging.PushSubscription",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker holds a delivery until lease_until; a worker that died lets it go by itself.
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["lease_token"]),
        ]


class PushSubscription(models.Model):
    """A device the customer allowed to show notifications (a Web Push subscription)."""

    public_id = PublicIdField()
    customer = models.ForeignKey("identity.Customer", on_delete=models.CASCADE, related_name="+")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=60)
    # "Chrome · Android", for /me: names only, in no language ("" shows as "A browser").
    label = models.CharField(max_length=80, blank=True)
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["customer"])]


class VapidKey(models.Model):
    """The platform's Web Push (VAPID) key pair, made on first start and kept.

    One row (id 1): the primary key decides which of two processes starting together wins.
    The private key is stored encrypted (core.crypto)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    public_key = models.CharField(max_length=100)  # uncompressed point, base64url
    private_key = models.BinaryField()  # raw 32-byte scalar, base64url, encrypted
    created_at = models.DateTimeField(default=timezone.now)
