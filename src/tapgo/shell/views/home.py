"""The shell's home: pinned and recently used mini apps, and the mini apps near the customer.

The doors these lists are: a link from the recently used list records scene `recent`; so
does one from the pinned favourites, since the mini-program model counts "my mini programs"
(the pinned ones) with the recently used list as one door; one from the nearby page records
scene `nearby`. Each link goes back to the page the customer left in that app (the cart,
a product, …; shell/state.py), as the top bar's switcher does.

Thin, as every interface: discovery.services holds the lists and their rules.
"""

from babel.numbers import format_decimal
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tapgo.core.text import printable
from tapgo.core.urls import safe_next
from tapgo.discovery import services as discovery
from tapgo.identity.middleware import current_customer
from tapgo.miniapps import services as miniapps
from tapgo.shell import page
from tapgo.shell import state as shell_state

HOME_RECENT = 10


def _href(st: shell_state.ShellState, app) -> str:
    """Where a link to this app goes: the page the customer left there, else its menu."""
    home = page.url("shell:app", app.slug)
    path = st.resume_path(app.pk)
    return path if path and path.startswith(home) else home


@require_GET
def home(request):
    customer = current_customer(request)
    st = shell_state.of(request)
    pinned = discovery.favourites(customer)
    pinned_ids = {a.pk for a in pinned}
    # A pinned app is listed once, with the pins above.
    recent = [
        a
        for a in discovery.recently_used(customer, limit=HOME_RECENT + len(pinned))
        if a.pk not in pinned_ids
    ][:HOME_RECENT]
    context = {
        "pinned": [(a, _href(st, a)) for a in pinned],
        "recent": [(a, _href(st, a)) for a in recent],
    }
    return render(request, "shell/home.html", context)


def _locale() -> str:
    language = (translation.get_language() or "en").replace("-", "_")
    return "zh_Hans_CN" if language.lower() == "zh_hans" else language


def distance_label(metres: float) -> str:
    """A distance as a customer reads it: "350 m" to the nearest 10 m under 1 km, then
    "2.4 km" to a tenth, and whole kilometres from 10 km."""
    rounded = max(10, round(metres / 10) * 10)
    if rounded < 1000:
        return _("%(distance)s m") % {"distance": format_decimal(rounded, locale=_locale())}
    km = metres / 1000
    shown = round(km, 1) if km < 10 else round(km)
    text = format_decimal(shown, format="#,##0.#", locale=_locale())
    return _("%(distance)s km") % {"distance": text}


def _km(radius_m: int) -> str:
    return str(radius_m // 1000)


@require_GET
def nearby(request):
    """Mini apps of stores near a position (the home page's button sends the browser's),
    nearest first with the distance, and a link to widen the search."""
    context = {"steps": [_km(s) for s in discovery.RADIUS_STEPS_M]}
    lat, lng = request.GET.get("lat"), request.GET.get("lng")
    if lat is None and lng is None:
        return render(request, "shell/nearby.html", context)
    context.update(lat=printable((lat or "")[:40]), lng=printable((lng or "")[:40]))
    try:
        latitude, longitude = discovery.parse_position(lat, lng)
        radius = discovery.parse_radius(request.GET.get("r"))
        found = discovery.nearby(latitude=latitude, longitude=longitude, radius_m=radius)
    except discovery.DiscoveryError as exc:
        context["error"] = str(exc)
        return render(request, "shell/nearby.html", context, status=400)
    wider = discovery.wider_radius(radius)
    here = {"lat": f"{latitude:.6f}", "lng": f"{longitude:.6f}"}
    context.update(
        located=True,
        lat=here["lat"],
        lng=here["lng"],
        radius=_km(radius),
        wider=_km(wider) if wider else None,
        apps=[(n.app, distance_label(n.distance_m)) for n in found],
    )
    return render(request, "shell/nearby.html", context)


def _app_or_none(slug):
    try:
        return miniapps.live_app(slug)
    except Http404:
        return None


@require_POST
@shell_state.keeps
def recent_remove(request):
    """Take an app off the customer's recently used list (a later visit puts it back)."""
    app = _app_or_none(request.POST.get("app", ""))
    customer = current_customer(request)
    if app is None:
        messages.error(request, _("That mini app is not available."))
    elif customer is not None:
        discovery.recent_remove(customer=customer, app=app)
        st = shell_state.of(request)
        st.bind(request, customer)
        page.lists_changed(st)
        messages.success(
            request, _("%(name)s is off your recently used list.") % {"name": app.name}
        )
    return redirect("shell:home")


@require_POST
@shell_state.keeps
def pin(request, slug: str):
    """Pin the app to the customer's home (pinned=1) or unpin it (pinned=0), then back to
    the page the form was on. A form in the app's top bar and on the home page."""
    app = _app_or_none(slug)
    if app is None:
        messages.error(request, _("That mini app is not available."))
        return redirect("shell:home")
    back = safe_next(request, reverse("shell:app", args=[app.slug]))
    wanted = request.POST.get("pinned")
    if wanted not in ("0", "1"):
        messages.error(request, _("Choose to pin or to unpin."))
        return HttpResponseRedirect(back)
    st = shell_state.of(request)
    customer = st.customer(request)
    if wanted == "1":
        try:
            discovery.favourite_add(customer=customer, app=app)
        except discovery.DiscoveryError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(back)
        messages.success(request, _("%(name)s is pinned to your home.") % {"name": app.name})
    else:
        discovery.favourite_remove(customer=customer, app=app)
        messages.success(request, _("%(name)s is unpinned.") % {"name": app.name})
    page.lists_changed(st)
    return HttpResponseRedirect(back)
