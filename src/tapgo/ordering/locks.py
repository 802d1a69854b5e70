"""Row locks of ordering's tables, for the flows that must hold them (docs/architecture.md,
"Lock order"): an order or a table's group before their payments, orders in primary-key
order."""

from tapgo.ordering.models import Order, TableGroup


def lock_order(order_id: int) -> str:
    """Lock one order's row for this transaction; returns its status as locked."""
    return Order.objects.select_for_update().values_list("status", flat=True).get(pk=order_id)


def lock_group(group_id: int) -> str:
    """Lock a table group's row (its bill) for this transaction; returns its status."""
    return TableGroup.objects.select_for_update().values_list("status", flat=True).get(pk=group_id)
