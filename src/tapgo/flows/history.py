"""The console's order history, read across domains: ordering's orders (filtered, searched,
newest first, a keyset page at a time) with what payments says of each (what it was paid
with, what was refunded of it, and the filter by way of paying); today's sales; and an
order's whole timeline: its steps (ordering), its refunds (payments) and what the customer
was told about it (messaging).

Reads only: the interfaces show what these return, and the rules of what counts live here
and in the domains, not in a view or a template.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from django.db.models import Count, OuterRef, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core.money import format_money
from tapgo.messaging import services as messaging
from tapgo.messaging.models import ConsentSubject, Template
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order
from tapgo.payments import services as payments
from tapgo.payments.models import Purpose

CSV_BATCH = 500  # orders read per query while a CSV export streams


@dataclass(frozen=True)
class HistoryFilters:
    """What the history is narrowed to; every field empty shows every order. Days are the
    store's (its time zone), both ends included."""

    first: date | None = None
    last: date | None = None
    status: str = ""
    fulfilment: str = ""
    table: str = ""
    method: str = ""  # a way to pay: a provider's name or payments.WALLET
    search: str = ""  # a pickup number, a whole email address, or part of a product's name


def order_history(merchant, *, filters: HistoryFilters, tz: tzinfo) -> QuerySet[Order]:
    """The merchant's orders matching `filters`, newest first, each with its customer, its
    items (`items`), the ways it was paid (`methods_used`, names) and what was refunded of it
    (`refunded`): one query per page, however many rows."""
    start, end = ordering.day_bounds(filters.first, filters.last, tz)
    orders = ordering.orders_history(
        merchant,
        start=start,
        end=end,
        status=filters.status,
        fulfilment=filters.fulfilment,
        table=filters.table,
        search=ordering.search_terms(filters.search),
    )
    if filters.method:
        orders = orders.filter(payments.paid_with(Purpose.ORDER, OuterRef("pk"), filters.method))
    return orders.annotate(
        methods_used=payments.methods_used(Purpose.ORDER, OuterRef("pk")),
        refunded=payments.refunded_of(Purpose.ORDER, OuterRef("pk")),
    )


def _labelled(orders) -> list[Order]:
    for order in orders:
        names = dict.fromkeys((order.methods_used or "").split(","))  # once each, in order
        order.methods = [payments.method_label(name) for name in names if name]
    return orders


@dataclass
class HistoryPage:
    orders: list[Order]
    after: str = ""  # the public id to read the next (older) page after; "" at the end
    stale: bool = False  # the page asked for started after an order that is not the merchant's


def history_page(
    merchant,
    *,
    filters: HistoryFilters,
    tz: tzinfo,
    after: str = "",
    size: int | None = None,
) -> HistoryPage:
    """One page of the history: the `size` (PAGE_SIZE) orders after the order `after` (a
    public id; "" for the newest). One query; two more only when `after` names no order of
    the merchant's, when the page is the first one again, marked stale."""
    size = size or ordering.PAGE_SIZE
    orders = order_history(merchant, filters=filters, tz=tz)
    page = orders
    if after:
        page = ordering.orders_after(orders, merchant=merchant, after=after)
    rows = list(page[: size + 1])
    stale = False
    if after and not rows and not ordering.order_exists(merchant=merchant, public_id=after):
        stale = True
        rows = list(orders[: size + 1])
    more = len(rows) > size
    rows = _labelled(rows[:size])
    return HistoryPage(orders=rows, after=rows[-1].public_id if more else "", stale=stale)


def history_rows(merchant, *, filters: HistoryFilters, tz: tzinfo) -> Iterator[Order]:
    """Every order matching `filters`, newest first, read CSV_BATCH at a time by the same
    keyset as the pages (no long-held cursor, no OFFSET)."""
    orders = order_history(merchant, filters=filters, tz=tz)
    after = ""
    while True:
        batch = ordering.orders_after(orders, merchant=merchant, after=after) if after else orders
        rows = _labelled(list(batch[:CSV_BATCH]))
        yield from rows
        if len(rows) < CSV_BATCH:
            return
        after = rows[-1].public_id


# --- today's sales ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DaySummary:
    """A day's sales: the paid orders placed that day (rejected and cancelled ones were
    refunded in full and are not counted), what they cost (`sales`), what has been refunded
    of them since (`refunded`), and what is left (`revenue`) per order (`average`)."""

    day: date
    orders: int
    sales: int
    refunded: int
    currency: str

    @property
    def revenue(self) -> int:
        return self.sales - self.refunded

    @property
    def average(self) -> int:
        """The average ticket, rounded half up to the minor unit; 0 with no orders."""
        return (2 * self.revenue + self.orders) // (2 * self.orders) if self.orders else 0


def day_summary(merchant, *, tz: tzinfo, day: date | None = None) -> DaySummary:
    """The sales of `day` (today by default) in the time zone `tz`, in one query."""
    day = day or timezone.localtime(timezone.now(), tz).date()
    start, end = ordering.day_bounds(day, day, tz)
    assert start is not None and end is not None
    figures = (
        ordering.orders_paid_between(merchant, start=start, end=end)
        .annotate(refunded_part=payments.refunded_of(Purpose.ORDER, OuterRef("pk")))
        .aggregate(orders=Count("pk"), sales=Sum("total"), refunded=Sum("refunded_part"))
    )
    return DaySummary(
        day=day,
        orders=figures["orders"] or 0,
        sales=figures["sales"] or 0,
        refunded=figures["refunded"] or 0,
        currency=merchant.currency,
    )


# --- an order's timeline ----------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "step", "refund" or "message"
    label: str  # what happened: "Paid", "Refunded ¥26.00", "Told the customer: Ready"
    by: str = ""  # who: a staff member, "The customer", "Automatic"; "" when not recorded
    details: list[str] = field(default_factory=list)  # reason, way paid, channels, status


def order_timeline(order: Order) -> list[TimelineEntry]:
    """Everything that happened to the order, oldest first: its steps with who took them,
    each refund (amount, way paid, reason, status, who asked) and each message the customer
    was sent about it (which one, by which channels, how each went)."""
    entries = [
        TimelineEntry(step.at, "step", str(step.status), step.by)
        for step in ordering.order_timeline(order)
    ]
    for refund in payments.refunds_of(Purpose.ORDER, order.pk).select_related(
        "intent", "created_by"
    ):
        amount = format_money(refund.amount, refund.currency)
        details = [payments.method_label(refund.intent.provider), refund.get_status_display()]
        if refund.reason:
            details.insert(0, refund.reason)
        if refund.restock:
            details.append(_("back in stock"))
        entries.append(
            TimelineEntry(
                refund.created_at,
                "refund",
                _("Refunded %(amount)s") % {"amount": amount},
                refund.created_by.email if refund.created_by else "",
                details,
            )
        )
    subject = ConsentSubject(Template.Subject.ORDER, order.public_id)
    for message in messaging.messages_about(merchant=order.merchant_id, subject=subject):
        channels = [
            _("%(channel)s: %(status)s")
            % {"channel": d.get_channel_display(), "status": d.get_status_display()}
            for d in message.deliveries.all()
        ]
        name = messaging.template_name(message.template)
        entries.append(
            TimelineEntry(
                message.created_at,
                "message",
                _("Told the customer: %(message)s") % {"message": name},
                details=channels,
            )
        )
    # Steps before what they set off at the same instant (a cancel, then its refund).
    order_of = {"step": 0, "refund": 1, "message": 2}
    return sorted(entries, key=lambda e: (e.at, order_of[e.kind]))
