"""The cart and checkout: adding to the cart, the cart page and its changes, what delivery
would cost (a shared position or a named area matched to a zone), placing the order
(flows/checkout.py), then on to paying for it or to the order page.

A delivery order is placed only at the fee the customer was shown: the page's script asks
delivery_quote as the customer shares a position or picks an area; without the script, the
"Check the delivery fee" button (or a checkout whose fee the customer has not seen) shows the
cart page again with the quote and what they typed, and places nothing.
"""

import secrets

from django.contrib import messages
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tapgo.core.money import format_money
from tapgo.core.text import printable
from tapgo.core.urls import safe_next
from tapgo.flows import checkout as checkout_flow
from tapgo.flows import offers as offer_flows
from tapgo.identity.middleware import current_customer, ensure_customer
from tapgo.miniapps import live
from tapgo.miniapps import services as miniapps
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Fulfilment, OrderStatus
from tapgo.shell import page
from tapgo.shell import state as shell_state
from tapgo.shell.views.base import frame, record_door


def _back(request, app, anchor: str = ""):
    target = safe_next(request, reverse("shell:app", args=[app.slug]))
    return HttpResponseRedirect(target + anchor)


@require_POST
@shell_state.keeps
def cart_add(request, slug: str):
    app = miniapps.live_app(slug)
    product_id = request.POST.get("item", "")
    variant_id = request.POST.get(f"v_{product_id}") or request.POST.get("variant") or None
    try:
        quantity = int(request.POST.get("quantity", "1"))
    except ValueError:
        quantity = 0
    customer = ensure_customer(request)
    try:
        added = ordering.cart_add(
            customer=customer,
            app=app,
            product_public_id=product_id,
            variant_public_id=variant_id,
            quantity=quantity,
        )
    except ordering.OrderingError as exc:
        messages.error(request, str(exc))
    else:
        st = shell_state.of(request)
        st.bind(request, customer)
        if not st.added(app.pk, added.added):
            page.cart_of(request, st, live.AppState.of_app(app))
        if added.left is not None:
            messages.warning(request, ordering.only_left(added.left))
        else:
            messages.success(request, _("Added to your cart."))
    return _back(request, app, f"#p-{product_id}" if product_id.isalnum() else "")


DELIVERY_FIELDS = ("address", "phone", "lat", "lng", "area", "fee_seen", "pickup_name", "note")


def _posted(request) -> dict[str, str]:
    """What the customer typed into the checkout form, to show again (control characters
    dropped, lengths bounded: never stored from here)."""
    values = {name: printable(request.POST.get(name, ""))[:300] for name in DELIVERY_FIELDS}
    values["fulfilment"] = request.POST.get("fulfilment", "")[:20]
    values["coupon"] = printable(request.POST.get("coupon", ""))[:40]
    values["reward"] = printable(request.POST.get("reward", ""))[:40]
    return values


def _quote_text(quote, items_total: int, currency: str) -> str:
    eta = quote.eta_minutes
    return _("Delivery to %(zone)s: fee %(fee)s, about %(eta)d minutes. Total %(total)s.") % {
        "zone": quote.name,
        "fee": format_money(quote.fee, currency),
        "eta": eta,
        "total": format_money(items_total + quote.fee, currency),
    }


def _quote(customer, app, values: dict[str, str]):
    """(quote, items total, text, error): what delivering the cart costs, said in words."""
    currency = app.merchant.currency
    try:
        quote, items = ordering.cart_delivery_quote(
            customer=customer,
            app=app,
            latitude=values.get("lat", ""),
            longitude=values.get("lng", ""),
            area=values.get("area", ""),
        )
    except ordering.OrderingError as exc:
        return None, 0, "", str(exc)
    try:
        ordering.delivery_minimum_check(quote, currency)
    except ordering.OrderingError as exc:
        return quote, items, _quote_text(quote, items, currency), str(exc)
    return quote, items, _quote_text(quote, items, currency), ""


def _cart_page(request, app, *, values=None, quote=None, quote_text="", quote_error="", key=""):
    customer = current_customer(request)
    view = ordering.cart_view(customer=customer, app=app)
    zones = ordering.zones_of_store(app.store)
    values = values or {}  # empty: the page as first shown (the cart's own note)
    seen = quote is not None and not quote_error
    # The offers for this cart: the customer's coupons, best first (the first that applies is
    # chosen), the member's level discount and the points rewards (flows/offers.py).
    offers = (
        offer_flows.CartOffers(coupons=[])
        if view.group
        else offer_flows.cart_offers(
            customer=customer, app=app, view=view, coupon=values.get("coupon")
        )
    )
    suggested = offers.coupons[0] if offers.coupons and offers.coupons[0].discount else None
    context = frame(
        request,
        app,
        cart_view=view,
        view=view,
        checkout_key=key or secrets.token_urlsafe(18),
        fulfilments=Fulfilment,
        zones=zones,
        areas=[z for z in zones if z.kind == z.Kind.AREA],
        rings=[z for z in zones if z.kind == z.Kind.RADIUS],
        values=values,
        quote=quote,
        quote_text=quote_text,
        quote_error=quote_error,
        fee_seen=str(quote.fee) if seen and quote is not None else "",
        pay_total=view.total + (quote.fee if seen and quote is not None else 0),
        offers=offers.coupons,
        cart_offers=offers,
        coupon_chosen=values.get("coupon", suggested.coupon.public_id if suggested else ""),
        reward_chosen=values.get("reward", ""),
    )
    return render(request, "shell/cart.html", context)


@require_http_methods(["GET"])
@shell_state.keeps
def cart(request, slug: str):
    app = miniapps.live_app(slug)
    record_door(request, live.AppState.of_app(app))
    return _cart_page(request, app)


@require_POST
def delivery_quote(request, slug: str):
    """What delivery would cost for the cart, as JSON for the cart page's script: the zone,
    fee, time and total in words, the fee to confirm, or why there is none."""
    app = miniapps.live_app(slug)
    values = _posted(request)
    quote, items, text, error = _quote(current_customer(request), app, values)
    currency = app.merchant.currency
    ok = quote is not None and not error
    total = items + (quote.fee if ok and quote is not None else 0)
    return JsonResponse(
        {
            "ok": ok,
            "text": text,
            "error": error,
            "fee": quote.fee if ok and quote is not None else None,
            "button": _("Place order and pay %(total)s") % {"total": format_money(total, currency)},
        }
    )


@require_POST
def cart_update(request, slug: str):
    app = miniapps.live_app(slug)
    customer = current_customer(request)
    if customer is None:
        return redirect("shell:cart", slug=app.slug)
    try:
        if "note" in request.POST:
            ordering.cart_set_note(customer=customer, app=app, note=request.POST["note"])
        if "line" in request.POST:
            capped = ordering.cart_set_quantity(
                customer=customer,
                app=app,
                line_id=int(request.POST["line"]),
                quantity=int(request.POST.get("quantity", "")),
            )
            if capped is not None:
                messages.warning(request, ordering.only_left(capped))
    except ValueError as exc:  # OrderingError is a ValueError; so is a non-number
        messages.error(
            request, str(exc) if isinstance(exc, ordering.OrderingError) else _("Not a number.")
        )
    return redirect("shell:cart", slug=app.slug)


@require_POST
@shell_state.keeps
def checkout(request, slug: str):
    app = miniapps.live_app(slug)
    customer = current_customer(request)
    if customer is None:
        messages.error(request, _("Your cart is empty."))
        return redirect("shell:app", slug=app.slug)
    fulfilment = request.POST.get("fulfilment", "")
    delivery_request = None
    if fulfilment == Fulfilment.DELIVERY:
        values = _posted(request)
        key = request.POST.get("checkout_key", "")[:64]
        if "quote" in request.POST:  # "Check the delivery fee": show it, place nothing
            quote, _items, text, error = _quote(customer, app, values)
            return _cart_page(
                request,
                app,
                values=values,
                quote=quote,
                quote_text=text,
                quote_error=error,
                key=key,
            )
        delivery_request = ordering.DeliveryRequest(
            address=request.POST.get("address", ""),
            phone=request.POST.get("phone", ""),
            latitude=request.POST.get("lat", ""),
            longitude=request.POST.get("lng", ""),
            area=request.POST.get("area", ""),
            fee_seen=request.POST.get("fee_seen", ""),
        )
    try:
        order = checkout_flow.checkout(
            customer=customer,
            app=app,
            checkout_key=request.POST.get("checkout_key", ""),
            fulfilment=fulfilment,
            pickup_name=request.POST.get("pickup_name", ""),
            note=request.POST.get("note"),
            delivery_request=delivery_request,
            coupon=request.POST.get("coupon", "")[:40],
            reward=request.POST.get("reward", "")[:40],
        )
    except ordering.OrderingError as exc:
        if delivery_request is None:
            messages.error(request, str(exc))
            return redirect("shell:cart", slug=app.slug)
        # Show the page again with what they typed (and the quote, if there is one).
        quote, _items, text, error = _quote(customer, app, values)
        if str(exc) != error:
            messages.error(request, str(exc))
        return _cart_page(
            request,
            app,
            values=values,
            quote=quote,
            quote_text=text,
            quote_error=error,
            key=key,
        )
    st = shell_state.of(request)
    known = st.cart(app.pk)
    if known is not None:  # the cart is empty now; unknown stays unknown (read when shown)
        st.remember(app.pk, 0, known[1], checked=False)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return redirect("shell:order", slug=app.slug, order_id=order.public_id)
    return redirect("shell:order_pay", slug=app.slug, order_id=order.public_id)
