"""Background work of the flows: an unpaid order expires when its time is up (its stock and
any money it took go back; see flows/orders.py). The worker's sweep (`tapgo worker`) is the
safety net under the per-order task."""

from django.tasks import task

from tapgo.core.tasks import enqueue_at
from tapgo.flows.membership import levels_recompute
from tapgo.flows.orders import order_expire
from tapgo.ordering.models import Order


@task()
def expire_order(order_id: int) -> bool:
    order = Order.objects.filter(pk=order_id).first()
    return bool(order and order_expire(order=order))


def schedule_expiry(order: Order) -> None:
    """Run expire_order when the order's time is up."""
    enqueue_at(expire_order, order.expires_at, order.pk)


@task()
def recompute_levels() -> int:
    """Every member's level recomputed, with the coupons of the levels reached (what the
    worker's sweep does daily; membership.tasks.recompute_levels issues no coupons)."""
    return levels_recompute()
