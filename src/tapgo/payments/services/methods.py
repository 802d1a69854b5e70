"""How purposes were paid, as lists and history pages ask: the ways to pay (every provider,
and stored value) with their names for people, and query expressions over a purpose's
counted payments, correlated to a row of the caller's (an order's id as an OuterRef), so a
list reads what each row was paid with and what was refunded of it in its own query.

Counted payments are the captured intents that count towards their purpose (a surplus
capture, refunded in full, does not)."""

from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Exists, IntegerField, StringAgg, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _lazy

from tapgo.payments import providers
from tapgo.payments.models import IntentStatus, PaymentIntent

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a str, or a lazy translation of one

WALLET_LABEL = _lazy("Stored value")


def method_choices() -> list[tuple[str, "StrOrPromise"]]:
    """Every way a purpose can be paid, (name, label): the installed providers, then stored
    value. A provider added to the registry appears here without another change."""
    return [(p.name, p.label) for p in providers.all_providers()] + [
        (providers.WALLET, WALLET_LABEL)
    ]


def method_label(name: str) -> str:
    """A way to pay's name for people ("Stripe (cards)", "Stored value"); the name itself for
    a provider that is no longer installed."""
    if name == providers.WALLET:
        return str(WALLET_LABEL)
    impl = providers.get(name)
    return str(impl.label) if impl is not None else name


def _counted(purpose: str, purpose_id):
    return PaymentIntent.objects.filter(
        purpose=purpose, purpose_id=purpose_id, status=IntentStatus.SUCCEEDED, counted=True
    )


def paid_with(purpose: str, purpose_id, method: str) -> Exists:
    """True where the purpose `purpose_id` (an OuterRef) was paid, at least in part, by
    `method` (a provider's name, or WALLET)."""
    return Exists(_counted(purpose, purpose_id).filter(provider=method))


def methods_used(purpose: str, purpose_id) -> Subquery:
    """The names of the ways the purpose was paid, comma-separated, in the order they were
    paid where the database can order an aggregate (NULL if unpaid); split and label them
    with method_label."""
    ordered: dict[str, Any] = {}
    if connection.features.supports_aggregate_order_by_clause:
        ordered = {"order_by": ("id",)}
    return Subquery(
        _counted(purpose, purpose_id)
        .order_by()
        .values("purpose_id")
        .annotate(names=StringAgg("provider", Value(","), **ordered))
        .values("names")
    )


def refunded_of(purpose: str, purpose_id) -> Coalesce:
    """What has been refunded (or is being refunded) of the purpose's payments, 0 if none."""
    total = Subquery(
        _counted(purpose, purpose_id)
        .order_by()
        .values("purpose_id")
        .annotate(refunded=Sum("refunded_amount"))
        .values("refunded"),
        output_field=IntegerField(),
    )
    return Coalesce(total, Value(0), output_field=IntegerField())
