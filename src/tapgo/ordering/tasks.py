"""Background work of ordering: unpaid orders expire and give their stock back."""

import logging

from django.tasks import task

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
    try:
        expire_order.using(run_after=order.expires_at).enqueue(order.pk)
    except Exception:  # a backend without deferred runs: the worker's sweep still expires it
        log.exception("could not schedule the expiry of order %s", order.pk)
