"""The keys of the built-in templates (messaging/library.py), for the code that sends them.

Operators can add templates with other keys in the ops console; those are data, sent by no
code, so they have no name here. A key is a str: it is stored, compared and formatted as its
value ("order_ready").
"""

from enum import StrEnum


class TemplateKey(StrEnum):
    ORDER_PAID = "order_paid"
    ORDER_READY = "order_ready"  # a pickup order: collect it at the counter
    ORDER_READY_TABLE = "order_ready_table"  # a dine-in order: it is brought to the table
    ORDER_OUT_FOR_DELIVERY = "order_out_for_delivery"
    ORDER_CANCELLED = "order_cancelled"
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_REMINDER = "booking_reminder"
    POINTS_CHANGED = "points_changed"
    COUPON_EXPIRING = "coupon_expiring"
    NEW_ARTICLE = "new_article"
