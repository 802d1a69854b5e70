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
    """Run expire_order when the order's time is up; the worker's sweep is the safety net."""
    if not expire_order.get_backend().supports_defer:
        return  # e.g. the immediate backend of tests: the sweep alone expires orders
    try:
        expire_order.using(run_after=order.expires_at).enqueue(order.pk)
    except Exception:
        log.exception("could not schedule the expiry of order %s", order.pk)
