"""The customer-facing shell: every mini app's frame, menu, cart, checkout and orders.

Thin: each view reads the request, calls a domain service and renders. No business rules here.
"""

import secrets

from django.contrib import messages
from django.core import signing
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.catalog.services import menu_for
from tapgo.core import live
from tapgo.core.scenes import Scene
from tapgo.identity.middleware import current_customer, ensure_customer, switch_customer
from tapgo.identity.services import SignInError, login_code_send, login_code_verify
from tapgo.miniapps import services as miniapps
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Fulfilment, OrderStatus
from tapgo.payments import services as payments
from tapgo.payments.models import IntentStatus

MENU_CACHE_SECONDS = 600
ENTRY_SCENES = {Scene.SHARE, Scene.SEARCH, Scene.NEARBY, Scene.RECENT, Scene.ACCOUNT,
                Scene.NOTIFICATION, Scene.APP, Scene.DIRECT}  # fmt: skip


def _frame(request, app, **extra):
    """What every mini-app page's frame needs: the app, the cart count, recently used apps."""
    customer = current_customer(request)
    view = ordering.cart_view(customer=customer, app=app)
    context = {
        "app": app,
        "merchant": app.merchant,
        "currency": app.merchant.currency,
        "cart_count": view.count,
        "recent_apps": [a for a in miniapps.recently_used(customer, limit=6) if a.pk != app.pk],
        "share_url": request.build_absolute_uri(reverse("shell:app", args=[app.slug]))
        + "?scene=share",
    }
    context.update(extra)
    return context, view


def _menu_html(request, app) -> str:
    """The menu, rendered once per app, language and catalogue version."""
    language = translation.get_language()
    key = f"menu:{app.pk}:{language}:{app.merchant.catalog_version}"
    html = cache.get(key)
    if html is None:
        html = render_to_string(
            "shell/_menu.html",
            {
                "app": app,
                "categories": menu_for(app.merchant),
                "currency": app.merchant.currency,
            },
        )
        cache.set(key, html, MENU_CACHE_SECONDS)
    return html


def _render_app(request, app, *, table_label: str = ""):
    context, view = _frame(request, app)
    context["menu_html"] = _menu_html(request, app)
    context["table_label"] = table_label or (view.cart.table_label if view.cart else "")
    return render(request, "shell/app.html", context)


@require_GET
def home(request):
    customer = current_customer(request)
    return render(request, "shell/home.html", {"recent_apps": miniapps.recently_used(customer)})


@require_GET
def scan(request, code: str):
    """A scanned code renders the mini app itself (no redirect: a round trip saved)."""
    entry = miniapps.code_resolve(code)
    if entry is None:
        return render(request, "shell/code_unavailable.html", status=404)
    app = entry.app
    customer = ensure_customer(request)
    if entry.kind == entry.Kind.TABLE:
        ordering.cart_set_table(customer=customer, app=app, table_label=entry.table_label)
    miniapps.visit_record(app=app, customer=customer, scene=Scene.SCAN, code=entry)
    return _render_app(request, app, table_label=entry.table_label)


def _entry_scene(request, app) -> str | None:
    """The scene of a visit entering the app, or None for a move inside it."""
    scene = request.GET.get("scene", "")
    if scene in ENTRY_SCENES:
        return scene
    referer = request.headers.get("Referer", "")
    inside = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()})
    return None if inside and referer else Scene.DIRECT


@require_GET
def app(request, slug: str):
    app = miniapps.live_app(slug)
    scene = _entry_scene(request, app)
    if scene is not None:
        miniapps.visit_record(app=app, customer=ensure_customer(request), scene=scene)
    return _render_app(request, app)


def _back(request, app, anchor: str = ""):
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("shell:app", args=[app.slug])
    return redirect(target + anchor)


@require_POST
def cart_add(request, slug: str):
    app = miniapps.live_app(slug)
    product_id = request.POST.get("item", "")
    variant_id = request.POST.get(f"v_{product_id}") or request.POST.get("variant") or None
    try:
        quantity = int(request.POST.get("quantity", "1"))
    except ValueError:
        quantity = 0
    try:
        ordering.cart_add(
            customer=ensure_customer(request),
            app=app,
            product_public_id=product_id,
            variant_public_id=variant_id,
            quantity=quantity,
        )
    except ordering.OrderingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Added to your cart."))
    return _back(request, app, f"#p-{product_id}" if product_id.isalnum() else "")


@require_http_methods(["GET"])
def cart(request, slug: str):
    app = miniapps.live_app(slug)
    context, view = _frame(request, app)
    context.update(
        view=view,
        table_label=view.cart.table_label if view.cart else "",
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
def order(request, slug: str, order_id: str):
    order = _order(request, slug, order_id)
    context, _view = _frame(request, order.app)
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
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("shell:my_orders")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("shell:my_orders")
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
                return redirect(next_url)
    context["customer"] = current_customer(request)
    return render(request, "shell/signin.html", context)


@require_POST
def signout(request):
    switch_customer(request, None)
    messages.success(request, _("You are signed out on this device."))
    return redirect("shell:home")
