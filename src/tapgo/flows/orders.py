"""An order's life with what each step sets off in other domains.

ordering moves the order (one conditional UPDATE: of two racing writers, one wins), gives
stock back and records the event; in the same transaction this flow then

- gives the money back: a paid order rejected or cancelled is refunded in full; an unpaid
  one that ends (expired, cancelled) has its open payment attempts cancelled and what it had
  taken already (the card part of a split payment) given back;
- tells the customer: paying grants one message about the order; ready and cancelled use
  it (or the customer's explicit consent); messaging's outbox delivers after commit;
- ends what was allowed about an order that is over.

Lock order: the order's row (ordering's UPDATE takes it), then its intents (payments).
"""

from collections.abc import Callable
from contextlib import contextmanager

from django.db import transaction

from tapgo.core import links
from tapgo.core.actors import Actor
from tapgo.identity.models import Customer
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import ConsentSubject, Template
from tapgo.miniapps.models import MiniApp
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Fulfilment, Order, OrderStatus
from tapgo.payments import services as payments
from tapgo.payments.models import Purpose

S = OrderStatus


@contextmanager
def _effects(order: Order):
    """Run an ordering transition, then its effects, all in one transaction."""
    with transaction.atomic():
        was = order.status
        yield
        _after(order, was)


def _after(order: Order, was: str) -> None:
    to = order.status
    if was == to:
        return
    if was in ordering.ACTIVE and to in (S.CANCELLED, S.REJECTED):
        payments.refund_all(purpose=Purpose.ORDER, purpose_id=order.pk, reason=order.reason)
    if was == S.PENDING_PAYMENT and to in ordering.RELEASES_STOCK:
        payments.open_attempts_cancel(purpose=Purpose.ORDER, purpose_id=order.pk)
        payments.give_back_all(purpose=Purpose.ORDER, purpose_id=order.pk)
    _notify(order, was, to)


def ready_key(order: Order) -> TemplateKey:
    """The template that tells the customer the order is ready: a dine-in order is brought to
    the table, a pickup order is collected at the counter."""
    if order.fulfilment == Fulfilment.DINE_IN:
        return TemplateKey.ORDER_READY_TABLE
    return TemplateKey.ORDER_READY


def _notify(order: Order, was: str, to: str) -> None:
    """The customer's messages about their order, written in the transaction of the change
    (messaging's outbox delivers them after commit)."""
    subject = ConsentSubject(Template.Subject.ORDER, order.public_id)
    if to == S.PAID:  # paying grants one message about the order, in the order's language
        messaging.consent_grant(
            merchant_id=order.merchant_id,
            customer_id=order.customer_id,
            app_id=order.app_id,
            subject=subject,
            language=order.language,
        )
        return
    key: TemplateKey | None = None
    values: dict[str, object] = {}
    if to == S.READY:
        key = ready_key(order)
        if key == TemplateKey.ORDER_READY_TABLE:
            values = {"table": order.table_label}
    elif was in ordering.ACTIVE and to in {S.CANCELLED, S.REJECTED}:
        refund = {"amount": order.total, "currency": order.currency}
        key, values = TemplateKey.ORDER_CANCELLED, {"refund": refund, "reason": order.reason or "—"}
    if key:
        app = MiniApp.objects.get(pk=order.app_id)
        messaging.notify_quietly(
            customer=Customer.objects.get(pk=order.customer_id),
            app=app,
            key=key,
            values={"order": order.number, "app": app.name, **values},
            link=links.order(app.slug, order.public_id),
            subject=subject,
            dedupe=f"order:{order.public_id}:{key}",
        )
    if not ordering.TRANSITIONS[to]:  # the order is over, and so is what was allowed about it
        messaging.consents_end(subject=subject)


def _move(order: Order, step: Callable[[], object]) -> Order:
    with _effects(order):
        step()
    return order


def order_accept(*, order: Order, actor: Actor) -> Order:
    return _move(order, lambda: ordering.order_accept(order=order, actor=actor))


def order_mark_ready(*, order: Order, actor: Actor) -> Order:
    return _move(order, lambda: ordering.order_mark_ready(order=order, actor=actor))


def order_complete(*, order: Order, actor: Actor) -> Order:
    return _move(order, lambda: ordering.order_complete(order=order, actor=actor))


def order_reject(*, order: Order, reason: str, actor: Actor) -> Order:
    """Reject a new order (with a reason the customer sees); it is refunded."""
    return _move(order, lambda: ordering.order_reject(order=order, reason=reason, actor=actor))


def order_cancel(*, order: Order, reason: str, actor: Actor) -> Order:
    """Cancel by the merchant (with a reason; a paid order is refunded)."""
    return _move(order, lambda: ordering.order_cancel(order=order, reason=reason, actor=actor))


def order_cancel_unpaid(*, order: Order) -> Order:
    """The customer gives up before paying."""
    return _move(order, lambda: ordering.order_cancel_unpaid(order=order))


def order_mark_paid(*, order: Order, amount: int, currency: str) -> bool:
    """The order's money arrived. False when it can no longer be paid (expired or cancelled
    meanwhile, or the amount is not its total): the caller then gives the money back."""
    try:
        _move(
            order, lambda: ordering.order_mark_paid(order=order, amount=amount, currency=currency)
        )
    except ordering.TransitionError:
        order.refresh_from_db()
        return ordering.order_was_paid(order)
    except ordering.OrderingError:
        return False
    return True


def order_expire(*, order: Order) -> bool:
    """Expire an unpaid order whose time is up: its stock and any money it took go back.
    Safe to call twice: False when it is not due or moved meanwhile."""
    with transaction.atomic():
        was = order.status
        if not ordering.order_expire(order=order):
            return False
        _after(order, was)
    return True


def orders_expire_due(*, limit: int = 500) -> int:
    """Sweep for unpaid orders past their time (a safety net under the per-order task)."""
    due = Order.objects.filter(pk__in=ordering.orders_expire_due_ids(limit=limit)).order_by("id")
    return sum(order_expire(order=order) for order in due)
