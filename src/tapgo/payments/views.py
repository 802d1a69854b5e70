"""Provider-facing endpoints: incoming webhooks, and the sandbox provider's hosted pay page.

The hosted page stands in for an external provider's checkout: its decision goes out only as
a signed webhook (see providers/sandbox.py), never straight to the order.
"""

import logging

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from tapgo.payments import services
from tapgo.payments.models import IntentStatus
from tapgo.payments.providers import WebhookRejected

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
        return HttpResponseBadRequest("too large")
    try:
        outcome = services.webhook_receive(
            provider=provider, body=body, headers=request.headers, account_id=account_id
        )
    except WebhookRejected as exc:
        log.warning("%s webhook refused: %s", provider, exc)
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    except services.EventTooEarly as exc:
        log.info("%s webhook deferred: %s", provider, exc)
        return HttpResponse(str(exc), status=503, content_type="text/plain")
    return HttpResponse(outcome, content_type="text/plain")


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
