"""Row locks of ordering's tables, for the flows that must hold them (docs/architecture.md,
"Lock order"): an order before its payments, orders in primary-key order."""

from tapgo.ordering.models import Order


def lock_order(order_id: int) -> str:
    """Lock one order's row for this transaction; returns its status as locked."""
    return Order.objects.select_for_update().values_list("status", flat=True).get(pk=order_id)
