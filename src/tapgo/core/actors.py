"""Who did something: the actor every merchant, operator or automatic action records (on an
order's events, to begin with), as a value any domain can take without importing identity.

- staff: a person signed in to the console, by user id and a label kept as it was (their
  name or email), so the record still reads right if they leave;
- customer: the customer themselves (placing an order, giving up before paying);
- system: Tapgo itself, for a reason it can name (a provider confirmed the payment, the
  order's time to pay ran out).
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


CUSTOMER = Actor(ActorKind.CUSTOMER)
SYSTEM = Actor(ActorKind.SYSTEM)
