"""The pages where a customer pays on our own site: the sandbox provider's hosted page, the
card page for Stripe payments and the page that sends a customer to WeChat Pay.

The hosted page stands in for an external provider's checkout: its decision goes out only as
a signed webhook (payments/providers/sandbox.py), never straight to the order. Stripe's and
WeChat's outcomes come from the provider (a webhook, or our question to it), never from the
page.
"""

import ipaddress

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods

from tapgo.core import links
from tapgo.flows.payment_events import reconcile_intent
from tapgo.ordering.models import Order, TableShare
from tapgo.payments import services as payments
from tapgo.payments.models import IntentStatus, PaymentIntent, Purpose
from tapgo.payments.providers import sandbox, wechatpay
from tapgo.payments.providers import stripe as stripe_provider


def return_url(intent: PaymentIntent) -> str:
    """Where the customer goes back to from a provider's page: the order, the table's bill,
    or their cards."""
    if intent.purpose == Purpose.ORDER:
        order = Order.objects.select_related("app").get(pk=intent.purpose_id)
        return links.order(order.app.slug, order.public_id)
    if intent.purpose == Purpose.SHARE:
        share = TableShare.objects.select_related("group__app").get(pk=intent.purpose_id)
        return links.table(share.group.app.slug)
    return links.my_cards()


@require_http_methods(["GET", "POST"])
def sandbox_page(request, intent_id: str):
    intent = payments.access_intent(intent_id)
    back = return_url(intent)
    if request.method == "POST" and intent.status == IntentStatus.REQUIRES_ACTION:
        sandbox.decide(intent=intent, approve=request.POST.get("decision") == "approve")
        return redirect(back)
    return render(request, "shell/pay/sandbox.html", {"intent": intent, "return_url": back})


@require_http_methods(["GET", "POST"])
def stripe_page(request, intent_id: str):
    """The card page for a Stripe payment. Stripe.js (allowed by this page's CSP only) turns
    the card into a payment method id; we confirm it with Stripe from our server. The order
    is marked paid by Stripe's webhook, never by this page."""
    return csp_override(stripe_provider.page_csp())(_stripe_page)(request, intent_id)


def _stripe_page(request, intent_id: str):
    intent = payments.access_intent(intent_id)
    if intent.provider != stripe_provider.NAME:
        raise Http404
    back = return_url(intent)
    outcome, status = None, 200
    if request.method == "POST":
        if request.POST.get("authenticated"):
            outcome = stripe_provider.customer_authenticated(intent, reconcile=reconcile_intent)
        else:
            outcome = stripe_provider.customer_pay(
                intent,
                payment_method=request.POST.get("payment_method", ""),
                return_url=back,
                reconcile=reconcile_intent,
            )
        if outcome.status in ("confirming", "declined"):
            if outcome.message:
                messages.error(request, outcome.message)
            return redirect(back)
        status = 400 if outcome.status == "retry" else 200
        intent.refresh_from_db()
    elif intent.status == IntentStatus.REQUIRES_ACTION and not intent.provider_ref:
        try:  # the PaymentIntent is normally made before the customer is sent here
            intent = payments.intent_start(intent=intent, return_url=back)
        except payments.PaymentError as exc:
            outcome, status = stripe_provider.PageOutcome("retry", str(exc)), 503
    return render(
        request,
        "shell/pay/stripe.html",
        {
            "intent": intent,
            "return_url": back,
            "publishable_key": intent.client_data.get("publishable_key", ""),
            "client_secret": outcome.client_secret if outcome else "",
            "error": outcome.message if outcome else "",
            "stripe_js_url": settings.STRIPE_JS_URL,
        },
        status=status,
    )


@never_cache
@require_GET
def wechatpay_page(request, intent_id: str):
    """WeChat Pay's H5 payment for one intent. The order is placed with WeChat from here, with
    the customer's own IP address (WeChat checks it is the one paying), and each visit gets a
    fresh link (WeChat's lasts five minutes). WeChat's notification marks the order paid,
    never this page. WeChat's own browser refuses H5 payments: the customer is told to open
    the page in their phone's browser."""
    intent = payments.access_intent(intent_id)
    if intent.provider != wechatpay.NAME:
        raise Http404
    back = return_url(intent)
    if intent.status != IntentStatus.REQUIRES_ACTION:
        return redirect(back)
    in_wechat = "MicroMessenger" in request.headers.get("User-Agent", "")
    link = wechatpay.H5Link()
    if not in_wechat:
        link = wechatpay.h5_link(
            intent,
            client_ip=_client_ip(request),
            return_url=request.build_absolute_uri(back),
            reconcile=reconcile_intent,
        )
        if link.settled:
            return redirect(back)
    return render(
        request,
        "shell/pay/wechatpay.html",
        {"intent": intent, "return_url": back, "link": link, "in_wechat": in_wechat},
        status=503 if link.message else 200,
    )


def _client_ip(request) -> str:
    """The customer's address as the server sees it (REMOTE_ADDR: a proxy in front must pass
    the client's own), for payment providers that check it."""
    address = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return "127.0.0.1"
