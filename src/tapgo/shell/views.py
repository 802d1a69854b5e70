"""The customer-facing shell: every mini app's frame, menu, cart, checkout and orders.

Thin: each view reads the request, calls a domain service and renders. No business rules here.
"""

import secrets

from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.core import live
from tapgo.core.scenes import Scene
from tapgo.core.urls import safe_next
from tapgo.identity.middleware import current_customer, ensure_customer, switch_customer
from tapgo.identity.services import SignInError, login_code_send, login_code_verify
from tapgo.miniapps import services as miniapps
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Fulfilment, OrderStatus
from tapgo.payments import services as payments
from tapgo.payments.models import IntentStatus
from tapgo.shell import page
from tapgo.shell import state as shell_state

ENTRY_SCENES = {Scene.SHARE, Scene.SEARCH, Scene.NEARBY, Scene.RECENT, Scene.ACCOUNT,
                Scene.NOTIFICATION, Scene.APP, Scene.DIRECT}  # fmt: skip


def _frame(request, app, *, cart_view=None, **extra):
    """What every mini-app page's frame needs: the app, its per-request bits (shell/page.py)."""
    st = shell_state.of(request)
    state = page.AppState.of_app(app)
    if cart_view is not None:
        customer = current_customer(request)
        st.bind(request, customer)
        table = cart_view.cart.table_label if cart_view.cart else ""
        if customer is not None:
            st.remember(app.pk, cart_view.count, table)
        count = cart_view.count
    else:
        count, table = page.cart_of(request, st, state)
    context = {
        "app": app,
        "merchant": app.merchant,
        "currency": app.merchant.currency,
        "bits": page.bits(request, app.pk, app.slug, st, count=count, table=table),
        "table_label": table,
    }
    context.update(extra)
    return context


@require_GET
def home(request):
    customer = current_customer(request)
    return render(request, "shell/home.html", {"recent_apps": miniapps.recently_used(customer)})


@require_GET
@shell_state.keeps
def scan(request, code: str):
    """A scanned code renders the mini app itself (no redirect: a round trip saved)."""
    found = page.code_state(code)  # miniapps.services.code_resolve, as one prepared query
    if found is None:
        return render(request, "shell/code_unavailable.html", status=404)
    entry, state = found
    app = state.app()
    st = shell_state.of(request)
    customer = st.customer(request)
    if entry.kind == entry.Kind.TABLE:
        known = st.cart(app.pk)
        if known is None or known[1] != entry.table_label:
            ordering.cart_set_table(customer=customer, app=app, table_label=entry.table_label)
            if known is not None:
                st.remember(app.pk, known[0], entry.table_label, checked=False)
    miniapps.visit_record(app=app, customer=customer, scene=Scene.SCAN, code=entry)
    page.note_visit(request, st, state)
    return page.render_app(request, state, st, table_label=entry.table_label)


def _entry_scene(request) -> str | None:
    """The scene of a visit entering the app, or None for a move inside it."""
    if request.META.get("QUERY_STRING"):
        scene = request.GET.get("scene", "")
        if scene in ENTRY_SCENES:
            return scene
    referer = request.META.get("HTTP_REFERER", "")
    if not referer:
        return Scene.DIRECT
    host = request.get_host()
    if referer.startswith((f"http://{host}/", f"https://{host}/")):
        return None  # the common case, without parsing the URL
    inside = url_has_allowed_host_and_scheme(referer, allowed_hosts={host})
    return None if inside else Scene.DIRECT


@require_GET
@shell_state.keeps
def app(request, slug: str):
    """The mini app's menu page: the hot path (see shell/page.py)."""
    state = page.app_state(slug)
    st = shell_state.of(request)
    scene = _entry_scene(request)
    if scene is not None:
        miniapps.visit_record(app=state.app(), customer=st.customer(request), scene=scene)
        page.note_visit(request, st, state)
    return page.render_app(request, state, st)


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
        ordering.cart_add(
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
        if not st.added(app.pk, quantity):
            page.cart_of(request, st, page.AppState.of_app(app))
        messages.success(request, _("Added to your cart."))
    return _back(request, app, f"#p-{product_id}" if product_id.isalnum() else "")


@require_http_methods(["GET"])
@shell_state.keeps
def cart(request, slug: str):
    app = miniapps.live_app(slug)
    view = ordering.cart_view(customer=current_customer(request), app=app)
    context = _frame(
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
            ordering.cart_set_quantity(
                customer=customer,
                app=app,
                line_id=int(request.POST["line"]),
                quantity=int(request.POST.get("quantity", "")),
            )
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
        order = ordering.order_place(
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


def _order(request, slug: str, order_id: str):
    order = ordering.access_order_for_customer(
        customer=current_customer(request), public_id=order_id
    )
    if order.app.slug != slug:
        raise Http404
    return order


@require_http_methods(["GET", "POST"])
def order_pay(request, slug: str, order_id: str):
    """Hand the customer to the provider's pay page (the same intent on every refresh)."""
    order = _order(request, slug, order_id)
    try:
        intent = payments.intent_for_order(order=order)
    except payments.PaymentError as exc:
        messages.error(request, str(exc))
        return redirect("shell:order", slug=slug, order_id=order.public_id)
    return redirect("payments:sandbox_page", intent_id=intent.public_id)


def _status_html(request, order) -> str:
    intent = payments.intent_of_order(order)
    confirming = (
        order.status == OrderStatus.PENDING_PAYMENT
        and intent is not None
        and intent.status == IntentStatus.PROCESSING
    )
    declined = (
        order.status == OrderStatus.PENDING_PAYMENT
        and intent is not None
        and intent.status == IntentStatus.FAILED
    )
    return render_to_string(
        "shell/_order_status.html",
        {"order": order, "confirming": confirming, "declined": declined, "steps": _steps(order)},
        request=request,
    )


def _steps(order):
    flow = [OrderStatus.PAID, OrderStatus.ACCEPTED, OrderStatus.READY, OrderStatus.COMPLETED]
    if order.status not in flow:
        return []
    reached = flow.index(order.status)
    return [(step.label, i <= reached, i == reached) for i, step in enumerate(flow)]


@require_GET
@shell_state.keeps
def order(request, slug: str, order_id: str):
    order = _order(request, slug, order_id)
    context = _frame(request, order.app)
    context.update(
        order=order,
        lines=order.lines.all(),
        status_html=_status_html(request, order),
        last_event=ordering.last_event_id(order=order),
    )
    return render(request, "shell/order.html", context)


@require_POST
def order_cancel(request, slug: str, order_id: str):
    order = _order(request, slug, order_id)
    try:
        ordering.order_cancel_unpaid(order=order)
    except ordering.OrderingError as exc:
        messages.error(request, str(exc))
    return redirect("shell:order", slug=slug, order_id=order.public_id)


@require_GET
def order_events(request, slug: str, order_id: str):
    """The order's status, live: each event carries the re-rendered status block."""
    order = _order(request, slug, order_id)

    def fetch(after: int):
        events = ordering.events_after(order=order, after=after)
        if not events:
            # Payment confirmation moves the intent before the order: poll that too, cheaply.
            return []
        order.refresh_from_db()
        html = _status_html(request, order)
        return [(events[-1].pk, "status", {"status": order.status, "html": html})]

    return live.stream(request, fetch)


@require_GET
def my_orders(request):
    orders = ordering.orders_of_customer(current_customer(request))[:100]
    return render(request, "shell/my_orders.html", {"orders": orders})


SIGNIN_SALT = "tapgo.signin"


@require_http_methods(["GET", "POST"])
def signin(request):
    next_url = safe_next(request, reverse("shell:my_orders"))
    context = {"next": next_url, "step": "email"}
    if request.method == "POST" and request.POST.get("step") == "email":
        email = request.POST.get("email", "").strip()
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        try:
            validate_email(email)
            login_code_send(email=email)
        except ValidationError:
            context["error"] = _("Enter a valid email address.")
        except SignInError as exc:
            context["error"] = str(exc)
        else:
            context.update(step="code", email=email, token=signing.dumps(email, salt=SIGNIN_SALT))
    elif request.method == "POST" and request.POST.get("step") == "code":
        try:
            email = signing.loads(request.POST.get("token", ""), salt=SIGNIN_SALT, max_age=3600)
        except signing.BadSignature:
            context["error"] = _("This form has expired. Start again.")
        else:
            context.update(step="code", email=email, token=request.POST.get("token"))
            try:
                account = login_code_verify(
                    email=email, code=request.POST.get("code", ""), guest=current_customer(request)
                )
            except SignInError as exc:
                context["error"] = str(exc)
            else:
                switch_customer(request, account)
                messages.success(request, _("You are signed in as %(email)s.") % {"email": email})
                return HttpResponseRedirect(next_url)
    context["customer"] = current_customer(request)
    return render(request, "shell/signin.html", context)


@require_POST
def signout(request):
    switch_customer(request, None)
    messages.success(request, _("You are signed out on this device."))
    return redirect("shell:home")
