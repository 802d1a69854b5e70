"""The customer-facing shell: every mini app's frame, menu, cart, checkout and orders.

Thin: each view reads the request, calls a domain service and renders. No business rules here.
"""

import io
import secrets
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.core import live
from tapgo.core.bots import is_bot
from tapgo.core.money import MoneyError, amount_input, format_money, parse_amount
from tapgo.core.scenes import Scene
from tapgo.core.urls import safe_next
from tapgo.flows import checkout as checkout_flow
from tapgo.flows import orders as order_flows
from tapgo.flows import paying
from tapgo.flows.customers import sign_in
from tapgo.identity.middleware import current_customer, ensure_customer, switch_customer
from tapgo.identity.services import SignInError, login_code_send
from tapgo.miniapps import services as miniapps
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Fulfilment, OrderStatus
from tapgo.payments import providers, stored_value
from tapgo.payments import services as payments
from tapgo.payments.models import IntentStatus, PaymentIntent
from tapgo.shell import notifications, page
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
    if request.method == "GET":  # where the customer is, to come back to from another app
        if request.path.startswith(page.url("shell:app", app.slug)):
            st.was_at(app.pk, request.path)
        else:  # an app's page at another address (a product at its code's): its menu then
            st.at_menu(app.pk)
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
@shell_state.keeps
def scan(request, code: str):
    """A scanned code renders the mini app itself (no redirect: a round trip saved): the
    app's page for a store or campaign code, with the table for a table code, the product's
    page for a product code. What it opens (app, table, product, scene parameter) comes from
    the code's row alone; nothing in the query string changes it. A disabled or expired code
    of a live app opens a friendly page leading to the app's home; either way the visit is
    recorded (scene scan, the code, its parameter and its state), unless a link preview or a
    crawler fetched it (core/bots.py)."""
    found = page.code_state(code)  # miniapps.live: one prepared query
    if found is None:
        return render(request, "shell/code_unavailable.html", status=404)
    entry, state, status = found
    app = state.app()
    st = shell_state.of(request)
    if is_bot(request):  # a link preview or a crawler: the page, but no visit, no guest
        return _scanned_page(request, entry, state, st, status)
    customer = st.customer(request)
    if status == miniapps.CODE_WORKING and entry.kind == entry.Kind.TABLE:
        known = st.cart(app.pk)
        if known is None or known[1] != entry.table_label:
            ordering.cart_set_table(customer=customer, app=app, table_label=entry.table_label)
            if known is not None:
                st.remember(app.pk, known[0], entry.table_label, checked=False)
    miniapps.visit_record(
        app=app, customer=customer, scene=Scene.SCAN, code=entry, code_state=status
    )
    page.note_visit(request, st, state)
    return _scanned_page(request, entry, state, st, status)


def _scanned_page(request, entry, state: page.AppState, st, status):
    """What a scanned code shows (its visit recorded, or not, by scan)."""
    if status != miniapps.CODE_WORKING:
        # The home link carries ?from=code: a move inside the app, so it records no second
        # visit (_entry_scene), with or without a Referer.
        context = {"app": state.app(), "expired": status == miniapps.CODE_EXPIRED}
        return render(request, "shell/code_inactive.html", context)
    if entry.kind == entry.Kind.PRODUCT and entry.product_public_id:
        from tapgo.shell.product import render_product

        shown = render_product(request, state, entry.product_public_id)
        if shown is not None:
            return shown
    return page.render_app(request, state, st, table_label=entry.table_label)


def _entry_scene(request) -> str | None:
    """The scene of a visit entering the app, or None for a move inside it."""
    if request.META.get("QUERY_STRING"):
        if "sh" in request.GET:  # a shared link (shell/sharing.py), unless moving inside it
            return None if _from_same_app(request) else Scene.SHARE
        scene = request.GET.get("scene", "")
        if scene in ENTRY_SCENES:
            return scene
        if request.GET.get("from") == "code":  # the disabled code page's link: scanned already
            return None
    referer = request.META.get("HTTP_REFERER", "")
    if not referer:
        return Scene.DIRECT
    host = request.get_host()
    if referer.startswith((f"http://{host}/", f"https://{host}/")):
        return None  # the common case, without parsing the URL
    inside = url_has_allowed_host_and_scheme(referer, allowed_hosts={host})
    return None if inside else Scene.DIRECT


def _from_same_app(request) -> bool:
    """Whether the Referer is a page of the app this request is for (the language switch
    coming back to a shared link's address, say)."""
    referer = request.META.get("HTTP_REFERER", "")
    host = request.get_host()
    for scheme in ("http", "https"):
        origin = f"{scheme}://{host}"
        if referer.startswith(origin + "/"):
            app_path = "/".join(request.path.split("/", 3)[:3]) + "/"  # /m/<slug>/
            return referer[len(origin) :].startswith(app_path)
    return False


def record_entry(request, state: page.AppState) -> bool:
    """Record a visit when this request comes into the app through a door (a scene in the
    query string, a shared link's ?sh=<token>, or a link from outside); a move inside the
    app records nothing. Every mini-app page a door can lead to (menu, product, article)
    calls this. A share token that names no share link of this app (made up, another app's,
    the customer's own) still records scene `share`, credited to no one."""
    scene = _entry_scene(request)
    if scene is None or is_bot(request):  # a link preview or a crawler: no visit, no guest
        return False
    st = shell_state.of(request)
    app = state.app()
    share = None
    if scene == Scene.SHARE and "sh" in request.GET:
        share = miniapps.share_resolve(app=app, token=request.GET.get("sh"))
    miniapps.visit_record(app=app, customer=st.customer(request), scene=scene, share=share)
    page.note_visit(request, st, state)
    return True


def record_door(request, state: page.AppState) -> bool:
    """record_entry for the pages customers also reach without a door (the cart, the card, an
    order page, where a payment provider's site sends the customer back): a visit only when
    the query string names the door (?scene=…, a shared link's ?sh=…). The top bar's and the
    home page's recently used apps link straight to the page the customer left in an app,
    with ?scene=recent (shell/state.py)."""
    if "scene" not in request.GET and "sh" not in request.GET:
        return False
    return record_entry(request, state)


@require_GET
@shell_state.keeps
def app(request, slug: str):
    """The mini app's menu page: the hot path (see shell/page.py)."""
    state = page.app_state(slug)
    record_entry(request, state)
    return page.render_app(request, state, shell_state.of(request))


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
    record_door(request, page.AppState.of_app(app))
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


def customer_order(request, slug: str, order_id: str):
    """The customer's own order of this app, or 404 (another's, another app's, made up).
    The order pages here and shell/notifications.py use it."""
    order = ordering.access_order_for_customer(
        customer=current_customer(request), public_id=order_id
    )
    if order.app.slug != slug:
        raise Http404
    return order


def _methods(merchant) -> list[tuple[str, str]]:
    """(name, label) of each provider the customer can pay this merchant with."""
    return [(name, providers.get(name).label) for name in payments.payment_methods(merchant)]


def _to_provider(request, intent: PaymentIntent, *, back: str, return_to: str | None = None):
    """Start the intent at its provider and send the customer to the provider's page, to
    come back to `return_to` (default: `back`, where a failure is told)."""
    return_url = request.build_absolute_uri(return_to or back)
    try:
        intent = payments.intent_start(intent=intent, return_url=return_url)
    except payments.PaymentError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    url = intent.client_data.get("url") if isinstance(intent.client_data, dict) else None
    if not url:
        messages.error(request, _("This way of paying is not available here."))
        return redirect(back)
    return HttpResponseRedirect(url)


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
        intent = paying.intent_for_order(order=order, provider=method or None)
    except payments.PaymentError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    return _to_provider(request, intent, back=back)


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
        context["methods"] = _methods(order.merchant)
    return render_to_string("shell/_order_status.html", context, request=request)


def _refunded_to(intent) -> str:
    """Where a refund's money goes back to."""
    if intent.provider == providers.WALLET:
        return _("to your card balance")
    provider = providers.get(intent.provider)
    label = provider.label if provider else intent.provider
    return _("to the way you paid (%(method)s)") % {"method": label}


def _steps(order):
    flow = [OrderStatus.PAID, OrderStatus.ACCEPTED, OrderStatus.READY, OrderStatus.COMPLETED]
    if order.status not in flow:
        return []
    reached = flow.index(order.status)
    return [(step.label, i <= reached, i == reached) for i, step in enumerate(flow)]


@require_GET
@shell_state.keeps
def order(request, slug: str, order_id: str):
    order = customer_order(request, slug, order_id)
    record_door(request, page.AppState.of_app(order.app))
    context = _frame(request, order.app)
    context.update(
        order=order,
        lines=order.lines.all(),
        status_html=_status_html(request, order),
        last_event=ordering.last_event_id(order=order),
        ask=notifications.order_ask(request, order),  # "tell me when it's ready"
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
    """The order's status, live: each event carries the re-rendered status block."""
    order = customer_order(request, slug, order_id)

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


# --- the stored-value card -----------------------------------------------------------------

MAX_AMOUNT_CHARS = 20


def _member_qr(code: str) -> str:
    """The member code as an inline SVG (segno's own markup of our own id: no user text)."""
    out = io.BytesIO()
    segno.make(code, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False)
    return mark_safe(out.getvalue().decode())  # noqa: S308


@require_http_methods(["GET", "POST"])
@shell_state.keeps
def card(request, slug: str):
    """The customer's stored-value card with this merchant: balance, top-up, history, code."""
    app = miniapps.live_app(slug)
    if request.method == "POST":
        return _topup(request, app)
    record_door(request, page.AppState.of_app(app))
    merchant = app.merchant
    customer = ensure_customer(request)
    tiers = [
        {"pay": t.pay, "get": t.pay + t.bonus, "value": amount_input(t.pay, merchant.currency)}
        for t in stored_value.tiers(merchant)
    ]
    context = _frame(
        request,
        app,
        customer=customer,
        balance=stored_value.balance(merchant, customer),
        tiers=tiers,
        methods=_methods(merchant),
        topup_key=secrets.token_urlsafe(18),
        history=stored_value.history(merchant, customer, limit=50),
        open_topups=stored_value.open_topups(customer, merchant),
        member_qr=_member_qr(customer.public_id),
        signin_url=_signin_url(reverse("shell:card", args=[app.slug])),
    )
    return render(request, "shell/card.html", context)


def _signin_url(next_url: str) -> str:
    return reverse("shell:signin") + "?" + urlencode({"next": next_url})


def _topup(request, app):
    """Top up online: the amount, then the provider's page; the card grows when the
    provider confirms. The form's one-time key makes a double submit one top-up."""
    here = reverse("shell:card", args=[app.slug])
    customer = current_customer(request)
    if customer is None or customer.is_guest:
        messages.info(request, _("Sign in with your email to top up your card."))
        return redirect(_signin_url(here))
    text = (request.POST.get("amount") or request.POST.get("pick") or "").strip()
    try:
        if len(text) > MAX_AMOUNT_CHARS:
            raise MoneyError("too long")
        amount = parse_amount(text, app.merchant.currency)
    except MoneyError:
        messages.error(request, _("Enter an amount such as 100 or 100.50."))
        return redirect(here)
    try:
        intent = stored_value.topup_online(
            merchant=app.merchant,
            customer=customer,
            amount=amount,
            key=request.POST.get("key", ""),
            provider=request.POST.get("method") or None,
        )
    except payments.PaymentError as exc:
        messages.error(request, str(exc))
        return redirect(here)
    if intent.status == IntentStatus.SUCCEEDED:
        messages.success(request, _("This top-up is already on your card."))
        return redirect(here)
    if intent.status not in (IntentStatus.REQUIRES_ACTION, IntentStatus.PROCESSING):
        messages.error(request, _("This form has expired. Please try again."))
        return redirect(here)
    return _to_provider(request, intent, back=here, return_to=reverse("shell:my_cards"))


@require_GET
def my_cards(request):
    """Every card the customer holds, with top-ups still being confirmed."""
    customer = current_customer(request)
    cards = stored_value.cards_of_customer(customer)
    apps = miniapps.live_app_of_merchants({c.merchant_id for c in cards})
    context = {
        "customer": customer,
        "cards": [(c, apps.get(c.merchant_id)) for c in cards],
        "open_topups": stored_value.open_topups(customer),
        "signin_url": _signin_url(reverse("shell:my_cards")),
    }
    return render(request, "shell/my_cards.html", context)


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
                account = sign_in(
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
