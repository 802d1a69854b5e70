"""What ordering's services share: their errors, the check on text a customer typed, the
language of the request, and recording an order's event with who caused it."""

from django.utils import translation
from django.utils.translation import gettext as _

from tapgo.core.actors import Actor
from tapgo.ordering.models import Order, OrderEvent


class OrderingError(ValueError):
    pass


class TransitionError(OrderingError):
    pass


def check_text(*values: str) -> None:
    """Free text a customer typed: no NUL (PostgreSQL cannot store it; nobody types it)."""
    if any("\x00" in value for value in values if value):
        raise OrderingError(_("That text contains a character we cannot store."))


def request_language() -> str:
    """The language the customer is using now, as one of settings.LANGUAGES ("" if none)."""
    try:
        return translation.get_supported_language_variant(translation.get_language() or "")
    except LookupError:
        return ""


def record(*, order: Order, status: str, actor: Actor) -> None:
    """An event on the order's feed (live pages stream it), with who caused it."""
    OrderEvent.objects.create(
        merchant_id=order.merchant_id,
        order=order,
        status=status,
        **actor.columns(),
    )
