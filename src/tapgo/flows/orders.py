"""An order's life with what each step sets off in other domains.

ordering moves the order (one conditional UPDATE: of two racing writers, one wins), gives
stock back and records the event; in the same transaction this flow then

- gives the money back: a paid order rejected or cancelled is refunded in full; an unpaid
  one that ends (expired, cancelled) has its open payment attempts cancelled and what it had
  taken already (the card part of a split payment) given back;
- gives a member the order's points when it is paid, and takes them back in proportion to
  what a cancellation refunds (flows/membership.py); posts the order's discount to the books
  beside its money when paid, and gives it back when the order is refunded (flows/sales.py);
- tells the customer: paying grants one message about the order; ready (out for delivery,
  for a delivery order) and cancelled use it (or the customer's explicit consent);
  messaging's outbox delivers after commit;
- ends what was allowed about an order that is over;
- moves the order's coupon (flows/coupons.py): used when paid, released when it ends
  unpaid, returned when the whole paid order is refunded.

Lock order: the order's row (ordering's UPDATE takes it), then its intents (payments), then
the member's row (membership).
"""

from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tapgo.core import links
from tapgo.core import translations as texts
from tapgo.core.actors import Actor
from tapgo.flows import coupons as coupon_flows
from tapgo.flows import membership as points
from tapgo.flows import offers as offer_flows
from tapgo.flows import sales, tables
from tapgo.identity.models import Customer
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.messaging.models import ConsentSubject, Template
from tapgo.miniapps.models import MiniApp
from tapgo.ordering import locks as ordering_locks
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
    if to == S.PAID:
        sales.order_sold(order=order)
        points.order_paid(order=order)
    if was in ordering.ACTIVE and to in (S.CANCELLED, S.REJECTED):
        purpose, purpose_id = tables.round_money(order)
        refunds = []
        if purpose == Purpose.ORDER:
            refunds = payments.refund_all(
                purpose=purpose, purpose_id=purpose_id, reason=order.reason
            )
        elif order.paid_at:  # a settled table's round: what is left of it, from the shares
            left = min(
                order.total - ordering.refunded_value(order),
                payments.refundable(purpose, purpose_id),
            )
            if left > 0:
                refunds = payments.refund_purpose(
                    purpose=purpose, purpose_id=purpose_id, amount=left, reason=order.reason
                )
        elif order.group_id:  # a round not paid yet: the bill is that much less
            ordering.group_bump(group_id=order.group_id)
        sales.order_refunded(order=order, refunds=refunds, whole=True)
        points.order_refunded(order=order, refunds=refunds)
        if purpose == Purpose.ORDER and order.paid_at:  # refunded whole: its coupon back
            offer_flows.order_refunded_whole(order=order)
    if was == S.PENDING_PAYMENT and to in ordering.RELEASES_STOCK:
        payments.open_attempts_cancel(purpose=Purpose.ORDER, purpose_id=order.pk)
        payments.give_back_all(purpose=Purpose.ORDER, purpose_id=order.pk)
        offer_flows.order_ended_unpaid(order=order)
    if to == S.PAID:
        coupon_flows.order_paid(order=order)
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
        _grant(order)
        return
    key: TemplateKey | None = None
    values: dict[str, object] = {}
    if to == S.READY and order.fulfilment != Fulfilment.DELIVERY:
        # A delivery order's news is that it is on its way, not that it can be collected.
        key = ready_key(order)
        if key == TemplateKey.ORDER_READY_TABLE:
            values = {"table": order.table_label}
    elif to == S.OUT_FOR_DELIVERY:
        key, values = TemplateKey.ORDER_OUT_FOR_DELIVERY, {"eta": order.delivery_eta_minutes or 0}
    elif was in ordering.ACTIVE and to in {S.CANCELLED, S.REJECTED}:
        refund = {"amount": order.total, "currency": order.currency}
        key, values = TemplateKey.ORDER_CANCELLED, {"refund": refund, "reason": order.reason or "—"}
    if key:
        app = MiniApp.objects.select_related("merchant").get(pk=order.app_id)
        # The app's name in the language the customer ordered in (else the merchant's).
        name = texts.of(app, "name", order.language or app.merchant.language)
        messaging.notify_quietly(
            customer=Customer.objects.get(pk=order.customer_id),
            app=app,
            key=key,
            values={"order": order.number, "app": name, **values},
            link=links.order(app.slug, order.public_id),
            subject=subject,
            dedupe=f"order:{order.public_id}:{key}",
        )
    if not ordering.TRANSITIONS[to]:  # the order is over, and so is what was allowed about it
        messaging.consents_end(subject=subject)


def order_sent(*, order: Order) -> None:
    """A table's round went to the kitchen unpaid (the table pays after eating): sending it
    grants one message about it, as paying does."""
    _grant(order)


def _grant(order: Order) -> None:
    messaging.consent_grant(
        merchant_id=order.merchant_id,
        customer_id=order.customer_id,
        app_id=order.app_id,
        subject=ConsentSubject(Template.Subject.ORDER, order.public_id),
        language=order.language,
    )


def _move(order: Order, step: Callable[[], object]) -> Order:
    with _effects(order):
        step()
    return order


def order_accept(*, order: Order, actor: Actor) -> Order:
    return _move(order, lambda: ordering.order_accept(order=order, actor=actor))


def order_mark_ready(*, order: Order, actor: Actor) -> Order:
    return _move(order, lambda: ordering.order_mark_ready(order=order, actor=actor))


def order_out_for_delivery(*, order: Order, actor: Actor) -> Order:
    """A delivery order leaves the shop; the customer is told it is on its way."""
    return _move(order, lambda: ordering.order_out_for_delivery(order=order, actor=actor))


def awaited_notice(order: Order) -> TemplateKey | None:
    """The message a customer may ask for on the order's page while it is still to come:
    that a delivery order is on its way, or that another is ready; None once it is past."""
    if ordering.order_awaits_dispatch(order):
        return TemplateKey.ORDER_OUT_FOR_DELIVERY
    if order.fulfilment != Fulfilment.DELIVERY and ordering.order_awaits_ready(order):
        return ready_key(order)
    return None


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


def order_mark_paid(*, order: Order, amount: int, currency: str, tip: int = 0) -> bool:
    """The order's money arrived (and the tips paid with it). False when it can no longer be
    paid (expired or cancelled meanwhile, or the amount is not its total): the caller then
    gives the money back."""
    try:
        with _effects(order):
            # The lock order: the order's row first; under it, its coupon must still be good
            # (its offer not stopped, the coupon not expired): else not at this price.
            ordering_locks.lock_order(order.pk)
            coupon_flows.order_coupon_payable(order)
            ordering.order_mark_paid(order=order, amount=amount, currency=currency, tip=tip)
    except ordering.TransitionError:
        order.refresh_from_db()
        return ordering.order_was_paid(order)
    except ordering.OrderingError:
        return False
    return True


class _Confirming(Exception):
    """The order's payment is being confirmed: its expiry is rolled back."""


def order_expire(*, order: Order) -> bool:
    """Expire an unpaid order whose time is up: its stock and any money it took go back.
    Safe to call twice: False when it is not due or moved meanwhile.

    An order whose payment the customer finished at the provider in time, whose word has not
    come yet (a webhook held up by a crash or a slow provider), waits for it up to
    PAYMENT_CONFIRM_SECONDS past its time (reconciliation asks the provider meanwhile): the
    word then marks it paid instead of finding it expired and giving the money back."""
    confirm_by = order.expires_at + timedelta(seconds=settings.PAYMENT_CONFIRM_SECONDS)
    try:
        with transaction.atomic():
            was = order.status
            if not ordering.order_expire(order=order):  # takes the order's row
                return False
            confirming = payments.unstarted_attempts_cancel(
                purpose=Purpose.ORDER, purpose_id=order.pk
            )
            if confirming and timezone.now() < confirm_by:
                raise _Confirming
            _after(order, was)
    except _Confirming:
        order.refresh_from_db()
        return False
    return True


def orders_expire_due(*, limit: int = 500) -> int:
    """Sweep for unpaid orders past their time (a safety net under the per-order task)."""
    due = Order.objects.filter(pk__in=ordering.orders_expire_due_ids(limit=limit)).order_by("id")
    return sum(order_expire(order=order) for order in due)
