"""A merchant's order history: every order, newest first, filtered and searched, read a page at
a time with a keyset on (created_at, id), and today's figures.

What the orders were paid with and what was refunded on them is payments' to say: the flow
that shows the history (flows/history.py) adds those to the queries made here.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.db import connection
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, StringAgg, Subquery, Value
from django.db.models.functions import Cast, Concat

from tapgo.ordering.models import PAID_STATUSES, Order, OrderLine

# A pickup number as called out at the counter ("A003", "a3", "3"): a letter and digits.
NUMBER = re.compile(r"^([A-Za-z]?)(\d{1,6})$")
PAGE_SIZE = 25


@dataclass(frozen=True)
class Search:
    """What one search box's text looks for: a pickup number, a customer's email, or a
    product's name (a number-like text looks for both a number and a name)."""

    number: str = ""
    email: str = ""
    product: str = ""


def search_terms(text: str) -> Search:
    """Read the search box: "A003" (or "a3") is a pickup number, and digits alone ("3") a
    number or part of a product's name; anything with an @ is a whole email address; the
    rest is part of a product's name."""
    text = " ".join(text.split())
    if not text:
        return Search()
    if "@" in text:
        return Search(email=text.lower())
    found = NUMBER.match(text)
    if found:
        letter, digits = found.groups()
        number = f"{(letter or 'A').upper()}{int(digits):03d}"
        # "A3" is a number; "3" may also be part of a product's name.
        return Search(number=number, product="" if letter else text)
    return Search(product=text)


def day_bounds(first: date | None, last: date | None, tz: tzinfo):
    """The instants from the start of `first` to the end of `last` (both included), as days
    in the time zone `tz`; None for an open end."""
    start = datetime.combine(first, time.min, tzinfo=tz) if first else None
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz) if last else None
    return start, end


def _items():
    """The order's lines as one text ("2× Latte, 1× Croissant"), in the order they were
    added where the database can order an aggregate (SQLite before 3.44 keeps the order it
    reads them in: the lines' index, by order then id)."""
    text = Concat(Cast("quantity", CharField()), Value("× "), "name", output_field=CharField())
    ordered: dict[str, Any] = {}
    if connection.features.supports_aggregate_order_by_clause:
        ordered = {"order_by": ("id",)}
    return Subquery(
        OrderLine.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(items=StringAgg(text, Value(", "), **ordered))
        .values("items")
    )


def orders_history(
    merchant,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str = "",
    fulfilment: str = "",
    table: str = "",
    search: Search | None = None,
) -> QuerySet[Order]:
    """The merchant's orders placed in [start, end), newest first, with the filters given and
    each order's customer and items (`items`), in one query."""
    orders = Order.objects.for_merchant(merchant)
    if start is not None:
        orders = orders.filter(created_at__gte=start)
    if end is not None:
        orders = orders.filter(created_at__lt=end)
    if status:
        orders = orders.filter(status=status)
    if fulfilment:
        orders = orders.filter(fulfilment=fulfilment)
    if table:
        orders = orders.filter(table_label=table)
    if search is not None:
        found = Q()
        if search.number:
            found |= Q(number=search.number)
        if search.product:
            lines = OrderLine.objects.filter(order=OuterRef("pk"), name__icontains=search.product)
            found |= Q(Exists(lines))
        if search.email:
            found |= Q(customer__email=search.email)
        if found:
            orders = orders.filter(found)
    return orders.select_related("customer").annotate(items=_items()).order_by("-created_at", "-id")


def orders_after(orders: QuerySet[Order], *, merchant, after: str) -> QuerySet[Order]:
    """The orders that come after the merchant's order `after` (a public id) newest first:
    the keyset (created_at, id), read inside the same query. An id that is not one of the
    merchant's orders leaves nothing (the caller says the link is out of date)."""
    mark = Order.objects.for_merchant(merchant).filter(public_id=after)
    at = Subquery(mark.values("created_at")[:1])
    pk = Subquery(mark.values("pk")[:1])
    # created_at <= at bounds the index's range; the OR breaks ties by id.
    return orders.filter(created_at__lte=at).filter(Q(created_at__lt=at) | Q(pk__lt=pk))


def order_exists(*, merchant, public_id: str) -> bool:
    return Order.objects.for_merchant(merchant).filter(public_id=public_id).exists()


def orders_paid_between(merchant, *, start: datetime, end: datetime) -> QuerySet[Order]:
    """The merchant's orders placed in [start, end) that are paid and stand (a rejected or
    cancelled one was refunded in full): what sales count."""
    return Order.objects.for_merchant(merchant).filter(
        created_at__gte=start, created_at__lt=end, status__in=PAID_STATUSES
    )
