"""The console's live order board and its orders: the board's columns (new, preparing,
ready, out for delivery), its stream of order events (Server-Sent Events), pausing ordering,
an order's page, and the actions that move an order along (accept, ready, out for delivery,
complete, reject, cancel), answered as JSON to the board's script or as a redirect to a
plain form."""

from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from tapgo.console import forms
from tapgo.console.views.base import merchant_view, render_console, wants_json
from tapgo.console.views.money import order_money
from tapgo.core import live
from tapgo.core.actors import Actor
from tapgo.core.urls import safe_next
from tapgo.flows import history
from tapgo.flows import orders as order_flows
from tapgo.merchants import services as merchants
from tapgo.ordering import services as ordering
from tapgo.ordering.models import OrderStatus
from tapgo.payments import services as payments
from tapgo.payments.models import Purpose

S = OrderStatus


def _columns(*, delivery: bool):
    """The board's columns; "Out for delivery" where the store delivers (or an order is out)."""
    columns = [
        (S.PAID, pgettext("board column", "New")),
        (S.ACCEPTED, pgettext("board column", "Preparing")),
        (S.READY, pgettext("board column", "Ready")),
    ]
    if delivery:
        columns.append((S.OUT_FOR_DELIVERY, pgettext("board column", "Out for delivery")))
    return columns


def _column(status: str) -> str:
    """A table's round that pays after eating is new to the kitchen like a paid order."""
    return S.PAID if status == S.PLACED else status


def _card(request, order) -> str:
    return render_to_string("console/_order_card.html", {"order": order}, request=request)


@merchant_view()
@require_GET
def board(request, merchant):
    # The event id first: an event landing between the two reads is sent again, not lost.
    after = ordering.last_event_id(merchant=merchant)
    orders = list(ordering.board_orders(merchant))
    delivery = bool(ordering.zones_of_store(request.store)) or any(
        o.status == S.OUT_FOR_DELIVERY for o in orders
    )
    columns = [
        {
            "status": status,
            "title": title,
            # A table's round that pays after eating is new to the kitchen like a paid order.
            "orders": [o for o in orders if _column(o.status) == status],
        }
        for status, title in _columns(delivery=delivery)
    ]
    return render_console(
        request,
        "console/board.html",
        {
            "columns": columns,
            "after": after,
            "pause_form": forms.PauseForm(),
            "unpaid_tables": ordering.unpaid_tables(merchant.pk),
        },
    )


@merchant_view()
@require_GET
def board_events(request, merchant):
    """Server-Sent Events: each order event with the card as the board renders it."""
    tz = timezone.get_current_timezone()
    language = translation.get_language()

    def fetch(after: int):
        events = ordering.events_after(merchant=merchant, after=after)
        active = {e.order_id: e.order for e in events if e.order.status in ordering.ACTIVE}
        prefetch_related_objects(list(active.values()), "lines")
        with timezone.override(tz), translation.override(language):
            cards = {pk: _card(request, order) for pk, order in active.items()}
        return [
            (
                e.pk,
                "order",
                {
                    "order": e.order.public_id,
                    "event": e.status,
                    "status": e.order.status,
                    "html": cards.get(e.order_id, ""),
                },
            )
            for e in events
        ]

    return live.stream(request, fetch)


@merchant_view()
@require_POST
def board_pause(request, merchant):
    form = forms.PauseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The reason has at most 200 characters."))
    else:
        paused = form.cleaned_data["paused"]
        merchants.ordering_pause(
            merchant=merchant, paused=paused, reason=form.cleaned_data["reason"]
        )
        if paused:
            messages.warning(request, _("Ordering is paused. Customers cannot order."))
        else:
            messages.success(request, _("Ordering is open again."))
    return redirect("console:board", merchant.public_id)


ORDER_ACTIONS = {  # what ordering.order_actions names, to the flow that does it
    "accept": lambda order, reason, actor: order_flows.order_accept(order=order, actor=actor),
    "ready": lambda order, reason, actor: order_flows.order_mark_ready(order=order, actor=actor),
    "deliver": lambda order, reason, actor: order_flows.order_out_for_delivery(
        order=order, actor=actor
    ),
    "complete": lambda order, reason, actor: order_flows.order_complete(order=order, actor=actor),
    "reject": lambda order, reason, actor: order_flows.order_reject(
        order=order, reason=reason, actor=actor
    ),
    "cancel": lambda order, reason, actor: order_flows.order_cancel(
        order=order, reason=reason, actor=actor
    ),
}


@merchant_view()
@require_POST
def order_action(request, merchant, order_id: str, action: str):
    if action not in ORDER_ACTIONS:
        raise Http404
    order = ordering.access_order_for_merchant(merchant=merchant, public_id=order_id)
    reason = request.POST.get("reason", "")
    try:
        order = ORDER_ACTIONS[action](order, reason, Actor.staff(request.user))
    except ordering.OrderingError as error:
        if wants_json(request):
            return JsonResponse({"ok": False, "error": str(error)}, status=409)
        messages.error(request, str(error))
    else:
        if wants_json(request):
            html = ""
            if order.status in ordering.ACTIVE:
                prefetch_related_objects([order], "lines")
                html = _card(request, order)
            return JsonResponse(
                {"ok": True, "order": order.public_id, "status": order.status, "html": html}
            )
        messages.success(
            request,
            _("Order %(number)s: %(status)s.")
            % {"number": order.number, "status": order.get_status_display()},
        )
    return HttpResponseRedirect(
        safe_next(request, reverse("console:board", args=[merchant.public_id]))
    )


@merchant_view()
@require_GET
def order_detail(request, merchant, order_id: str):
    order = ordering.access_order_for_merchant(merchant=merchant, public_id=order_id)
    lines = list(order.lines.all())
    return render_console(
        request,
        "console/order.html",
        {
            "order": order,
            "lines": lines,
            "timeline": history.order_timeline(order),
            "intent": payments.latest_attempt(Purpose.ORDER, order.pk),
            "active": order.status in ordering.ACTIVE,
            **order_money(request, order, lines),
        },
    )
