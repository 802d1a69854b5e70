"""Stripe: PaymentIntents confirmed from our server, signed webhooks, refunds.

How a card payment goes:

1. `create` makes a PaymentIntent for our intent (our intent's public id is the idempotency
   key and is in its metadata) and sends the customer to our pay page (`stripe_page`).
2. On that page Stripe.js turns the card into a payment method id (the card number never
   reaches us); the page posts the id to our server, which attaches it to the PaymentIntent
   and confirms it there (`customer_pay`). Our intent is then *processing*.
3. When the bank asks for 3-D Secure, the page runs Stripe.js's challenge and tells our
   server, which asks Stripe how the payment stands (`customer_authenticated`).
4. Only Stripe's signed webhook (or, when it is late, our query: `query`) moves the intent
   to succeeded or failed; the page never marks anything paid.

Refunds take their outcome from Stripe's answer; later changes arrive as refund webhooks.

Secrets (`secret_key`, `webhook_secret`) come from the merchant's encrypted credentials, the
publishable key from the account's config. settings.STRIPE_API_BASE points the API at
another server (localstripe in the tests); None is the real Stripe.
"""

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import stripe
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tapgo.core import links
from tapgo.payments import credentials, providers
from tapgo.payments.models import IntentStatus, PaymentIntent
from tapgo.payments.providers import ProviderError, ProviderEvent, RefundResult, WebhookRejected
from tapgo.payments.services.intents import provider_account

if TYPE_CHECKING:
    from stripe.params import (
        PaymentIntentConfirmParams,
        PaymentIntentCreateParams,
        RefundCreateParams,
    )

log = logging.getLogger(__name__)

NAME = "stripe"
HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300
TIMEOUT_SECONDS = 20

PAYMENT_EVENTS = {
    "payment_intent.succeeded": providers.PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": providers.PAYMENT_FAILED,
}
# Events whose object is a Refund (charge.refund.updated is the older name of refund.updated).
REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
REFUND_STATUS = {
    "succeeded": providers.REFUND_SUCCEEDED,
    "failed": providers.REFUND_FAILED,
    "canceled": providers.REFUND_FAILED,
}
# PaymentIntent statuses in which the money is on its way: the webhook settles the rest.
CONFIRMED = {"succeeded", "processing", "requires_capture"}
# What Stripe.js hands the page: a PaymentMethod (pm_...) or, from a token, a card (card_...).
PAYMENT_METHOD_ID = re.compile(r"(pm|card)_[A-Za-z0-9_]{1,200}")


# --- talking to Stripe ---------------------------------------------------------------------


def client(account) -> stripe.StripeClient:
    secret_key = credentials.secrets_of(account).get("secret_key", "")
    if not secret_key:
        raise ProviderError("Stripe is not set up for this merchant (no secret key)")
    return _client(secret_key)


def _client(secret_key: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None,
        max_network_retries=2,  # with the idempotency key stripe-python sends on every POST
        http_client=stripe.new_default_http_client(timeout=TIMEOUT_SECONDS),
    )


def _ref(intent) -> str:
    if not intent.provider_ref.startswith("pi_"):
        raise ProviderError(f"intent {intent.public_id} has no Stripe PaymentIntent")
    return intent.provider_ref


def _failed(exc: stripe.StripeError) -> ProviderError:
    return ProviderError(f"Stripe: {type(exc).__name__}: {exc.user_message or exc}")


def _metadata(obj: dict) -> dict:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _text(value) -> str:
    return value if isinstance(value, str) else ""


# --- webhooks ------------------------------------------------------------------------------


def _check_signature(body: bytes, signature: str | None, secret: str) -> None:
    if not signature or not signature.isascii():  # compare_digest refuses non-ASCII text
        raise WebhookRejected("missing or malformed signature")
    try:
        stripe.WebhookSignature.verify_header(body, signature, secret, TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(f"bad signature: {exc.user_message or exc}") from None
    except ValueError:  # a body that is not UTF-8
        raise WebhookRejected("malformed body") from None


def _amount(obj: dict) -> int:
    amount = obj.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise WebhookRejected("malformed amount")
    return amount


def _currency(obj: dict) -> str:
    currency = obj.get("currency")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        raise WebhookRejected("malformed currency")
    return currency.upper()


def _intent_for_payment(payment_intent: str, account) -> str:
    """Our intent's public id for one of this merchant's PaymentIntents (for refunds made in
    Stripe's dashboard, which carry none of our metadata)."""
    if not payment_intent:
        return ""
    return (
        PaymentIntent.objects.filter(
            merchant_id=account.merchant_id, provider=NAME, provider_ref=payment_intent
        )
        .values_list("public_id", flat=True)
        .first()
        or ""
    )


def _refund_event(
    event_id: str, data: dict, refund: dict, account, payment_intent=""
) -> ProviderEvent:
    refund_id = refund.get("id")
    if not (isinstance(refund_id, str) and refund_id):
        raise WebhookRejected("malformed refund")
    kind = REFUND_STATUS.get(_text(refund.get("status")), providers.IGNORED)
    amount, currency = _amount(refund), _currency(refund)
    metadata = _metadata(refund)
    payment_intent = _text(refund.get("payment_intent")) or payment_intent
    intent = _text(metadata.get("tapgo_intent")) or _intent_for_payment(payment_intent, account)
    return ProviderEvent(
        event_id,
        kind,
        intent,
        amount,
        currency,
        data,
        refund_public_id=_text(metadata.get("tapgo_refund")),
        provider_ref=refund_id,
    )


def parse_event(body: bytes, account) -> ProviderEvent:
    """A verified event's meaning for us (call only after the signature has been checked)."""
    try:
        data = json.loads(body)
        event_id, kind, obj = data["id"], data["type"], data["data"]["object"]
    except (ValueError, KeyError, TypeError):
        raise WebhookRejected("malformed event") from None
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 100):
        raise WebhookRejected("malformed event id")
    if not (isinstance(kind, str) and isinstance(obj, dict)):
        raise WebhookRejected("malformed event")

    if kind in PAYMENT_EVENTS:
        pi = obj.get("id")
        if not (isinstance(pi, str) and pi.startswith("pi_")):
            raise WebhookRejected("malformed payment intent")
        intent = _text(_metadata(obj).get("tapgo_intent"))
        return ProviderEvent(
            event_id, PAYMENT_EVENTS[kind], intent, _amount(obj), _currency(obj), data,
            provider_ref=pi,
        )  # fmt: skip
    if kind in REFUND_EVENTS:
        return _refund_event(event_id, data, obj, account)
    if kind == "charge.refunded":
        # The charge lists its refunds newest first (older API versions): the newest is the
        # one this event is about; each refund also has its own refund.* events.
        refunds = obj.get("refunds")
        listed = refunds.get("data") if isinstance(refunds, dict) else None
        if isinstance(listed, list) and listed and isinstance(listed[0], dict):
            return _refund_event(
                event_id, data, listed[0], account, _text(obj.get("payment_intent"))
            )
    return ProviderEvent(event_id, providers.IGNORED, "", 0, "", data)


# --- the provider --------------------------------------------------------------------------


def key_mode(key: str) -> str:
    """ "live" or "test" as a Stripe key's prefix says (sk_live_…, pk_test_…), or ""."""
    for mode in ("live", "test"):
        if key.startswith((f"sk_{mode}_", f"rk_{mode}_", f"pk_{mode}_")):
            return mode
    return ""


class StripeProvider:
    name = NAME
    label = gettext_lazy("Stripe (cards)")
    pays_with = gettext_lazy("by card through Stripe")
    secret_fields = (
        ("secret_key", gettext_lazy("Secret key (sk_…)")),
        ("webhook_secret", gettext_lazy("Webhook signing secret (whsec_…)")),
    )
    config_fields = (("publishable_key", gettext_lazy("Publishable key (pk_…)")),)
    currencies = ()  # Stripe takes the merchant's currency, whichever it is

    def check_credentials(self, config: dict, secrets: dict) -> None:
        """Catch keys pasted into the wrong box before a customer meets them."""
        expected = [
            (secrets.get("secret_key", ""), ("sk_", "rk_"), _("The secret key starts with sk_.")),
            (
                secrets.get("webhook_secret", ""),
                ("whsec_",),
                _("The webhook secret starts with whsec_."),
            ),
            (
                config.get("publishable_key", ""),
                ("pk_",),
                _("The publishable key starts with pk_."),
            ),
        ]
        for value, prefixes, message in expected:
            if not value.startswith(prefixes):
                raise credentials.CredentialsError(message)

    def test_connection(self, config: dict, secrets: dict) -> providers.Connection:
        """List one PaymentIntent: harmless, and only a key that may work with payments
        (what Tapgo does with it) may. Test or live money is the key's own prefix."""
        self.check_credentials(config, secrets)
        secret_mode = key_mode(secrets["secret_key"])
        public_mode = key_mode(config["publishable_key"])
        if secret_mode and public_mode and secret_mode != public_mode:
            raise credentials.CredentialsError(
                _(
                    "One key is a test key and the other a live key: copy both from the same "
                    "mode of Stripe's dashboard."
                )
            )
        try:
            _client(secrets["secret_key"]).v1.payment_intents.list(params={"limit": 1})
        except stripe.AuthenticationError as exc:
            raise credentials.CredentialsError(
                _("Stripe refused the secret key: %(reason)s")
                % {"reason": exc.user_message or _("it is not a key of any Stripe account.")}
            ) from None
        except stripe.PermissionError:
            raise credentials.CredentialsError(
                _(
                    "Stripe knows this key, but it may not work with payments: use the "
                    "secret key, or a restricted key that may."
                )
            ) from None
        except stripe.StripeError as exc:
            raise _failed(exc) from exc
        return providers.Connection(live={"live": True, "test": False}.get(secret_mode))

    def create(self, intent, *, account, return_url: str) -> tuple[str, dict]:
        params: PaymentIntentCreateParams = {
            "amount": intent.amount,
            "currency": intent.currency.lower(),
            "metadata": {"tapgo_intent": intent.public_id, "merchant": intent.merchant.public_id},
        }
        if not settings.STRIPE_API_BASE:
            # Cards only: the pay page has a card field. Since API version 2026-09-30.endive
            # (stripe-python 16 sends a later one) Stripe answers the older
            # `payment_method_types` with a 400. localstripe (the tests' STRIPE_API_BASE)
            # refuses the new parameter, and takes cards without either.
            params["allowed_payment_method_types"] = ["card"]
        try:
            pi = client(account).v1.payment_intents.create(
                params=params, options={"idempotency_key": intent.public_id}
            )
        except stripe.StripeError as exc:
            raise _failed(exc) from exc
        return pi.id, {
            "url": links.pay_page(NAME, intent.public_id),
            "client_secret": pi.client_secret,
            "publishable_key": account.config.get("publishable_key", ""),
        }

    def verify_webhook(self, body: bytes, headers, *, account) -> ProviderEvent:
        secret = credentials.secrets_of(account).get("webhook_secret", "") if account else ""
        if not secret:
            raise WebhookRejected("no webhook signing secret for this endpoint")
        _check_signature(body, headers.get(HEADER), secret)
        return parse_event(body, account)

    def query(self, intent, *, account) -> ProviderEvent | None:
        if not intent.provider_ref:
            return None
        try:
            pi = client(account).v1.payment_intents.retrieve(_ref(intent))
        except stripe.StripeError as exc:
            raise _failed(exc) from exc
        if pi.status == "succeeded":
            kind = providers.PAYMENT_SUCCEEDED
        elif pi.status == "canceled" or (
            pi.status == "requires_payment_method" and getattr(pi, "last_payment_error", None)
        ):
            kind = providers.PAYMENT_FAILED
        else:
            return None
        return ProviderEvent(
            f"query:{pi.id}",
            kind,
            intent.public_id,
            pi.amount,
            pi.currency.upper(),
            {"id": pi.id, "status": pi.status, "amount": pi.amount, "currency": pi.currency},
            provider_ref=pi.id,
        )

    def refund(self, refund, *, account) -> RefundResult:
        intent = refund.intent
        params: RefundCreateParams = {
            "payment_intent": _ref(intent),
            "amount": refund.amount,
            "metadata": {"tapgo_refund": refund.public_id, "tapgo_intent": intent.public_id},
        }
        try:
            made = client(account).v1.refunds.create(
                params=params, options={"idempotency_key": refund.public_id}
            )
        except stripe.InvalidRequestError as exc:
            # Stripe refused this refund (more than is left, a disputed charge): it will not
            # succeed by asking again. Its postings are reversed.
            log.error("Stripe refused refund %s: %s", refund.public_id, exc.user_message or exc)
            return RefundResult("failed")
        except stripe.StripeError as exc:
            raise _failed(exc) from exc
        if made.status == "succeeded":
            return RefundResult("succeeded", made.id)
        if made.status in ("failed", "canceled"):
            return RefundResult("failed", made.id)
        return RefundResult("pending", made.id)  # pending, requires_action: a webhook follows

    def cancel(self, intent, *, account) -> None:
        if not intent.provider_ref:
            return
        try:
            client(account).v1.payment_intents.cancel(_ref(intent))
        except stripe.InvalidRequestError as exc:
            # Already succeeded or cancelled: a capture is then refunded as a surplus.
            log.info("Stripe did not cancel %s: %s", intent.provider_ref, exc.user_message or exc)
        except stripe.StripeError as exc:
            raise _failed(exc) from exc


PROVIDER = StripeProvider()


# --- the customer's pay page (payments.views.stripe_page) ----------------------------------


@dataclass(frozen=True)
class PageOutcome:
    # "confirming": the money is on its way (or the attempt is over): back to the order.
    # "authenticate": the bank wants 3-D Secure; the page runs it with client_secret.
    # "declined": the card was refused and the attempt has ended: back to the order.
    # "retry": nothing was charged; the page shows message and the card form again.
    status: str
    message: str = ""
    client_secret: str = ""


def _move(intent, old: str, new: str) -> bool:
    return bool(
        PaymentIntent.objects.filter(pk=intent.pk, status=old).update(
            status=new, updated_at=timezone.now()
        )
    )


def customer_pay(intent, *, payment_method: str, return_url: str, reconcile) -> PageOutcome:
    """Attach the card Stripe.js made to the PaymentIntent and confirm it from our server.

    Our intent is processing while Stripe decides: a second submit (double click, another
    tab) finds it so and changes nothing. A refused card ends the attempt at once (Stripe's
    answer to our query, not the page, says so: `reconcile(intent)` asks and applies it);
    anything that charged nothing puts the intent back to waiting for the customer.
    """
    if not PAYMENT_METHOD_ID.fullmatch(payment_method or ""):
        return PageOutcome("retry", _("Enter your card details again."))
    if not intent.provider_ref:
        return PageOutcome("retry", _("This payment is not ready yet. Please reload the page."))
    if not _move(intent, IntentStatus.REQUIRES_ACTION, IntentStatus.PROCESSING):
        return PageOutcome("confirming")
    account = provider_account(intent.merchant, NAME)
    params: PaymentIntentConfirmParams = {}
    if not settings.STRIPE_API_BASE:
        # 3-D Secure in the page (handleNextAction), or by redirect for methods that need one.
        # localstripe (the tests' STRIPE_API_BASE) implements neither parameter.
        params = {
            "use_stripe_sdk": True,
            "return_url": settings.PUBLIC_URL + return_url,
        }
    try:
        api = client(account).v1.payment_intents
        api.update(_ref(intent), params={"payment_method": payment_method})
        pi = api.confirm(_ref(intent), params=params)
    except stripe.CardError as exc:
        log.info("card declined for %s: %s", intent.public_id, exc.code)
        if reconcile(intent):
            return PageOutcome("declined", _("Your card was declined."))
        _move(intent, IntentStatus.PROCESSING, IntentStatus.REQUIRES_ACTION)
        return PageOutcome("retry", _("Your card was declined. Please try another card."))
    except (stripe.StripeError, ProviderError) as exc:
        # One PaymentIntent is charged at most once, so waiting again is safe even when the
        # confirmation did go through: its webhook still settles the intent.
        log.warning("confirming %s failed: %s", intent.public_id, exc)
        _move(intent, IntentStatus.PROCESSING, IntentStatus.REQUIRES_ACTION)
        if isinstance(exc, stripe.InvalidRequestError):
            return PageOutcome("retry", _("This card could not be used. Please try another."))
        return PageOutcome("retry", _("The payment service did not answer. Please try again."))
    if pi.status in CONFIRMED:
        return PageOutcome("confirming")
    _move(intent, IntentStatus.PROCESSING, IntentStatus.REQUIRES_ACTION)
    if pi.status == "requires_action":
        return PageOutcome("authenticate", client_secret=pi.client_secret or "")
    if reconcile(intent):
        return PageOutcome("declined", _("Your card was declined."))
    return PageOutcome("retry", _("The payment was not completed. Please try again."))


def customer_authenticated(intent, *, reconcile) -> PageOutcome:
    """The page finished Stripe.js's 3-D Secure step: ask Stripe how the payment stands
    (the browser's word is not taken)."""
    if intent.status != IntentStatus.REQUIRES_ACTION or not intent.provider_ref:
        return PageOutcome("confirming")
    account = provider_account(intent.merchant, NAME)
    try:
        pi = client(account).v1.payment_intents.retrieve(_ref(intent))
    except (stripe.StripeError, ProviderError) as exc:
        log.warning("asking about %s failed: %s", intent.public_id, exc)
        return PageOutcome("retry", _("The payment service did not answer. Please try again."))
    if pi.status in CONFIRMED:
        _move(intent, IntentStatus.REQUIRES_ACTION, IntentStatus.PROCESSING)
        return PageOutcome("confirming")
    if reconcile(intent):
        return PageOutcome("declined", _("Your card was declined."))
    if pi.status == "requires_action":
        return PageOutcome(
            "authenticate",
            _("Your bank needs you to confirm this payment."),
            client_secret=pi.client_secret or "",
        )
    return PageOutcome("retry", _("The card was not confirmed. Please try again."))


# --- the pay page's Content-Security-Policy ------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page_csp() -> dict:
    """The site's policy, plus what Stripe.js needs on the pay page only: its script, its
    API calls and its frames (the card field, 3-D Secure)."""
    config = {name: list(values) for name, values in settings.SECURE_CSP.items()}
    js = _origin(settings.STRIPE_JS_URL)
    extra = {"script-src": [js], "connect-src": [js], "frame-src": [js]}
    if js == "https://js.stripe.com":  # the real Stripe.js (Stripe's published list)
        extra["script-src"].append("https://*.js.stripe.com")
        extra["connect-src"].append("https://api.stripe.com")
        extra["frame-src"] += ["https://*.js.stripe.com", "https://hooks.stripe.com"]
    if settings.STRIPE_API_BASE:
        extra["connect-src"].append(_origin(settings.STRIPE_API_BASE))
    for name, values in extra.items():
        have = config.setdefault(name, list(config.get("default-src", ["'self'"])))
        have += [v for v in values if v not in have]
    return config
