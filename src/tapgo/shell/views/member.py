"""The membership part of the card page (/m/<slug>/card/): joining with one tap (a guest signs
in by email code first), the level and the way to the next, points and their history, the
rotating member code for the counter and its QR, and asking for "points changed" messages.

The code changes every 60 s: card.js asks `card/code` for the new one as each step begins;
without JavaScript the page shows the current code and a link that reloads it."""

import io

import segno
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

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


@require_POST
def join(request, slug: str):
    """Join the merchant's card: joining is the consent to be a member. A guest signs in by
    email code first and comes back to the card to join."""
    app = miniapps.live_app(slug)
    customer = current_customer(request)
    if customer is None or customer.is_guest:
        messages.info(request, _("Sign in with your email to join the card."))
        return redirect(signin_url(_card(app)))
    member = membership.member_join(merchant=app.merchant, customer=customer, app=app)
    messages.success(request, _("Welcome! You are member %(number)s.") % {"number": member.number})
    return redirect(_card(app))


@require_GET
@never_cache
def code(request, slug: str):
    """The member code block as it is now (card.js swaps it in as each step begins)."""
    app = miniapps.live_app(slug)
    member = membership.member_of(merchant=app.merchant, customer=current_customer(request))
    if member is None:
        return HttpResponse(status=404)
    return render(request, "shell/_member_code.html", {"app": app, **code_context(member)})


@require_POST
def notices(request, slug: str):
    """Ask for (or stop) a message each time the card's points change."""
    app = miniapps.live_app(slug)
    member = membership.member_of(merchant=app.merchant, customer=current_customer(request))
    if member is None:
        return redirect(_card(app))
    on = request.POST.get("on") == "1"
    if not points.notices_set(member=member, app=app, on=on):
        messages.error(request, _("This mini app does not send this notification."))
    elif on:
        messages.success(request, _("We will tell you when your points change."))
    else:
        messages.success(request, _("You will no longer be told when your points change."))
    return redirect(_card(app))
