"""Provider-facing endpoints: incoming webhooks, the sandbox provider's hosted pay page, the
card page for Stripe payments and the page that sends a customer to WeChat Pay.

The hosted page stands in for an external provider's checkout: its decision goes out only as
a signed webhook (see providers/sandbox.py), never straight to the order.
"""

import ipaddress
import logging

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tapgo.payments import services
from tapgo.payments.models import IntentStatus
from tapgo.payments.providers import WebhookRejected, wechatpay
from tapgo.payments.providers import stripe as stripe_provider

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 64 * 1024


@csrf_exempt
@require_POST
def webhook(request, provider: str, account_id: str | None = None):
    """Verified before anything is read; 200 once applied or seen before (so the provider
    stops retrying), 400 for what fails verification, 503 for an event that needs another
    one first (the provider delivers it again later)."""
    body = request.body
    if len(body) > MAX_WEBHOOK_BYTES:
        return _refusal(provider, "too large", 400)
    try:
        outcome = services.webhook_receive(
            provider=provider, body=body, headers=request.headers, account_id=account_id
        )
    except WebhookRejected as exc:
        log.warning("%s webhook refused: %s", provider, exc)
        return _refusal(provider, str(exc), 400)
    except services.EventTooEarly as exc:
        log.info("%s webhook deferred: %s", provider, exc)
        return _refusal(provider, str(exc), 503)
    return HttpResponse(outcome, content_type="text/plain")


def _refusal(provider: str, message: str, status: int) -> HttpResponse:
    if provider == wechatpay.NAME:  # WeChat Pay reads a JSON refusal, and then retries
        return JsonResponse({"code": "FAIL", "message": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain")


@require_http_methods(["GET", "POST"])
def sandbox_page(request, intent_id: str):
    intent = services.access_intent(intent_id)
    return_url = services.return_url(intent)
    if request.method == "POST" and intent.status == IntentStatus.REQUIRES_ACTION:
        services.sandbox_decide(intent=intent, approve=request.POST.get("decision") == "approve")
        return redirect(return_url)
    return render(
        request,
        "payments/sandbox_page.html",
        {"intent": intent, "order": intent.order, "topup": intent.topup, "return_url": return_url},
    )


@require_http_methods(["GET", "POST"])
def stripe_page(request, intent_id: str):
    """The card page for a Stripe payment. Stripe.js (allowed by this page's CSP only) turns
    the card into a payment method id; we confirm it with Stripe from our server. The order
    is marked paid by Stripe's webhook, never by this page."""
    return csp_override(stripe_provider.page_csp())(_stripe_page)(request, intent_id)


def _stripe_page(request, intent_id: str):
    intent = services.access_intent(intent_id)
    if intent.provider != stripe_provider.NAME:
        raise Http404
    return_url = services.return_url(intent)
    outcome, status = None, 200
    if request.method == "POST":
        if request.POST.get("authenticated"):
            outcome = stripe_provider.customer_authenticated(intent)
        else:
            outcome = stripe_provider.customer_pay(
                intent, payment_method=request.POST.get("payment_method", "")
            )
        if outcome.status in ("confirming", "declined"):
            if outcome.message:
                messages.error(request, outcome.message)
            return redirect(return_url)
        status = 400 if outcome.status == "retry" else 200
        intent.refresh_from_db()
    elif intent.status == IntentStatus.REQUIRES_ACTION and not intent.provider_ref:
        try:  # the PaymentIntent is normally made before the customer is sent here
            intent = services.intent_start(intent, return_url=return_url)
        except services.PaymentError as exc:
            outcome, status = stripe_provider.PageOutcome("retry", str(exc)), 503
    return render(
        request,
        "payments/stripe_page.html",
        {
            "intent": intent,
            "order": intent.order,
            "topup": intent.topup,
            "return_url": return_url,
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
    intent = services.access_intent(intent_id)
    if intent.provider != wechatpay.NAME:
        raise Http404
    return_url = services.return_url(intent)
    if intent.status != IntentStatus.REQUIRES_ACTION:
        return redirect(return_url)
    in_wechat = "MicroMessenger" in request.headers.get("User-Agent", "")
    link = wechatpay.H5Link()
    if not in_wechat:
        link = wechatpay.h5_link(
            intent,
            client_ip=_client_ip(request),
            return_url=request.build_absolute_uri(return_url),
        )
        if link.settled:
            return redirect(return_url)
    return render(
        request,
        "payments/wechatpay_page.html",
        {
            "intent": intent,
            "order": intent.order,
            "topup": intent.topup,
            "return_url": return_url,
            "link": link,
            "in_wechat": in_wechat,
        },
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
