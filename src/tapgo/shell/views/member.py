"""The membership part of the card page (/m/<slug>/card/): joining with one tap (a guest signs
in by email code first), the level and the way to the next, points and their history, the
rotating member code for the counter and its QR, and asking for "points changed" and
"coupon about to expire" messages.

Joining from a page that needs it (an offer for members) comes back to that page (`next`).
A guest signs in first: the sign-in page carries the join (its `next` is the join action),
so the code they type both signs them in and joins, in one tap (shell/views/me.py).

The code changes every 60 s: card.js asks `card/code` for the new one as each step begins;
without JavaScript the page shows the current code and a link that reloads it."""

import io
from urllib.parse import parse_qs, urlencode, urlsplit

import segno
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.core.urls import safe_next
from tapgo.flows import membership as points
from tapgo.identity.middleware import current_customer
from tapgo.membership import services as membership
from tapgo.messaging import services as messaging
from tapgo.messaging.keys import TemplateKey
from tapgo.miniapps import services as miniapps
from tapgo.shell.views.base import signin_url

HISTORY = 50


def member_qr(code: str) -> str:
    """A code as an inline SVG (segno's own markup of our own digits or id: no user text)."""
    out = io.BytesIO()
    segno.make(code, error="m").save(
        out, kind="svg", scale=5, border=miniapps.QR_BORDER, xmldecl=False
    )
    return mark_safe(out.getvalue().decode())  # noqa: S308


def card_context(app, customer) -> dict:
    """What the card page shows of membership (a customer who has not joined: the offer)."""
    member = membership.member_of(merchant=app.merchant, customer=customer)
    if member is None:
        return {"member": None}
    progress = membership.level_progress(member)
    bps = progress.level.discount_bps if progress.level else 0
    return {
        "member": member,
        "progress": progress,
        "percent_off": f"{bps / 100:g}" if bps else "",
        "points_history": list(membership.points_history(member)[:HISTORY]),
        **code_context(member),
        "notices_offered": messaging.template_offered(app=app, key=TemplateKey.POINTS_CHANGED)
        is not None,
        "notices_on": points.notices_on(member=member, app=app),
        "coupon_notices_offered": messaging.template_offered(
            app=app, key=TemplateKey.COUPON_EXPIRING
        )
        is not None,
        "coupon_notices_on": points.notices_on(
            member=member, app=app, key=TemplateKey.COUPON_EXPIRING
        ),
    }


def code_context(member) -> dict:
    """The member code now: its digits (number, then the 6 that rotate), spaced to read out,
    its QR, and the step it belongs to (card.js fetches the next when the step changes)."""
    code = membership.member_code(member)
    return {
        "member_code": f"{code[:-6]} {code[-6:]}",
        "code_qr": member_qr(code),
        "code_step": membership.code_step(),
    }


def _card(app) -> str:
    return reverse("shell:card", args=[app.slug])


def join_url(app, back: str = "") -> str:
    """The join action, coming back to `back` (a path of this site) once joined."""
    url = reverse("shell:card_join", args=[app.slug])
    return f"{url}?{urlencode({'next': back})}" if back else url


def _local(path: str, host: str) -> bool:
    return (
        path.startswith("/")
        and not path.startswith(("//", "/\\"))
        and "\x00" not in path
        and url_has_allowed_host_and_scheme(path, allowed_hosts={host})
    )


def join_intent(request, next_url: str):
    """When the sign-in page's `next` is the join action of a live app: (the app, where to
    go once joined); else None."""
    parts = urlsplit(next_url)
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    if match.view_name != "shell:card_join":
        return None
    try:
        app = miniapps.live_app(match.kwargs["slug"])
    except Http404:
        return None
    back = (parse_qs(parts.query).get("next") or [""])[0]
    return app, back if _local(back, request.get_host()) else _card(app)


def welcome(request, member, new: bool) -> None:
    if new:
        text = _("Welcome! You are member %(number)s.") % {"number": member.number}
    else:
        text = _("You are member %(number)s already.") % {"number": member.number}
    messages.success(request, text)


@require_http_methods(["GET", "POST"])
def join(request, slug: str):
    """Join the merchant's card: joining is the consent to be a member, then back to `next`
    (the card by default). A guest signs in by email code first, with the join as the
    sign-in's `next`: typing the code joins. A GET (a link, the address typed) joins nobody:
    it goes back to `next`."""
    app = miniapps.live_app(slug)
    back = safe_next(request, _card(app))
    if request.method == "GET":
        return redirect(back)
    customer = current_customer(request)
    if customer is None or customer.is_guest:
        messages.info(request, _("Sign in with your email to join the card."))
        return redirect(signin_url(join_url(app, "" if back == _card(app) else back)))
    member, new = points.card_join(app=app, customer=customer)
    welcome(request, member, new)
    return redirect(back)


@require_GET
@never_cache
def code(request, slug: str):
    """The member code block as it is now (card.js swaps it in as each step begins)."""
    app = miniapps.live_app(slug)
    member = membership.member_of(merchant=app.merchant, customer=current_customer(request))
    if member is None:
        return HttpResponse(status=404)
    return render(request, "shell/_member_code.html", {"app": app, **code_context(member)})


NOTICES = {"points": TemplateKey.POINTS_CHANGED, "coupons": TemplateKey.COUPON_EXPIRING}


@require_POST
def notices(request, slug: str):
    """Ask for (or stop) a message each time the card's points change (`what` = points, the
    default) or before a coupon of theirs expires (`what` = coupons)."""
    app = miniapps.live_app(slug)
    member = membership.member_of(merchant=app.merchant, customer=current_customer(request))
    if member is None:
        return redirect(_card(app))
    on = request.POST.get("on") == "1"
    what = request.POST.get("what") or "points"
    key = NOTICES.get(what)
    if key is None or not points.notices_set(member=member, app=app, on=on, key=key):
        messages.error(request, _("This mini app does not send this notification."))
    elif what == "coupons":
        if on:
            messages.success(request, _("We will remind you before your coupons expire."))
        else:
            messages.success(request, _("You will no longer be reminded before coupons expire."))
    elif on:
        messages.success(request, _("We will tell you when your points change."))
    else:
        messages.success(request, _("You will no longer be told when your points change."))
    return redirect(_card(app))
