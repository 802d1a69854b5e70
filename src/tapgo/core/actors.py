"""Who did something: the actor every merchant, operator or automatic action records (on an
order's events, to begin with), as a value any domain can take without importing identity.

- staff: a person signed in to the console, by user id and a label kept as it was (their
  name or email), so the record still reads right if they leave;
- customer: the customer themselves (placing an order, giving up before paying);
- system: Tapgo itself, for a reason it can name (a provider confirmed the payment, the
  order's time to pay ran out).

`ActorRecorded` is the three columns a record of who did it keeps (an order's events, a
member's points entries), and `Actor.columns()` what to write in them.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class ActorKind(models.TextChoices):
    STAFF = "staff", _("Staff")
    CUSTOMER = "customer", _("The customer")
    SYSTEM = "system", _("Automatic")


@dataclass(frozen=True)
class Actor:
    kind: str
    user_id: int | None = None
    label: str = ""

    @classmethod
    def staff(cls, user) -> "Actor":
        return cls(ActorKind.STAFF, user.pk, (user.name or user.email)[:120])

    def columns(self) -> dict:
        """The values of an ActorRecorded row's columns."""
        return {"actor_kind": self.kind, "actor_user_id": self.user_id, "actor_label": self.label}


class ActorRecorded(models.Model):
    """Who did it, on a record that keeps it: the kind, the staff user (kept as a label too,
    so the record still reads right once the user is gone). The user is named as
    "identity.User" by string, as Django resolves it, so core imports nothing above it."""

    # Blank on rows recorded before actors were (order events of old; none since).
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices, blank=True)
    actor_user = models.ForeignKey(
        "identity.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=120, blank=True)

    class Meta:
        abstract = True

    def actor_shown(self) -> str:
        """Who did it, as a page shows it: a staff member's label, else the kind."""
        if self.actor_kind == ActorKind.STAFF and self.actor_label:
            return self.actor_label
        return self.get_actor_kind_display() if self.actor_kind else ""  # type: ignore[attr-defined]


CUSTOMER = Actor(ActorKind.CUSTOMER)
SYSTEM = Actor(ActorKind.SYSTEM)
