"""The merchant console: thin views that read the request, call a domain service and render.

Every merchant page is /console/<merchant public id>/… and passes through merchant_view(),
which asks merchants.services.access_merchant (404 for anyone not on the team). Objects are
then reached through the domains' access_* helpers with that merchant, so another merchant's
ids answer 404 and show nothing.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.catalog import services as catalog
from tapgo.console import forms
from tapgo.core import live
from tapgo.core.actors import Actor
from tapgo.core.images import ImageRejected, image_store
from tapgo.core.urls import absolute_url, safe_next
from tapgo.flows import listings
from tapgo.flows import orders as order_flows
from tapgo.identity.models import User
from tapgo.identity.services import staff_user_create
from tapgo.merchants import services as merchants
from tapgo.merchants.models import Role
from tapgo.miniapps import services as miniapps
from tapgo.ordering import services as ordering
from tapgo.ordering.models import OrderStatus
from tapgo.payments import services as payments
from tapgo.payments.models import Purpose

S = OrderStatus


def _columns():
    return [
        (S.PAID, pgettext("board column", "New")),
        (S.ACCEPTED, pgettext("board column", "Preparing")),
        (S.READY, pgettext("board column", "Ready")),
    ]


# --- helpers ------------------------------------------------------------------------------


def merchant_view(*, owner_only: bool = False):
    """Resolve /console/<m>/… to the merchant (or 404) and show times in the store's zone."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, m: str, *args, **kwargs):
            merchant, role = merchants.access_merchant(
                user=request.user, merchant_public_id=m, owner_only=owner_only
            )
            request.merchant, request.role = merchant, role
            request.store = merchants.merchant_store(merchant)
            with timezone.override(request.store.tz):
                return view(request, merchant, *args, **kwargs)

        return wrapper

    return decorator


def _render(request, template: str, context: dict | None = None, *, status: int = 200):
    merchant = getattr(request, "merchant", None)
    base = {}
    if merchant is not None:
        base = {
            "merchant": merchant,
            "role": request.role,
            "is_owner": request.role == Role.OWNER,
            "currency": merchant.currency,
        }
    base.update(context or {})
    return render(request, template, base, status=status)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _store_image(form, field: str, folder: str, size: str = "thumb") -> str | None:
    """Store an uploaded image; None when nothing was uploaded or it was refused (form error)."""
    upload = form.cleaned_data.get(field)
    if not upload:
        return None
    try:
        return image_store(upload, folder=folder)[size]
    except ImageRejected as error:
        form.add_error(field, str(error))
        return None


# --- accounts -----------------------------------------------------------------------------


BACKEND = "django.contrib.auth.backends.ModelBackend"


def _create_account(form, email: str):
    """The account, or None with a form error when the email was taken meanwhile."""
    try:
        with transaction.atomic():
            return staff_user_create(email=email, password=form.cleaned_data["password1"])
    except IntegrityError:
        form.add_error(None, _("An account with this email already exists. Log in instead."))
        return None


class ConsoleLogin(LoginView):
    template_name = "console/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True


login_view = ConsoleLogin.as_view()
logout_view = LogoutView.as_view(next_page="console:login")


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("console:home")
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = _create_account(form, form.cleaned_data["email"])
        if user is not None:
            login(request, user, backend=BACKEND)
            messages.success(request, _("Welcome to Tapgo. Create your business to begin."))
            return redirect("console:merchant_new")
    return _render(request, "console/signup.html", {"form": form})


@login_required
@require_GET
def home(request):
    return _render(
        request, "console/home.html", {"merchants": merchants.merchants_of(request.user)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def merchant_new(request):
    form = forms.MerchantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            merchant = merchants.merchant_create(owner=request.user, **data)
        except merchants.MerchantError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("%(name)s is ready. Now build its mini app.") % data)
            return redirect("console:app_new", merchant.public_id)
    return _render(request, "console/merchant_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def invitation(request, public_id: str):
    invite = merchants.invitation_get(public_id)
    user = request.user
    signup_form = None
    if not user.is_authenticated:
        signup_form = forms.SignupForm(
            request.POST if request.method == "POST" else None, fixed_email=invite.email
        )
    if request.method == "POST":
        if not user.is_authenticated:
            user = signup_form.is_valid() and _create_account(signup_form, invite.email)
            if user:
                login(request, user, backend=BACKEND)
            else:
                return _render(
                    request, "console/invitation.html", {"invite": invite, "form": signup_form}
                )
        try:
            merchant = merchants.invitation_accept(invitation=invite, user=user)
        except merchants.MerchantError as error:
            messages.error(request, str(error))
            return redirect("console:home")
        messages.success(request, _("You joined %(name)s.") % {"name": merchant.name})
        return redirect("console:board", merchant.public_id)
    account_exists = False
    if not user.is_authenticated:
        account_exists = User.objects.filter(email=invite.email).exists()
    return _render(
        request,
        "console/invitation.html",
        {
            "invite": invite,
            "form": signup_form,
            "account_exists": account_exists,
            "email_matches": user.is_authenticated and user.email.lower() == invite.email,
        },
    )


# --- merchant settings and staff ----------------------------------------------------------


@merchant_view()
@require_GET
def merchant_home(request, merchant):
    return redirect("console:board", merchant.public_id)


@merchant_view(owner_only=True)
@require_http_methods(["GET", "POST"])
def settings_view(request, merchant):
    store = request.store
    initial = {
        "name": merchant.name,
        "address": store.address,
        "latitude": store.latitude,
        "longitude": store.longitude,
        "opening_hours": store.opening_hours,
        "time_zone": store.time_zone,
        "currency": merchant.currency,
    }
    form = forms.MerchantForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("currency", None)
        try:
            listings.merchant_update(merchant=merchant, **data)
        except merchants.MerchantError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Settings saved."))
            return redirect("console:settings", merchant.public_id)
    return _render(request, "console/merchant_form.html", {"form": form, "editing": True})


@merchant_view(owner_only=True)
@require_http_methods(["GET", "POST"])
def staff(request, merchant):
    form = forms.InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invite = merchants.invitation_create(
                merchant=merchant,
                invited_by=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except merchants.MerchantError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invite.email})
            return redirect("console:staff", merchant.public_id)
    return _render(
        request,
        "console/staff.html",
        {
            "form": form,
            "members": merchants.staff_list(merchant),
            "invitations": merchants.invitations_pending(merchant),
        },
    )


@merchant_view(owner_only=True)
@require_POST
def staff_remove(request, merchant, user_id: str):
    try:
        merchants.staff_remove(merchant=merchant, user_public_id=user_id, acting=request.user)
    except merchants.MerchantError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Removed from the team."))
    return redirect("console:staff", merchant.public_id)


# --- mini apps ----------------------------------------------------------------------------


@merchant_view()
@require_GET
def apps(request, merchant):
    items = [(app, absolute_url("shell:app", app.slug)) for app in miniapps.apps_of(merchant)]
    return _render(request, "console/apps.html", {"apps": items})


def _app_images(form, merchant) -> dict:
    folder = f"apps/{merchant.public_id}"
    return {
        "logo": _store_image(form, "logo", folder, "thumb"),
        "cover": _store_image(form, "cover", folder, "large"),
    }


@merchant_view()
@require_http_methods(["GET", "POST"])
def app_new(request, merchant):
    form = forms.AppForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        images = _app_images(form, merchant)
        if form.is_valid():  # no image was refused
            data = form.cleaned_data
            try:
                app = listings.app_create(
                    merchant=merchant,
                    name=data["name"],
                    slug=data["slug"],
                    description=data["description"],
                    brand_color=data["brand_color"],
                    template=data["template"],
                    logo=images["logo"] or "",
                    cover=images["cover"] or "",
                )
            except miniapps.MiniAppError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Mini app created. Publish it when it is ready."))
                return redirect("console:app", merchant.public_id, app.public_id)
    return _render(request, "console/app_form.html", {"form": form})


@merchant_view()
@require_http_methods(["GET", "POST"])
def app_edit(request, merchant, app_id: str):
    app = miniapps.access_app(merchant=merchant, app_public_id=app_id)
    initial = {
        "name": app.name,
        "slug": app.slug,
        "description": app.description,
        "brand_color": app.brand_color,
    }
    form = forms.AppForm(request.POST or None, request.FILES or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        images = _app_images(form, merchant)
        if form.is_valid():
            data = form.cleaned_data
            try:
                listings.app_update(
                    app=app,
                    name=data["name"],
                    slug=data["slug"],
                    description=data["description"],
                    brand_color=data["brand_color"],
                    logo=images["logo"],
                    cover=images["cover"],
                )
            except miniapps.MiniAppError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Mini app saved."))
                return redirect("console:app", merchant.public_id, app.public_id)
    return _render(
        request,
        "console/app_form.html",
        {"form": form, "app": app, "public_url": absolute_url("shell:app", app.slug)},
    )


@merchant_view()
@require_POST
def app_publish(request, merchant, app_id: str):
    app = miniapps.access_app(merchant=merchant, app_public_id=app_id)
    published = request.POST.get("published") == "1"
    listings.app_set_published(app=app, published=published)
    if published:
        messages.success(request, _("Published: customers can open %(name)s.") % {"name": app.name})
    else:
        messages.success(request, _("Unpublished: %(name)s is hidden.") % {"name": app.name})
    return redirect("console:app", merchant.public_id, app.public_id)


# --- catalogue ----------------------------------------------------------------------------


@merchant_view()
@require_GET
def menu(request, merchant):
    categories = list(catalog.categories_of(merchant))
    products = list(catalog.products_of(merchant))
    by_category = {c.pk: [] for c in categories}
    for product in products:
        by_category.setdefault(product.category_id, []).append(product)
    sections = [(c, by_category[c.pk]) for c in categories]
    return _render(
        request,
        "console/menu.html",
        {"sections": sections, "category_form": forms.CategoryForm(), "last": len(categories) - 1},
    )


@merchant_view()
@require_POST
def category_new(request, merchant):
    form = forms.CategoryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the category a name (at most 60 characters)."))
    else:
        try:
            catalog.category_create(merchant=merchant, name=form.cleaned_data["name"])
        except catalog.CatalogError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Category added."))
    return redirect("console:menu", merchant.public_id)


@merchant_view()
@require_POST
def category_action(request, merchant, category_id: str, action: str):
    category = catalog.access_category(merchant=merchant, public_id=category_id)
    try:
        if action == "rename":
            form = forms.CategoryForm(request.POST)
            if not form.is_valid():
                raise catalog.CatalogError(_("Give the category a name (at most 60 characters)."))
            listings.category_rename(category=category, name=form.cleaned_data["name"])
            messages.success(request, _("Category renamed."))
        elif action == "up":
            catalog.category_move(category=category, direction=-1)
        elif action == "down":
            catalog.category_move(category=category, direction=1)
        elif action == "delete":
            catalog.category_delete(category=category)
            messages.success(request, _("Category deleted."))
        else:
            raise Http404
    except catalog.CatalogError as error:
        messages.error(request, str(error))
    return redirect("console:menu", merchant.public_id)


def _product_form(request, merchant, product=None):
    currency = merchant.currency
    if request.method == "POST":
        form = forms.ProductForm(request.POST, request.FILES, merchant=merchant)
        variants = forms.VariantFormSet(
            request.POST, prefix="variants", form_kwargs={"currency": currency}
        )
        if form.is_valid() and variants.is_valid():
            image = _store_image(form, "image", f"products/{merchant.public_id}")
            if form.is_valid():
                data = form.cleaned_data
                fields = {
                    "category": data["category"],
                    "name": data["name"],
                    "price": data["price"],
                    "description": data["description"],
                    "stock": data["stock"],
                }
                try:
                    if product is None:
                        listings.product_create(
                            merchant=merchant,
                            image=image or "",
                            variants=variants.variants() or None,
                            **fields,
                        )
                    else:
                        listings.product_update(
                            product=product, image=image, variants=variants.variants(), **fields
                        )
                except catalog.CatalogError as error:
                    form.add_error(None, str(error))
                else:
                    messages.success(request, _("%(name)s saved.") % {"name": data["name"]})
                    return redirect("console:menu", merchant.public_id)
    else:
        initial, variant_initial = {}, []
        if product is not None:
            initial = {
                "name": product.name,
                "category": product.category.public_id,
                "price": product.price,
                "description": product.description,
                "stock": product.stock,
            }
            variant_initial = [
                {"name": v.name, "price": v.price, "stock": v.stock}
                for v in product.variants.order_by("position", "id")
            ]
        else:
            initial = {"category": request.GET.get("category")}
        form = forms.ProductForm(initial=initial, merchant=merchant)
        variants = forms.VariantFormSet(
            initial=variant_initial, prefix="variants", form_kwargs={"currency": currency}
        )
    return _render(
        request,
        "console/product_form.html",
        {"form": form, "variants": variants, "product": product},
    )


@merchant_view()
@require_http_methods(["GET", "POST"])
def product_new(request, merchant):
    if not catalog.categories_of(merchant).exists():
        messages.info(request, _("Add a category first, for example “Coffee”."))
        return redirect("console:menu", merchant.public_id)
    return _product_form(request, merchant)


@merchant_view()
@require_http_methods(["GET", "POST"])
def product_edit(request, merchant, product_id: str):
    product = catalog.access_product(merchant=merchant, public_id=product_id)
    return _product_form(request, merchant, product)


@merchant_view()
@require_POST
def product_action(request, merchant, product_id: str, action: str):
    product = catalog.access_product(merchant=merchant, public_id=product_id)
    if action == "available":
        available = request.POST.get("available") == "1"
        listings.product_set_available(product=product, available=available)
        if available:
            messages.success(request, _("%(name)s is available.") % {"name": product.name})
        else:
            messages.success(request, _("%(name)s is sold out.") % {"name": product.name})
    elif action == "delete":
        if listings.product_delete(product=product):
            messages.success(request, _("%(name)s deleted.") % {"name": product.name})
        else:
            messages.info(
                request,
                _("%(name)s has been ordered before, so it was hidden (sold out) instead.")
                % {"name": product.name},
            )
    else:
        raise Http404
    return redirect("console:menu", merchant.public_id)


# --- the live order board -----------------------------------------------------------------


def _card(request, order) -> str:
    return render_to_string("console/_order_card.html", {"order": order}, request=request)


@merchant_view()
@require_GET
def board(request, merchant):
    # The event id first: an event landing between the two reads is sent again, not lost.
    after = ordering.last_event_id(merchant=merchant)
    orders = list(ordering.board_orders(merchant))
    columns = [
        {"status": status, "title": title, "orders": [o for o in orders if o.status == status]}
        for status, title in _columns()
    ]
    return _render(
        request,
        "console/board.html",
        {"columns": columns, "after": after, "pause_form": forms.PauseForm()},
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
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": str(error)}, status=409)
        messages.error(request, str(error))
    else:
        if _wants_json(request):
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
    from tapgo.console import money  # it imports this module's helpers

    order = ordering.access_order_for_merchant(merchant=merchant, public_id=order_id)
    lines = list(order.lines.all())
    return _render(
        request,
        "console/order.html",
        {
            "order": order,
            "lines": lines,
            "timeline": ordering.order_timeline(order),
            "intent": payments.latest_attempt(Purpose.ORDER, order.pk),
            "active": order.status in ordering.ACTIVE,
            **money.order_money(request, order, lines),
        },
    )
