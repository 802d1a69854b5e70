"""Ordering's services, by sub-domain; the public names are all here.

- cart.py: the cart, one per customer per app, decided by the database under concurrent adds;
- checkout.py: the cart becomes an order (stock, pickup number, door, time to pay);
- transitions.py: the order's state machine (TRANSITIONS), each step with its actor;
- refunds.py: which items a refund takes back and what they cost;
- merging.py: a guest's carts and orders becoming an account's;
- selectors.py: what the interfaces show (access by public id, the board, the feed, the
  actions staff can take next, the timeline);
- history.py: the merchant's order history (filters, search, a keyset page), what sales
  count;
- base.py: the errors, text checks and the event record they share.

What an order's steps set off in other domains is flows/ (orders, paying, refunds).
"""

from tapgo.ordering.services.base import OrderingError, TransitionError
from tapgo.ordering.services.cart import (
    CartView,
    CartViewLine,
    cart_add,
    cart_set_note,
    cart_set_quantity,
    cart_set_table,
    cart_view,
)
from tapgo.ordering.services.checkout import order_place
from tapgo.ordering.services.history import (
    PAGE_SIZE,
    Search,
    day_bounds,
    order_exists,
    orders_after,
    orders_history,
    orders_paid_between,
    search_terms,
)
from tapgo.ordering.services.merging import carts_move, orders_move, orders_share_repoint
from tapgo.ordering.services.refunds import refund_check, refund_items_take, refund_restocks
from tapgo.ordering.services.selectors import (
    ORDER_ID_LENGTH,
    OrderAction,
    TimelineEntry,
    access_order_for_customer,
    access_order_for_merchant,
    board_orders,
    events_after,
    last_event_id,
    order_actions,
    order_timeline,
    orders_of_customer,
)
from tapgo.ordering.services.transitions import (
    ACTIVE,
    RELEASES_STOCK,
    TRANSITIONS,
    order_accept,
    order_awaits_payment,
    order_awaits_ready,
    order_cancel,
    order_cancel_unpaid,
    order_complete,
    order_expire,
    order_mark_paid,
    order_mark_ready,
    order_payable,
    order_payment_failed,
    order_reject,
    order_was_paid,
    orders_expire_due_ids,
)

__all__ = [
    "ACTIVE",
    "ORDER_ID_LENGTH",
    "PAGE_SIZE",
    "RELEASES_STOCK",
    "TRANSITIONS",
    "CartView",
    "CartViewLine",
    "OrderAction",
    "OrderingError",
    "Search",
    "TimelineEntry",
    "TransitionError",
    "access_order_for_customer",
    "access_order_for_merchant",
    "board_orders",
    "cart_add",
    "cart_set_note",
    "cart_set_quantity",
    "cart_set_table",
    "cart_view",
    "carts_move",
    "day_bounds",
    "events_after",
    "last_event_id",
    "order_accept",
    "order_actions",
    "order_awaits_payment",
    "order_awaits_ready",
    "order_cancel",
    "order_cancel_unpaid",
    "order_complete",
    "order_exists",
    "order_expire",
    "order_mark_paid",
    "order_mark_ready",
    "order_payable",
    "order_payment_failed",
    "order_place",
    "order_reject",
    "order_timeline",
    "order_was_paid",
    "orders_after",
    "orders_expire_due_ids",
    "orders_history",
    "orders_move",
    "orders_of_customer",
    "orders_paid_between",
    "orders_share_repoint",
    "refund_check",
    "refund_items_take",
    "refund_restocks",
    "search_terms",
]
