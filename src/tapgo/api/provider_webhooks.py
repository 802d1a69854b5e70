"""Payment providers' webhooks: verified before anything is read, then applied once
(flows/payment_events.py)."""

import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tapgo.flows import payment_events
from tapgo.payments import services as payments
from tapgo.payments.providers import WebhookRejected, wechatpay

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 64 * 1024


@csrf_exempt
@require_POST
def webhook(request, provider: str, account_id: str | None = None):
    """200 once applied or seen before (so the provider stops retrying), 400 for what fails
    verification, 503 for an event that needs another one first (the provider delivers it
    again later)."""
    body = request.body
    if len(body) > MAX_WEBHOOK_BYTES:
        return _refusal(provider, "too large", 400)
    try:
        outcome = payment_events.webhook_receive(
            provider=provider, body=body, headers=request.headers, account_id=account_id
        )
    except WebhookRejected as exc:
        log.warning("%s webhook refused: %s", provider, exc)
        return _refusal(provider, str(exc), 400)
    except payments.EventTooEarly as exc:
        log.info("%s webhook deferred: %s", provider, exc)
        return _refusal(provider, str(exc), 503)
    return HttpResponse(outcome, content_type="text/plain")


def _refusal(provider: str, message: str, status: int) -> HttpResponse:
    if provider == wechatpay.NAME:  # WeChat Pay reads a JSON refusal, and then retries
        return JsonResponse({"code": "FAIL", "message": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain")
