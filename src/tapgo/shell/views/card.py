"""The customer's card with a merchant (/m/<slug>/card/): membership (joining, level, points,
the rotating member code: shell/views/member.py) and stored value (balance, top-up tiers,
history, open top-ups); topping up online through a provider.
"""

import secrets

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tapgo.core.money import MoneyError, amount_input, parse_amount
from tapgo.coupons import services as coupons
from tapgo.identity.middleware import current_customer, ensure_customer
from tapgo.miniapps import live
from tapgo.miniapps import services as miniapps
from tapgo.payments import services as payments
from tapgo.payments import stored_value
from tapgo.payments.models import IntentStatus
from tapgo.shell import state as shell_state
from tapgo.shell.views.base import frame, payment_choices, record_door, signin_url, to_provider
from tapgo.shell.views.member import card_context, member_qr

MAX_AMOUNT_CHARS = 20


@require_http_methods(["GET", "POST"])
@shell_state.keeps
def card(request, slug: str):
    """The customer's card with this merchant: membership, stored value, top-up, code."""
    app = miniapps.live_app(slug)
    if request.method == "POST":
        return _topup(request, app)
    record_door(request, live.AppState.of_app(app))
    merchant = app.merchant
    customer = ensure_customer(request)
    tiers = [
        {"pay": t.pay, "get": t.pay + t.bonus, "value": amount_input(t.pay, merchant.currency)}
        for t in stored_value.tiers(merchant)
    ]
    context = frame(
        request,
        app,
        customer=customer,
        balance=stored_value.balance(merchant, customer),
        tiers=tiers,
        methods=payment_choices(merchant),
        topup_key=secrets.token_urlsafe(18),
        history=stored_value.history(merchant, customer, limit=50),
        open_topups=stored_value.open_topups(customer, merchant),
        member_qr=member_qr(customer.public_id),  # for a counter top-up
        signin_url=signin_url(reverse("shell:card", args=[app.slug])),
        coupons=coupons.coupons_usable(customer=customer, merchant_id=app.merchant_id),
        **card_context(app, customer),
    )
    return render(request, "shell/card.html", context)


def _topup(request, app):
    """Top up online: the amount, then the provider's page; the card grows when the
    provider confirms. The form's one-time key makes a double submit one top-up."""
    here = reverse("shell:card", args=[app.slug])
    customer = current_customer(request)
    if customer is None or customer.is_guest:
        messages.info(request, _("Sign in with your email to top up your card."))
        return redirect(signin_url(here))
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
    return to_provider(request, intent, back=here, return_to=reverse("shell:my_cards"))
