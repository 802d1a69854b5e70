"""The order's state machine: each step one conditional UPDATE, so of two racing writers
one wins and the other is told the order changed; stock goes back when an order ends
unsold; every step is an event with its actor. A delivery order goes out for delivery (from
accepted or ready) before it is completed; other orders never do. What a step sets off
elsewhere (money back, messages) is flows/orders.py's."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.catalog import services as catalog
from tapgo.core.actors import CUSTOMER, SYSTEM, Actor
from tapgo.ordering.models import Fulfilment, Order, OrderStatus
from tapgo.ordering.services.base import OrderingError, TransitionError, record

log = logging.getLogger(__name__)

S = OrderStatus
TRANSITIONS: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.PAID, S.EXPIRED, S.CANCELLED},
    S.PLACED: {S.ACCEPTED, S.REJECTED, S.CANCELLED},  # a table's round, paid with the bill
    S.PAID: {S.ACCEPTED, S.REJECTED, S.CANCELLED},
    S.ACCEPTED: {S.READY, S.OUT_FOR_DELIVERY, S.CANCELLED},
    S.READY: {S.COMPLETED, S.OUT_FOR_DELIVERY, S.CANCELLED},
    S.OUT_FOR_DELIVERY: {S.COMPLETED, S.CANCELLED},
    S.COMPLETED: set(),
    S.EXPIRED: set(),
    S.REJECTED: set(),
    S.CANCELLED: set(),
}
ACTIVE = [S.PLACED, S.PAID, S.ACCEPTED, S.READY, S.OUT_FOR_DELIVERY]  # the live board's
RELEASES_STOCK = {S.EXPIRED, S.CANCELLED, S.REJECTED}


def next_statuses(status: str, fulfilment: str) -> set[str]:
    """Where an order of this status and fulfilment may go: TRANSITIONS, with delivery's step
    only for delivery orders, which must take it before they are completed."""
    allowed = set(TRANSITIONS[status])
    if fulfilment == Fulfilment.DELIVERY:
        if status != S.OUT_FOR_DELIVERY:
            allowed.discard(S.COMPLETED)
    else:
        allowed.discard(S.OUT_FOR_DELIVERY)
    return allowed


def order_next_statuses(order: Order) -> set[str]:
    """Where this order may go from here (next_statuses of its status and fulfilment)."""
    return next_statuses(order.status, order.fulfilment)


def _transition(order: Order, to: str, *, actor: Actor, reason: str = "", **fields) -> Order:
    """Move an order one step with a conditional UPDATE: of two racing writers, one wins."""
    if to not in order_next_statuses(order):
        raise TransitionError(
            _("An order that is %(status)s cannot become %(to)s.")
            % {"status": OrderStatus(order.status).label, "to": OrderStatus(to).label}
        )
    now = timezone.now()
    with transaction.atomic():
        moved = Order.objects.filter(pk=order.pk, status=order.status).update(
            status=to, reason=reason[:200], updated_at=now, **fields
        )
        if not moved:
            order.refresh_from_db()
            raise TransitionError(_("This order changed meanwhile; reload and try again."))
        order.status, order.reason, order.updated_at = to, reason[:200], now
        for key, value in fields.items():
            setattr(order, key, value)
        if to in RELEASES_STOCK:
            # Refunded items were restocked or written off when they were refunded.
            for line in order.lines.order_by("product_id", "variant_id"):
                if line.quantity > line.refunded_quantity:
                    catalog.stock_release(
                        product_id=line.product_id,
                        variant_id=line.variant_id,
                        quantity=line.quantity - line.refunded_quantity,
                    )
        record(order=order, status=to, actor=actor)
    return order


def order_awaits_payment(order: Order) -> bool:
    """Waiting for its money (past its time too, until the expiry moves it)."""
    return order.status == S.PENDING_PAYMENT


def order_payable(order: Order) -> None:
    """Raise OrderingError unless the order is waiting for payment and in time."""
    if order.status != S.PENDING_PAYMENT:
        raise OrderingError(_("This order is not waiting for payment."))
    if order.expires_at <= timezone.now():
        raise OrderingError(_("This order has expired. Please order again."))


def order_mark_paid(*, order: Order, amount: int, currency: str, tip: int = 0) -> Order:
    """The money for the order arrived (a verified provider event, or stored value), with
    the tips paid on top of it.

    Raises TransitionError when the order cannot be paid now (expired or cancelled, or paid,
    meanwhile), OrderingError when the money is not the order's total.
    """
    if amount != order.total or currency != order.currency:
        log.error("payment for order %s does not match its total", order.public_id)
        raise OrderingError(_("The payment does not match the order's total."))
    return _transition(order, S.PAID, actor=SYSTEM, paid_at=timezone.now(), tip=tip)


def order_was_paid(order: Order) -> bool:
    """Whether the order has been paid (whatever happened to it since)."""
    if order.status == S.PLACED:  # a table's round: its money is the bill's, never its own
        return False
    return order.status in ACTIVE or order.status == S.COMPLETED


def order_payment_failed(*, order: Order) -> None:
    """A payment attempt failed: the order stays payable; live pages hear about it."""
    record(order=order, status=order.status, actor=SYSTEM)


def order_accept(*, order: Order, actor: Actor) -> Order:
    return _transition(order, S.ACCEPTED, actor=actor)


def order_awaits_ready(order: Order) -> bool:
    """Paid and not ready yet: "tell me when it's ready" still means something."""
    return order.status in (S.PLACED, S.PAID, S.ACCEPTED)


def order_mark_ready(*, order: Order, actor: Actor) -> Order:
    return _transition(order, S.READY, actor=actor)


def order_awaits_dispatch(order: Order) -> bool:
    """A delivery order paid and not on its way yet: "tell me when it's on its way" still
    means something."""
    return order.fulfilment == Fulfilment.DELIVERY and order.status in (
        S.PAID,
        S.ACCEPTED,
        S.READY,
    )


def order_out_for_delivery(*, order: Order, actor: Actor) -> Order:
    """A delivery order leaves the shop (from accepted or ready)."""
    return _transition(order, S.OUT_FOR_DELIVERY, actor=actor)


def order_complete(*, order: Order, actor: Actor) -> Order:
    return _transition(order, S.COMPLETED, actor=actor)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise OrderingError(_("Give the customer a reason."))
    return reason


def order_reject(*, order: Order, reason: str, actor: Actor) -> Order:
    return _transition(order, S.REJECTED, actor=actor, reason=_reason(reason))


def order_cancel(*, order: Order, reason: str, actor: Actor) -> Order:
    """Cancel by the merchant (with a reason; a paid order is refunded)."""
    return _transition(order, S.CANCELLED, actor=actor, reason=_reason(reason))


def order_cancel_unpaid(*, order: Order) -> Order:
    """The customer gives up before paying."""
    if order.status != S.PENDING_PAYMENT:
        raise TransitionError(_("Only an unpaid order can be cancelled here."))
    return _transition(order, S.CANCELLED, actor=CUSTOMER, reason="")


def order_expire(*, order: Order) -> bool:
    """Expire an unpaid order whose time is up; gives its stock back. Safe to call twice:
    False when it is not due, or moved meanwhile."""
    if order.status != S.PENDING_PAYMENT or order.expires_at > timezone.now():
        return False
    try:
        _transition(order, S.EXPIRED, actor=SYSTEM)
    except TransitionError:
        return False
    return True


def orders_expire_due_ids(*, limit: int = 500) -> list[int]:
    """Unpaid orders past their time, oldest first (the sweep under the per-order task)."""
    return list(
        Order.objects.filter(status=S.PENDING_PAYMENT, expires_at__lte=timezone.now())
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
