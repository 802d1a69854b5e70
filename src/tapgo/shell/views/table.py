"""A table's pages: the bill of a table that pays after eating (its rounds, what is paid, and
each phone's way to pay its part with a tip), a phone's name at the table, and the live feed
the shared cart and the bill listen to.

The rules are ordering's (tables.py) and the flows' (flows/tables.py); this module reads the
form and shows what they say.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tapgo.core import live
from tapgo.core.money import MoneyError, parse_amount
from tapgo.flows import tables as table_flows
from tapgo.identity.middleware import current_customer
from tapgo.miniapps import services as miniapps
from tapgo.ordering import services as ordering
from tapgo.ordering.models import ShareKind
from tapgo.payments import services as payments
from tapgo.shell.views.base import frame, payment_choices, tip_from_form, to_provider

PARTS = range(2, 9)  # the equal splits the page offers


def _group(request, app, *, open_only: bool = True):
    return ordering.group_of(customer=current_customer(request), app=app, open_only=open_only)


def bill_html(request, app, group) -> str:
    """The bill block (the page's live part): rounds, what is paid, the ways to pay."""
    bill = ordering.bill_of(group)
    customer = current_customer(request)
    me = getattr(customer, "pk", None)
    mine = next((s for s in bill.shares if s.customer_id == me and s.status == "open"), None)
    merchant = app.merchant
    context = {
        "app": app,
        "group": group,
        "bill": bill,
        "currency": group.currency,
        "seats": ordering.seats(group),
        "mine": mine,
        "parts": PARTS,
        "kinds": ShareKind,
        "tip_percentages": merchant.tip_percentages if merchant.tips_on else [],
        "methods": payment_choices(merchant),
    }
    return render_to_string("shell/_table_bill.html", context, request=request)


@require_GET
def table_bill(request, slug: str):
    app = miniapps.live_app(slug)
    group = _group(request, app, open_only=False)
    if group is None or not group.pay_after:
        messages.info(request, _("Scan the code on your table to see its bill."))
        return redirect("shell:app", slug=app.slug)
    context = frame(request, app, group=group, bill_html=bill_html(request, app, group))
    return render(request, "shell/table.html", context)


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@require_POST
def table_pay(request, slug: str):
    """A phone pays its part: the kind of share (the remaining, an equal part, its items, an
    amount), a tip, and the way to pay."""
    app = miniapps.live_app(slug)
    back = reverse("shell:table", args=[app.slug])
    customer = current_customer(request)
    group = _group(request, app)
    if group is None or customer is None:
        messages.error(request, _("Scan the code on your table to see its bill."))
        return redirect("shell:app", slug=app.slug)
    kind = request.POST.get("kind", "")
    amount = lines = None
    try:
        if kind == ShareKind.AMOUNT:
            amount = parse_amount(request.POST.get("amount", ""), group.currency)
        if kind == ShareKind.ITEMS:
            lines = {
                key[5:]: _int(value, -1)
                for key, value in request.POST.items()
                if key.startswith("line_") and value not in ("", "0")
            }
    except MoneyError:
        messages.error(request, _("Enter an amount such as 12.50."))
        return redirect(back)
    try:
        share = table_flows.share_choose(
            group=group,
            customer=customer,
            kind=kind,
            parts=_int(request.POST.get("parts")),
            amount=amount,
            lines=lines,
        )
        tip = tip_from_form(request, app.merchant, of=share.amount, currency=group.currency)
        intent = table_flows.share_intent(
            share=share, customer=customer, provider=request.POST.get("method") or None, tip=tip
        )
    except (ordering.OrderingError, payments.PaymentError) as exc:
        messages.error(request, str(exc))
        return redirect(back)
    return to_provider(request, intent, back=back)


@require_POST
def seat_name(request, slug: str):
    app = miniapps.live_app(slug)
    customer = current_customer(request)
    if customer is not None:
        try:
            ordering.seat_set_name(customer=customer, app=app, name=request.POST.get("name", ""))
        except ordering.OrderingError as exc:
            messages.error(request, str(exc))
    target = "shell:table" if request.POST.get("back") == "table" else "shell:cart"
    return redirect(target, slug=app.slug)


@require_GET
def table_events(request, slug: str):
    """The table, live: each change to its cart, rounds or bill re-renders the block the page
    shows (`?part=cart` or the bill)."""
    app = miniapps.live_app(slug)
    group = _group(request, app, open_only=False)
    part = request.GET.get("part", "bill")

    def fetch(after: int):
        if group is None:
            return []
        group.refresh_from_db()
        if group.version <= after:
            return []
        if part == "cart":
            html = cart_block(request, app)
        else:
            html = bill_html(request, app, group)
        return [(group.version, "block", {"html": html, "status": group.status})]

    return live.stream(request, fetch)


def cart_block(request, app) -> str:
    view = ordering.cart_view(customer=current_customer(request), app=app)
    return render_to_string(
        "shell/_cart_lines.html",
        {"app": app, "view": view, "currency": app.merchant.currency},
        request=request,
    )
