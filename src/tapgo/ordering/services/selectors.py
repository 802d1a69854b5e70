"""What the interfaces show of orders: access by public id (404 for another's), the live
board, a customer's orders, the event feed, and what staff can do next with an order."""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext_lazy

from tapgo.core.ids import is_public_id
from tapgo.identity.models import Customer
from tapgo.ordering.models import Fulfilment, Order, OrderEvent, OrderStatus
from tapgo.ordering.services.transitions import ACTIVE, order_next_statuses

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a str, or a lazy translation of one

S = OrderStatus

ORDER_ID_LENGTH = Order._meta.get_field("public_id").id_length


def access_order_for_merchant(*, merchant, public_id: str) -> Order:
    if not is_public_id(public_id, ORDER_ID_LENGTH):
        raise Http404
    order = Order.objects.for_merchant(merchant).filter(public_id=public_id).first()
    if order is None:
        raise Http404
    return order


def access_order_for_customer(*, customer: Customer | None, public_id: str) -> Order:
    if customer is None or not getattr(customer, "pk", None):
        raise Http404
    if not is_public_id(public_id, ORDER_ID_LENGTH):
        raise Http404
    order = (
        Order.objects.select_related("app", "merchant", "store")
        .filter(customer=customer, public_id=public_id)
        .first()
    )
    if order is None:
        raise Http404
    return order


def board_orders(merchant):
    """The live board: paid and in-progress orders with their lines, in two queries."""
    return (
        Order.objects.for_merchant(merchant)
        .filter(status__in=ACTIVE)
        .prefetch_related("lines")
        .order_by(Coalesce("paid_at", "created_at"), "id")
    )


def orders_of_customer(customer: Customer | None):
    if customer is None or not getattr(customer, "pk", None):
        return Order.objects.none()
    return (
        Order.objects.filter(customer=customer)
        .select_related("app", "store")
        .order_by("-created_at")
    )


def events_after(*, merchant=None, order: Order | None = None, after: int = 0, limit: int = 100):
    """Events newer than `after`, oldest first: what a live page has not seen yet."""
    events = OrderEvent.objects.filter(pk__gt=after).select_related("order").order_by("pk")
    if merchant is not None:
        events = events.for_merchant(merchant)
    if order is not None:
        events = events.filter(order=order)
    return list(events[:limit])


def last_event_id(*, merchant=None, order: Order | None = None) -> int:
    events = OrderEvent.objects.all()
    if merchant is not None:
        events = events.for_merchant(merchant)
    if order is not None:
        events = events.filter(order=order)
    return events.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- what staff can do next -------------------------------------------------------------------


@dataclass(frozen=True)
class OrderAction:
    """One thing staff can do with an order now, as the console offers it."""

    name: str  # accept, ready, deliver, complete, reject or cancel (the console's URL says which)
    label: "StrOrPromise"
    primary: bool = False  # the next step along the board
    reason: "StrOrPromise" = ""  # asked before a way out: what the field is labelled
    placeholder: "StrOrPromise" = ""  # an example of a reason
    confirm: "StrOrPromise" = ""  # the way out's button


# The board's way through an order, and its ways out (with a reason the customer sees, and
# the payment refunded): (action, the status it leads to, its label), by status.
STEP: dict[str, tuple[str, str, "StrOrPromise"]] = {
    S.PLACED: ("accept", S.ACCEPTED, pgettext_lazy("order action", "Accept")),
    S.PAID: ("accept", S.ACCEPTED, pgettext_lazy("order action", "Accept")),
    S.ACCEPTED: ("ready", S.READY, pgettext_lazy("order action", "Ready")),
    S.READY: ("complete", S.COMPLETED, pgettext_lazy("order action", "Complete")),
}
# A delivery order's way differs: from ready it goes out for delivery (or straight from
# accepted, a step offered beside "Ready"), and once out it is delivered.
OUT_FOR_DELIVERY = (
    "deliver",
    S.OUT_FOR_DELIVERY,
    pgettext_lazy("order action", "Out for delivery"),
)
DELIVERY_STEP: dict[str, tuple[str, str, "StrOrPromise"]] = {
    **STEP,
    S.READY: OUT_FOR_DELIVERY,
    S.OUT_FOR_DELIVERY: ("complete", S.COMPLETED, pgettext_lazy("order action", "Delivered")),
}
DELIVERY_ALSO: dict[str, tuple[str, str, "StrOrPromise"]] = {S.ACCEPTED: OUT_FOR_DELIVERY}
WAY_OUT: dict[str, tuple[str, str, "StrOrPromise"]] = {
    S.PLACED: ("reject", S.REJECTED, pgettext_lazy("order action", "Reject")),
    S.PAID: ("reject", S.REJECTED, pgettext_lazy("order action", "Reject")),
    S.ACCEPTED: ("cancel", S.CANCELLED, pgettext_lazy("order action", "Cancel")),
    S.READY: ("cancel", S.CANCELLED, pgettext_lazy("order action", "Cancel")),
    S.OUT_FOR_DELIVERY: ("cancel", S.CANCELLED, pgettext_lazy("order action", "Cancel")),
}
CONFIRM = {"reject": _lazy("Reject order"), "cancel": _lazy("Cancel order")}
EXAMPLE = {"reject": _lazy("e.g. Sold out today")}


def order_actions(order: Order) -> list[OrderAction]:
    """What staff can do next with this order: the next step (for a delivery order also
    "Out for delivery" beside "Ready") and the way out, each only where the state machine
    (transitions.order_next_statuses) allows it."""
    allowed = order_next_statuses(order)
    actions = []
    delivery = order.fulfilment == Fulfilment.DELIVERY
    step = (DELIVERY_STEP if delivery else STEP).get(order.status)
    if step and step[1] in allowed:
        actions.append(OrderAction(step[0], step[2], primary=True))
    also = DELIVERY_ALSO.get(order.status) if delivery else None
    if also and also[1] in allowed:
        actions.append(OrderAction(also[0], also[2]))
    out = WAY_OUT.get(order.status)
    if out and out[1] in allowed:
        reason = _lazy("Reason (the customer sees it; the payment is refunded)")
        actions.append(
            OrderAction(
                out[0],
                out[2],
                reason=reason,
                placeholder=EXAMPLE.get(out[0], ""),
                confirm=CONFIRM[out[0]],
            )
        )
    return actions


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    status: str  # the status label
    by: str  # who: the staff member, "The customer", "Automatic"; "" when not recorded


# An event says what happened: the order's first one is its placing, not a state it waits in.
EVENT_LABEL: dict[str, "StrOrPromise"] = {S.PENDING_PAYMENT: pgettext_lazy("order event", "Placed")}


def order_timeline(order: Order) -> list[TimelineEntry]:
    """The order's events, oldest first, each with who caused it."""
    entries = []
    for event in order.events.order_by("pk"):
        label = EVENT_LABEL.get(event.status) or event.get_status_display()
        entries.append(TimelineEntry(event.created_at, str(label), event.actor_shown()))
    return entries
