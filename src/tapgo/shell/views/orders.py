"""The customer's order in a mini app: its page with the live status block, paying for it
(from the card balance or through a provider), cancelling it while unpaid, and its events.

What the status block shows comes from flows.paying.order_payment_state(order): the payment
rules stay there, not here.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.core import live
from tapgo.core.money import format_money
from tapgo.flows import orders as order_flows
from tapgo.flows import paying, tips
from tapgo.identity.middleware import current_customer
from tapgo.miniapps.live import AppState
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Fulfilment, OrderStatus
from tapgo.payments import providers, stored_value
from tapgo.payments import services as payments
from tapgo.shell import state as shell_state
from tapgo.shell.views import notifications
from tapgo.shell.views.base import (
    customer_order,
    frame,
    payment_choices,
    record_door,
    tip_from_form,
    to_provider,
)


@require_http_methods(["GET", "POST"])
def order_pay(request, slug: str, order_id: str):
    """Pay an order: from the card balance (method=wallet) or through a provider (method=its
    name; none given: the first). Coming straight from checkout (a GET), the customer goes to
    the provider's page when that is the only way to pay, else to the order page to choose."""
    order = customer_order(request, slug, order_id)
    back = reverse("shell:order", args=[slug, order.public_id])
    method = request.POST.get("method", "")
    if request.method == "GET" and (
        stored_value.balance(order.merchant, current_customer(request))
        or len(payments.payment_methods(order.merchant)) > 1
    ):
        return redirect(back)
    if method == providers.WALLET:
        return _pay_from_card(request, order, back=back)
    try:
        tip = tip_from_form(
            request, order.merchant, of=paying.left_to_pay(order), currency=order.currency
        )
        intent = paying.intent_for_order(order=order, provider=method or None, tip=tip)
    except payments.PaymentError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    return to_provider(request, intent, back=back)


def _pay_from_card(request, order, *, back: str):
    try:
        intent = paying.pay_from_card(order=order, customer=current_customer(request))
    except payments.PaymentError as exc:  # StoredValueError among them
        messages.error(request, str(exc))
        return redirect(back)
    order.refresh_from_db()
    if order.status == OrderStatus.PENDING_PAYMENT:
        left = paying.left_to_pay(order)
        messages.success(
            request,
            _("%(paid)s paid from your card; pay the remaining %(left)s.")
            % {
                "paid": format_money(intent.amount, order.currency),
                "left": format_money(left, order.currency),
            },
        )
    else:
        messages.success(request, _("Paid from your card."))
    return redirect(back)


def _status_html(request, order) -> str:
    state = paying.order_payment_state(order)
    context = {
        "order": order,
        "confirming": state.confirming,
        "declined": state.declined,
        "steps": _steps(order),
        "from_card": state.from_card,
        "left": state.left,
        "refunds": [{"refund": r, "to": _refunded_to(r.intent)} for r in state.refunds],
    }
    if state.waiting and not state.confirming:
        context["card_balance"] = stored_value.balance(order.merchant, current_customer(request))
        context["methods"] = payment_choices(order.merchant)
        context["tip_choices"] = tips.tip_choices(order.merchant, state.left)
    context["tips"] = state.tips
    return render_to_string("shell/_order_status.html", context, request=request)


def _notify_html(request, order) -> str:
    """The order page's notification card ("tell me when it's ready"), or "" when none is
    offered now: it appears once the order is paid, so the live stream carries it too."""
    ask = notifications.order_ask(request, order)
    if ask is None:
        return ""
    context = {"ask": ask, "no_script": True}  # the order page loads notify.js itself
    return render_to_string("shell/_notify_ask.html", context, request=request)


def _refunded_to(intent) -> str:
    """Where a refund's money goes back to."""
    if intent.provider == providers.WALLET:
        return _("to your card balance")
    provider = providers.get(intent.provider)
    label = provider.label if provider else intent.provider
    return _("to the way you paid (%(method)s)") % {"method": label}


def _steps(order):
    first = OrderStatus.PLACED if order.group_id and order.group.pay_after else OrderStatus.PAID
    flow = [first, OrderStatus.ACCEPTED, OrderStatus.READY, OrderStatus.COMPLETED]
    labels = {}
    if order.fulfilment == Fulfilment.DELIVERY:
        flow.insert(3, OrderStatus.OUT_FOR_DELIVERY)
        labels[OrderStatus.COMPLETED] = pgettext("order step", "Delivered")
    if order.status not in flow:
        return []
    reached = flow.index(order.status)
    return [
        (labels.get(step, step.label), i <= reached, i == reached) for i, step in enumerate(flow)
    ]


@require_GET
@shell_state.keeps
def order(request, slug: str, order_id: str):
    order = customer_order(request, slug, order_id)
    record_door(request, AppState.of_app(order.app))
    context = frame(request, order.app)
    context.update(
        order=order,
        lines=order.lines.all(),
        status_html=_status_html(request, order),
        last_event=ordering.last_event_id(order=order),
        notify_html=_notify_html(request, order),  # "tell me when it's ready"
    )
    return render(request, "shell/order.html", context)


@require_POST
def order_cancel(request, slug: str, order_id: str):
    order = customer_order(request, slug, order_id)
    try:
        order_flows.order_cancel_unpaid(order=order)
    except ordering.OrderingError as exc:
        messages.error(request, str(exc))
    return redirect("shell:order", slug=slug, order_id=order.public_id)


@require_GET
def order_events(request, slug: str, order_id: str):
    """The order's status, live: each event carries the re-rendered status block and
    notification card (offered once the order is paid, gone once it is ready)."""
    order = customer_order(request, slug, order_id)

    def fetch(after: int):
        events = ordering.events_after(order=order, after=after)
        if not events:
            # Payment confirmation moves the intent before the order: poll that too, cheaply.
            return []
        order.refresh_from_db()
        html = _status_html(request, order)
        notify = _notify_html(request, order)
        return [(events[-1].pk, "status", {"status": order.status, "html": html, "notify": notify})]

    return live.stream(request, fetch)
