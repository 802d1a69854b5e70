"""Background work of ordering: unpaid orders expire and give their stock back."""

import logging

from django.tasks import task

from tapgo.core.tasks import enqueue_at

log = logging.getLogger(__name__)


@task()
def expire_order(order_id: int) -> bool:
    from tapgo.ordering.models import Order
    from tapgo.ordering.services import order_expire

    order = Order.objects.filter(pk=order_id).first()
    return bool(order and order_expire(order=order))


@task()
def expire_due_orders() -> int:
    from tapgo.ordering.services import orders_expire_due

    return orders_expire_due()


def schedule_expiry(order) -> None:
    """Run expire_order when the order's time is up; the worker's sweep is the safety net."""
    enqueue_at(expire_order, order.expires_at, order.pk)
