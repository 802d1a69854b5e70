"""What every mini-app page of the shell shares: the frame around it, the doors a customer
comes in by, the customer's own order, and the ways to pay a merchant.

- `frame(request, app, ...)`: the template context every mini-app page's frame needs (the
  app, its per-request bits through shell/page.py, where the customer is in the app);
- `record_entry(request, state)`: a visit when the request comes in through a door (a scene,
  a shared link, a link from outside), for every page a door can lead to; `record_door` the
  same for the pages customers also reach without a door (cart, card, order);
- `customer_order(request, slug, order_id)`: the customer's own order of this app, or 404;
- `payment_choices(merchant)`, `to_provider(request, intent, ...)`: the ways to pay a
  merchant, and sending the customer to a provider's page (orders and top-ups);
- `signin_url(next_url)`: the sign-in page, coming back to `next_url`.

Thin, as every view: no business rules here.
"""

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from tapgo.core import translations as texts
from tapgo.core.bots import is_bot
from tapgo.core.money import MoneyError, parse_amount
from tapgo.core.scenes import Scene
from tapgo.flows import tips
from tapgo.identity.middleware import current_customer
from tapgo.miniapps import live
from tapgo.miniapps import services as miniapps
from tapgo.ordering import services as ordering
from tapgo.payments import providers
from tapgo.payments import services as payments
from tapgo.payments.models import PaymentIntent
from tapgo.shell import page
from tapgo.shell import state as shell_state

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

ENTRY_SCENES = {Scene.SHARE, Scene.SEARCH, Scene.NEARBY, Scene.RECENT, Scene.ACCOUNT,
                Scene.NOTIFICATION, Scene.APP, Scene.DIRECT}  # fmt: skip


def frame(request, app, *, cart_view=None, **extra):
    """What every mini-app page's frame needs: the app (its name and description in the
    customer's language), its per-request bits (shell/page.py)."""
    app = texts.localised(app)
    st = shell_state.of(request)
    state = live.AppState.of_app(app)
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


# --- the doors -------------------------------------------------------------------------------


def _entry_scene(request) -> str | None:
    """The scene of a visit entering the app, or None for a move inside it."""
    if request.META.get("QUERY_STRING"):
        if "sh" in request.GET:  # a shared link (views/sharing.py), unless moving inside it
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


def record_entry(request, state: live.AppState) -> bool:
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


def record_door(request, state: live.AppState) -> bool:
    """record_entry for the pages customers also reach without a door (the cart, the card, an
    order page, where a payment provider's site sends the customer back): a visit only when
    the query string names the door (?scene=…, a shared link's ?sh=…). The top bar's and the
    home page's recently used apps link straight to the page the customer left in an app,
    with ?scene=recent (shell/state.py)."""
    if "scene" not in request.GET and "sh" not in request.GET:
        return False
    return record_entry(request, state)


# --- the customer's own order, and paying ----------------------------------------------------


def customer_order(request, slug: str, order_id: str):
    """The customer's own order of this app, or 404 (another's, another app's, made up).
    The order pages (views/orders.py) and views/notifications.py use it."""
    order = ordering.access_order_for_customer(
        customer=current_customer(request), public_id=order_id
    )
    if order.app.slug != slug:
        raise Http404
    return order


def payment_choices(merchant) -> list[tuple[str, "StrOrPromise"]]:
    """(name, label) of each provider the customer can pay this merchant with."""
    choices = []
    for name in payments.payment_methods(merchant):
        provider = providers.get(name)
        assert provider is not None, name  # payment_methods names registered providers only
        choices.append((name, provider.label))
    return choices


def to_provider(request, intent: PaymentIntent, *, back: str, return_to: str | None = None):
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


def tip_from_form(request, merchant, *, of: int, currency: str) -> int:
    """The tip a pay form chose ("tip": none, one of the merchant's percentages of `of`, or
    "custom" with "tip_custom"), checked by flows.tips; PaymentError says what is wrong."""
    custom = None
    if request.POST.get("tip") == "custom":
        try:
            custom = parse_amount(request.POST.get("tip_custom", "").strip(), currency)
        except MoneyError:
            custom = -1  # check_tip says what is wrong
    return tips.tip_chosen(merchant, of=of, choice=request.POST.get("tip", ""), custom=custom)


def signin_url(next_url: str) -> str:
    """The sign-in page, coming back to next_url once signed in."""
    return reverse("shell:signin") + "?" + urlencode({"next": next_url})
