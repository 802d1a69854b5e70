"""The console's order history: every order of the merchant, newest first, filtered by days
(the store's), status, fulfilment, table and way of paying, searched by pickup number,
customer email or product, a keyset page at a time; today's sales above it; and the filtered
list as a CSV file, streamed.

The query string is the whole state (bookmarkable): a bad value is said plainly and left
out, the rest still applies. What the list reads is flows/history.py."""

import csv
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tapgo.console import forms
from tapgo.console.views.base import merchant_view, render_console
from tapgo.core.money import amount_input, format_money
from tapgo.core.text import spreadsheet_safe
from tapgo.flows import history
from tapgo.ordering.models import Fulfilment, OrderStatus

FILTERS = ("from", "to", "status", "fulfilment", "table", "method", "q")


def _form(request):
    form = forms.HistoryForm(request.GET)
    form.is_valid()
    return form


def _filters(values: dict) -> history.HistoryFilters:
    return history.HistoryFilters(
        first=values.get("from"),
        last=values.get("to"),
        status=values.get("status", ""),
        fulfilment=values.get("fulfilment", ""),
        table=values.get("table", ""),
        method=values.get("method", ""),
        search=values.get("q", ""),
    )


def _query(values: dict, **more) -> str:
    """The query string of these filters (days as 2026-12-07), with `more` on top."""
    pairs = [(name, values[name]) for name in FILTERS if values.get(name)]
    pairs = [(name, v.isoformat() if hasattr(v, "isoformat") else v) for name, v in pairs]
    pairs += [(name, value) for name, value in more.items() if value]
    return "?" + urlencode(pairs) if pairs else "?"


def _errors(form) -> list[str]:
    out = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = field.label if field is not None and field.label else None
        out += [f"{label}: {error}" if label else str(error) for error in errors]
    return out


@dataclass(frozen=True)
class Row:
    """One order as the list shows it, its words and figures made once per page in Python
    (twenty-five rows of template filters cost several times more)."""

    public_id: str
    number: str
    placed: str
    status: str
    status_label: str
    where: str
    customer: str
    guest: bool
    items: str
    total: str
    refunded: str
    methods: str


def _rows(orders, tz) -> list[Row]:
    statuses = {value: str(label) for value, label in OrderStatus.choices}
    ways = {value: str(label) for value, label in Fulfilment.choices}
    amounts: dict[tuple[int, str], str] = {}

    def money(amount: int, currency: str) -> str:
        if (amount, currency) not in amounts:
            amounts[amount, currency] = format_money(amount, currency)
        return amounts[amount, currency]

    rows = []
    for order in orders:
        where = ways.get(order.fulfilment, order.fulfilment)
        if order.table_label:
            where += " · " + _("Table %(label)s") % {"label": order.table_label}
        elif order.pickup_name:
            where += " · " + order.pickup_name
        rows.append(
            Row(
                public_id=order.public_id,
                number=order.number,
                placed=timezone.localtime(order.created_at, tz).strftime("%Y-%m-%d %H:%M"),
                status=order.status,
                status_label=statuses.get(order.status, order.status),
                where=where,
                customer=_customer(order),
                guest=not order.customer.email,
                items=order.items or "",
                total=money(order.total, order.currency),
                refunded=money(order.refunded, order.currency) if order.refunded else "–",
                methods=" + ".join(order.methods) or "–",
            )
        )
    return rows


def _customer(order) -> str:
    """The customer as the console shows customers: their email when they have one, else
    the last characters of their code."""
    email = order.customer.email
    return email or "••••" + order.customer.public_id[-4:]


@merchant_view()
@require_GET
def orders(request, merchant):
    form = _form(request)
    values = form.values()
    tz = request.store.tz
    page = history.history_page(
        merchant, filters=_filters(values), tz=tz, after=values.get("after", "")
    )
    today = history.day_summary(merchant, tz=tz)
    errors = _errors(form)
    if page.stale:
        errors.append(_("That page of the list is out of date: here are the newest orders."))
    base = reverse("console:orders", args=[merchant.public_id])
    yesterday = today.day.fromordinal(today.day.toordinal() - 1)
    week_ago = today.day.fromordinal(today.day.toordinal() - 6)
    return render_console(
        request,
        "console/orders.html",
        {
            "form": form,
            "page": page,
            "rows": _rows(page.orders, tz),
            "today": today,
            "errors": errors,
            "filtered": any(values.get(name) for name in FILTERS),
            "newest_url": base + _query(values) if values.get("after") else "",
            "older_url": base + _query(values, after=page.after) if page.after else "",
            "csv_url": reverse("console:orders_csv", args=[merchant.public_id]) + _query(values),
            "days": [
                (_("Today"), base + _query({"from": today.day, "to": today.day})),
                (_("Yesterday"), base + _query({"from": yesterday, "to": yesterday})),
                (_("Last 7 days"), base + _query({"from": week_ago, "to": today.day})),
            ],
            "today_url": base + _query({"from": today.day, "to": today.day}),
        },
        status=400 if form.errors else 200,
    )


class _Line:
    """csv.writer's file: each row written comes back as its text, to stream."""

    def write(self, text: str) -> str:
        return text


@merchant_view()
@require_GET
def orders_csv(request, merchant):
    """Every order the filters match (not only a page), newest first, streamed in batches."""
    form = _form(request)
    values = form.values()
    if form.errors:  # the list says what is wrong with the filters
        return HttpResponseRedirect(
            reverse("console:orders", args=[merchant.public_id]) + "?" + request.GET.urlencode()
        )
    tz, language, currency = request.store.tz, translation.get_language(), merchant.currency
    rows = history.history_rows(merchant, filters=_filters(values), tz=tz)
    writer = csv.writer(_Line())

    def lines():
        # The response streams after the view returns: its time zone and language again.
        with timezone.override(tz), translation.override(language):
            yield "\ufeff"  # so spreadsheet programs read UTF-8 (Chinese headers)
            yield writer.writerow(
                [
                    _("Number"),
                    _("Placed"),
                    _("Status"),
                    _("Fulfilment"),
                    _("Table"),
                    _("Customer"),
                    _("Items"),
                    _("Total (%(currency)s)") % {"currency": currency},
                    _("Tip (%(currency)s)") % {"currency": currency},
                    _("Refunded (%(currency)s)") % {"currency": currency},
                    _("Paid with"),
                    _("Order id"),
                ]
            )
            for order in rows:
                cells = [
                    order.number,
                    timezone.localtime(order.created_at).strftime("%Y-%m-%d %H:%M"),
                    order.get_status_display(),
                    order.get_fulfilment_display(),
                    order.table_label,
                    _customer(order),
                    order.items or "",
                    amount_input(order.total, order.currency),
                    amount_input(order.tip, order.currency),
                    amount_input(order.refunded, order.currency),
                    " + ".join(order.methods),
                    order.public_id,
                ]
                yield writer.writerow([spreadsheet_safe(str(cell)) for cell in cells])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    day = timezone.localtime(timezone.now()).date().isoformat()
    response["Content-Disposition"] = content_disposition_header(
        True, f"orders-{merchant.public_id}-{day}.csv"
    )
    return response
