"""The cart and checkout: adding to the cart, the cart page and its changes, placing the
order (flows/checkout.py), then on to paying for it or to the order page.
"""

import secrets

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tapgo.core.urls import safe_next
from tapgo.flows import checkout as checkout_flow
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


@require_http_methods(["GET"])
@shell_state.keeps
def cart(request, slug: str):
    app = miniapps.live_app(slug)
    record_door(request, live.AppState.of_app(app))
    view = ordering.cart_view(customer=current_customer(request), app=app)
    context = frame(
        request,
        app,
        cart_view=view,
        view=view,
        checkout_key=secrets.token_urlsafe(18),
        fulfilments=Fulfilment,
    )
    return render(request, "shell/cart.html", context)


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
    try:
        order = checkout_flow.checkout(
            customer=customer,
            app=app,
            checkout_key=request.POST.get("checkout_key", ""),
            fulfilment=request.POST.get("fulfilment", ""),
            pickup_name=request.POST.get("pickup_name", ""),
            note=request.POST.get("note"),
        )
    except ordering.OrderingError as exc:
        messages.error(request, str(exc))
        return redirect("shell:cart", slug=app.slug)
    st = shell_state.of(request)
    known = st.cart(app.pk)
    if known is not None:  # the cart is empty now; unknown stays unknown (read when shown)
        st.remember(app.pk, 0, known[1], checked=False)
    if order.status != OrderStatus.PENDING_PAYMENT:
        return redirect("shell:order", slug=app.slug, order_id=order.public_id)
    return redirect("shell:order_pay", slug=app.slug, order_id=order.public_id)
