"""The Stripe provider against a real (fake) Stripe: a localstripe server on loopback.

localstripe answers the API calls stripe-python makes and sends signed webhooks, about a
second after the call that caused them, to the live Django server's webhook URL for the
merchant's account. Only those webhooks (or our query, when one is late) mark an order paid.
"""

import json
import secrets
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
import stripe
from django.urls import reverse
from tests.localstripe_server import flush, register_webhook

from tapgo.flows import paying, payment_events
from tapgo.ordering.models import Order, OrderStatus
from tapgo.payments import credentials, services, tasks
from tapgo.payments.models import (
    IntentStatus,
    LedgerTransaction,
    PaymentIntent,
    ProviderAccount,
    Purpose,
    Refund,
    RefundStatus,
    TxKind,
    WebhookEvent,
)
from tapgo.payments.providers import IGNORED, REFUND_FAILED, REFUND_SUCCEEDED, WebhookRejected
from tapgo.payments.providers import get as get_provider
from tapgo.payments.providers import stripe as stripe_provider
from tapgo.payments.services import RefundError
from tapgo.payments.tests.accounts import switched_on
from tapgo.shell.views import pay as shell_pay

WAIT_SECONDS = 15
THREE_D_SECURE_CARD = "4000002500003155"


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def ls(localstripe, settings):
    """localstripe as Stripe for this test, with no objects left from another test."""
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_JS_URL = localstripe + "/js.stripe.com/v3/"
    flush(localstripe)
    return localstripe


@pytest.fixture
def secret():
    """Each test's own webhook secret: a late event from an earlier test fails to verify."""
    return "whsec_" + secrets.token_hex(16)


@pytest.fixture
def account(ls, merchant, secret):
    return switched_on(
        merchant=merchant,
        provider="stripe",
        config={"publishable_key": "pk_test_tapgo"},
        secrets={"secret_key": "sk_test_tapgo", "webhook_secret": secret},
    )


def hook_path(account) -> str:
    return reverse("payments:account_webhook", args=["stripe", account.public_id])


@pytest.fixture
def hooks(ls, transactional_db, live_server, account, secret):
    """localstripe delivers its webhooks to this account's URL on the live server."""
    register_webhook(ls, url=live_server.url + hook_path(account), secret=secret)
    return account


@pytest.fixture
def no_hooks(ls, account, secret):
    """Webhooks get lost (sent to a port where nothing listens)."""
    register_webhook(ls, url="http://127.0.0.1:9/lost", secret=secret)
    return account


@pytest.fixture
def api(ls):
    """Stripe's side, seen directly."""
    return stripe.StripeClient("sk_test_tapgo", base_addresses={"api": ls})


def start(order) -> PaymentIntent:
    intent = paying.intent_for_order(order=order, provider="stripe")
    return services.intent_start(intent=intent, return_url=shell_pay.return_url(intent))


def page(intent) -> str:
    return reverse("payments:stripe_page", args=[intent.public_id])


def status(obj) -> str:
    return type(obj).objects.values_list("status", flat=True).get(pk=obj.pk)


def wait_for(check, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT_SECONDS}s for {what}")
        time.sleep(0.05)
    return found


def events_about(intent):
    """The Stripe events recorded about intent's PaymentIntent. (localstripe signs with the
    registration current when it sends, so a late event from an earlier test verifies too; it
    names an intent this test does not have and is recorded as ignored.)"""
    return WebhookEvent.objects.filter(
        provider="stripe", payload__data__object__id=intent.provider_ref
    )


def wait_paid(order) -> None:
    wait_for(lambda: status(order) == OrderStatus.PAID, "the webhook to mark the order paid")


def stripe_event(intent, *, event_id="evt_test_1", kind="payment_intent.succeeded", **changes):
    """A Stripe event about intent's PaymentIntent, shaped as Stripe (and localstripe) send it."""
    obj = {
        "id": intent.provider_ref,
        "object": "payment_intent",
        "amount": intent.amount,
        "currency": intent.currency.lower(),
        "metadata": {"tapgo_intent": intent.public_id},
        "status": "succeeded",
        **changes,
    }
    event = {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}
    return json.dumps(event).encode()


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)


def post_hook(client, account, body: bytes, signature: str | None):
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    return client.post(
        hook_path(account), data=body, content_type="application/json", headers=headers
    )


def three_d_secure_card(api):
    card = {"number": THREE_D_SECURE_CARD, "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    return api.v1.payment_methods.create(params={"type": "card", "card": card})


def authenticate_3ds(ls, intent, *, success: bool) -> None:
    """What Stripe.js's 3-D Secure step does in the customer's browser (localstripe's form)."""
    secret = intent.client_data["client_secret"]
    body = json.dumps({"key": "pk_test_tapgo", "client_secret": secret})
    answer = "true" if success else "false"
    request = urllib.request.Request(
        f"{ls}/v1/payment_intents/{intent.provider_ref}/_authenticate?success={answer}",
        data=body.encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


# --- paying --------------------------------------------------------------------------------


def test_a_card_payment_is_marked_paid_by_the_signed_webhook(client, order, hooks, api):
    intent = start(order)
    assert intent.provider_ref.startswith("pi_")
    assert intent.client_data["url"] == page(intent)
    assert intent.client_data["publishable_key"] == "pk_test_tapgo"
    pi = api.v1.payment_intents.retrieve(intent.provider_ref)
    assert (pi.amount, pi.currency, pi.status) == (order.total, "cny", "requires_payment_method")
    assert pi.metadata.to_dict()["tapgo_intent"] == intent.public_id

    shown = client.get(page(intent))
    assert shown.status_code == 200
    assert 'data-publishable-key="pk_test_tapgo"' in shown.text
    assert 'data-client-secret=""' in shown.text  # only handed out for 3-D Secure

    response = client.post(page(intent), {"payment_method": "pm_card_visa"})
    assert response.status_code == 302
    assert response.url == shell_pay.return_url(intent)
    # The page does not mark anything paid: the intent waits for Stripe's word.
    assert status(intent) in (IntentStatus.PROCESSING, IntentStatus.SUCCEEDED)

    wait_paid(order)
    event = events_about(intent).get(kind="payment.succeeded")
    assert event.event_id.startswith("evt_")
    assert event.outcome == "applied"
    intent.refresh_from_db()
    assert (intent.status, intent.counted) == (IntentStatus.SUCCEEDED, True)
    assert api.v1.payment_intents.retrieve(intent.provider_ref).status == "succeeded"
    capture = LedgerTransaction.objects.get(intent=intent, kind=TxKind.CAPTURE)
    assert sum(e.amount for e in capture.entries.all() if e.amount > 0) == order.total


def test_a_declined_card_ends_the_attempt_and_the_order_stays_payable(client, order, hooks):
    intent = start(order)
    response = client.post(page(intent), {"payment_method": "pm_card_chargeCustomerFail"})
    assert response.status_code == 302
    assert response.url == shell_pay.return_url(intent)
    # Settled at once by asking Stripe (not on the page's word), before the webhook lands.
    assert status(intent) == IntentStatus.FAILED
    assert status(order) == OrderStatus.PENDING_PAYMENT
    # Stripe's own payment_failed webhook then finds it already settled.
    event = wait_for(
        lambda: events_about(intent).filter(kind="payment.failed").exclude(outcome="").first(),
        "the payment_failed webhook",
    )
    assert event.outcome == "ignored"
    assert not LedgerTransaction.objects.filter(intent=intent).exists()

    again = start(order)
    assert again.pk != intent.pk and again.provider_ref != intent.provider_ref
    assert client.post(page(again), {"payment_method": "pm_card_visa"}).status_code == 302
    wait_paid(order)


def test_3d_secure_is_run_in_the_page_and_the_webhook_decides(client, order, hooks, api, ls):
    intent = start(order)
    card = three_d_secure_card(api)
    shown = client.post(page(intent), {"payment_method": card.id})
    assert shown.status_code == 200
    assert f'data-client-secret="{intent.client_data["client_secret"]}"' in shown.text
    assert status(intent) == IntentStatus.REQUIRES_ACTION  # waiting for the customer's bank

    # The browser saying "done" before the bank has answered changes nothing.
    again = client.post(page(intent), {"authenticated": "1"})
    assert again.status_code == 200
    assert status(intent) == IntentStatus.REQUIRES_ACTION

    authenticate_3ds(ls, intent, success=True)
    response = client.post(page(intent), {"authenticated": "1"})
    assert response.status_code == 302
    assert status(intent) in (IntentStatus.PROCESSING, IntentStatus.SUCCEEDED)
    wait_paid(order)


def test_failed_3d_secure_ends_the_attempt(client, order, no_hooks, api, ls):
    intent = start(order)
    card = three_d_secure_card(api)
    client.post(page(intent), {"payment_method": card.id})
    authenticate_3ds(ls, intent, success=False)

    response = client.post(page(intent), {"authenticated": "1"})
    assert response.status_code == 302
    assert status(intent) == IntentStatus.FAILED
    assert status(order) == OrderStatus.PENDING_PAYMENT


# --- the pay page: bad input, other states ----------------------------------------------------


@pytest.mark.parametrize(
    "payment_method", ["", "garbage", "tok_visa", "pm_x\x00", "pm_" + "a" * 300]
)
def test_a_malformed_payment_method_is_refused_and_changes_nothing(
    client, order, no_hooks, payment_method
):
    intent = start(order)
    response = client.post(page(intent), {"payment_method": payment_method})
    assert response.status_code == 400
    assert "Enter your card details again." in response.text
    assert status(intent) == IntentStatus.REQUIRES_ACTION


def test_an_unknown_card_is_refused_and_the_customer_can_try_again(client, order, no_hooks, api):
    intent = start(order)
    response = client.post(page(intent), {"payment_method": "pm_does_not_exist"})
    assert response.status_code == 400
    assert "could not be used" in response.text
    assert status(intent) == IntentStatus.REQUIRES_ACTION

    assert client.post(page(intent), {"payment_method": "pm_card_visa"}).status_code == 302
    assert status(intent) == IntentStatus.PROCESSING
    assert api.v1.payment_intents.retrieve(intent.provider_ref).status == "succeeded"


def test_a_second_submit_does_not_confirm_again(client, order, no_hooks):
    intent = start(order)
    assert client.post(page(intent), {"payment_method": "pm_card_visa"}).status_code == 302
    # A double click: the intent is processing, so nothing is sent to Stripe again.
    response = client.post(page(intent), {"payment_method": "pm_card_chargeCustomerFail"})
    assert response.status_code == 302
    assert status(intent) == IntentStatus.PROCESSING
    shown = client.get(page(intent))
    assert 'data-testid="pay-confirming"' in shown.text
    assert 'id="stripe-pay"' not in shown.text


def test_the_page_is_only_for_stripe_intents(client, order, no_hooks, settings):
    assert client.get(reverse("payments:stripe_page", args=["x" * 20])).status_code == 404
    assert client.get(reverse("payments:stripe_page", args=["nonsense"])).status_code == 404
    settings.SANDBOX_PAYMENTS = True
    sandbox_intent = PaymentIntent.objects.create(
        merchant=order.merchant,
        purpose=Purpose.ORDER,
        purpose_id=order.pk,
        amount=order.total,
        currency="CNY",
    )
    assert client.get(page(sandbox_intent)).status_code == 404


def test_the_page_starts_the_payment_when_it_has_not_been(client, order, no_hooks):
    intent = paying.intent_for_order(order=order, provider="stripe")
    assert intent.provider_ref == ""
    shown = client.get(page(intent))
    assert shown.status_code == 200
    intent.refresh_from_db()
    assert intent.provider_ref.startswith("pi_")
    assert 'id="stripe-pay"' in shown.text


def test_the_page_says_so_when_stripe_cannot_be_reached(client, order, no_hooks, settings):
    intent = paying.intent_for_order(order=order, provider="stripe")
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens
    shown = client.get(page(intent))
    assert shown.status_code == 503
    assert "did not answer" in shown.text
    assert 'id="stripe-pay"' not in shown.text
    assert PaymentIntent.objects.get(pk=intent.pk).provider_ref == ""


def test_stripe_js_is_allowed_on_the_pay_page_only(client, order, no_hooks, ls):
    intent = start(order)
    shown = client.get(page(intent))
    policy = dict(
        part.strip().split(" ", 1) for part in shown.headers["Content-Security-Policy"].split(";")
    )
    for directive in ("script-src", "connect-src", "frame-src"):
        assert ls in policy[directive].split(), directive
    assert f'<script src="{ls}/js.stripe.com/v3/">' in shown.text
    assert "<script>" not in shown.text  # no inline script
    elsewhere = client.get(reverse("shell:order", args=[order.app.slug, order.public_id]))
    assert ls not in elsewhere.headers["Content-Security-Policy"]


def test_the_real_stripe_js_policy(settings):
    settings.STRIPE_API_BASE = None
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    config = stripe_provider.page_csp()
    assert "https://js.stripe.com" in config["script-src"]
    assert "https://api.stripe.com" in config["connect-src"]
    assert {"https://js.stripe.com", "https://hooks.stripe.com"} <= set(config["frame-src"])
    assert "'self'" in config["script-src"]
    assert config["object-src"] == settings.SECURE_CSP["object-src"]


def test_the_real_stripe_is_asked_for_cards_in_words_its_api_version_takes(
    order, merchant, settings, monkeypatch
):
    """stripe-python sends its own API version, which (since 2026-09-30.endive) answers
    `payment_method_types` with a 400. localstripe takes only that older parameter, so the
    tests against it cannot see what the real Stripe is sent: this one looks."""
    settings.STRIPE_API_BASE = None
    sent = {}

    class PaymentIntents:
        def create(self, *, params, options):
            sent.update(params)
            return SimpleNamespace(id="pi_tapgo", client_secret="pi_tapgo_secret_x")

    stripe_api = SimpleNamespace(v1=SimpleNamespace(payment_intents=PaymentIntents()))
    monkeypatch.setattr(stripe_provider, "client", lambda account: stripe_api)
    account = switched_on(
        merchant=merchant,
        provider="stripe",
        config={"publishable_key": "pk_test_tapgo"},
        secrets={"secret_key": "sk_test_tapgo", "webhook_secret": "whsec_tapgo"},
    )
    intent = paying.intent_for_order(order=order, provider="stripe")
    stripe_provider.PROVIDER.create(intent, account=account, return_url="/")
    assert sent["allowed_payment_method_types"] == ["card"]
    assert "payment_method_types" not in sent
    assert sent["amount"] == order.total


# --- refunds -------------------------------------------------------------------------------


def paid(client, order) -> PaymentIntent:
    intent = start(order)
    assert client.post(page(intent), {"payment_method": "pm_card_visa"}).status_code == 302
    wait_paid(order)
    intent.refresh_from_db()
    return intent


def test_a_partial_refund_then_the_rest_go_back_to_the_card(client, order, hooks, api):
    intent = paid(client, order)

    [first] = services.refund_purpose(
        purpose=Purpose.ORDER, purpose_id=order.pk, amount=1000, reason="cold coffee"
    )
    first.refresh_from_db()
    assert first.status == RefundStatus.SUCCEEDED
    assert first.provider_ref.startswith("re_")
    stripe_refund = api.v1.refunds.retrieve(first.provider_ref)
    assert (stripe_refund.amount, stripe_refund.status) == (1000, "succeeded")
    assert stripe_refund.metadata.to_dict()["tapgo_refund"] == first.public_id

    [rest] = services.refund_purpose(
        purpose=Purpose.ORDER, purpose_id=order.pk, amount=order.total - 1000
    )
    rest.refresh_from_db()
    assert rest.status == RefundStatus.SUCCEEDED
    intent.refresh_from_db()
    assert intent.refunded_amount == order.total

    pi = api.v1.payment_intents.retrieve(intent.provider_ref)
    charge = pi.latest_charge if isinstance(pi.latest_charge, str) else pi.latest_charge.id
    assert api.v1.charges.retrieve(charge).amount_refunded == order.total

    with pytest.raises(RefundError, match="more than is left"):
        services.refund_purpose(purpose=Purpose.ORDER, purpose_id=order.pk, amount=1)
    assert Refund.objects.count() == 2


def test_a_refund_stripe_refuses_is_reversed(client, order, hooks, api, settings):
    intent = paid(client, order)
    # Stripe no longer knows the payment (another Stripe account's key, say): it refuses.
    PaymentIntent.objects.filter(pk=intent.pk).update(provider_ref="pi_unknown_to_stripe")
    [refund] = services.refund_purpose(purpose=Purpose.ORDER, purpose_id=order.pk, amount=500)
    assert status(refund) == RefundStatus.FAILED
    intent.refresh_from_db()
    assert intent.refunded_amount == 0
    assert LedgerTransaction.objects.filter(refund=refund, kind=TxKind.REFUND_FAILED).exists()


def test_a_refund_stripe_cannot_be_reached_for_stays_pending(client, order, hooks, settings):
    paid(client, order)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # down
    [refund] = services.refund_purpose(purpose=Purpose.ORDER, purpose_id=order.pk, amount=500)
    refund.refresh_from_db()
    assert (refund.status, refund.provider_ref) == (RefundStatus.PENDING, "")


def test_a_refund_made_in_the_stripe_dashboard_is_recorded_once(client, order, hooks, secret):
    intent = paid(client, order)
    refund = {
        "id": "re_dashboard_1",
        "object": "refund",
        "amount": 700,
        "currency": "cny",
        "status": "succeeded",
        "payment_intent": intent.provider_ref,
        "metadata": {},
    }
    for event_id in ("evt_refund_1", "evt_refund_2"):  # refund.created, then refund.updated
        body = json.dumps(
            {"id": event_id, "type": "refund.updated", "data": {"object": refund}}
        ).encode()
        response = post_hook(client, hooks, body, sign(body, secret))
        assert response.status_code == 200, response.text
    recorded = Refund.objects.get(intent=intent)
    assert (recorded.amount, recorded.provider_ref, recorded.status) == (
        700,
        "re_dashboard_1",
        RefundStatus.SUCCEEDED,
    )
    intent.refresh_from_db()
    assert intent.refunded_amount == 700


# --- webhooks: what may not pass -----------------------------------------------------------


def bad_deliveries(intent, secret):
    now = int(time.time())
    good = stripe_event(intent)
    return {
        "forged": (good, sign(good, "whsec_someone_else")),
        "tampered": (stripe_event(intent, amount=1), sign(good, secret)),
        "body changed after signing": (good + b" ", sign(good, secret)),
        "stale": (good, sign(good, secret, timestamp=now - 301)),
        "no signature": (good, None),
        "empty signature": (good, ""),
        "garbage signature": (good, "garbage"),
        "not ASCII": (good, f"t={now},v1=é"),
        "huge timestamp": (good, "t=" + "9" * 5000 + ",v1=00"),
        "not UTF-8": (b"\xff\xfe", sign(b"", secret, timestamp=now)),
        "wrong currency": (
            (body := stripe_event(intent, event_id="evt_cur", currency="usd")),
            sign(body, secret),
        ),
        "wrong amount": (
            (body := stripe_event(intent, event_id="evt_amt", amount=intent.amount - 1)),
            sign(body, secret),
        ),
        "not JSON": (b"{nope", sign(b"{nope", secret)),
        "no object": (b'{"id":"evt_x","type":"payment_intent.succeeded"}', None),
        "bad amount": (
            (body := stripe_event(intent, event_id="evt_bad", amount="26.00")),
            sign(body, secret),
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "forged",
        "tampered",
        "body changed after signing",
        "stale",
        "no signature",
        "empty signature",
        "garbage signature",
        "not ASCII",
        "huge timestamp",
        "not UTF-8",
        "wrong currency",
        "wrong amount",
        "not JSON",
        "no object",
        "bad amount",
    ],
)
def test_bad_webhooks_are_refused_and_change_nothing(client, order, no_hooks, secret, case):
    intent = start(order)
    body, signature = bad_deliveries(intent, secret)[case]
    if case == "no object":
        signature = sign(body, secret)
    response = post_hook(client, no_hooks, body, signature)
    assert response.status_code == 400, response.text
    assert status(intent) == IntentStatus.REQUIRES_ACTION
    assert status(order) == OrderStatus.PENDING_PAYMENT
    assert not WebhookEvent.objects.exists()


def test_a_webhook_for_another_endpoint_is_refused(client, order, no_hooks, secret):
    intent = start(order)
    body = stripe_event(intent)
    headers = {"Stripe-Signature": sign(body, secret)}
    for path in (
        reverse("payments:account_webhook", args=["stripe", "x" * 12]),  # no such account
        reverse("payments:webhook", args=["stripe"]),  # Stripe needs the account's URL
    ):
        response = client.post(path, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 400
    assert status(order) == OrderStatus.PENDING_PAYMENT


def test_another_merchants_stripe_account_cannot_pay_this_order(
    client, order, no_hooks, other_merchant
):
    intent = start(order)
    other = switched_on(
        merchant=other_merchant,
        provider="stripe",
        config={"publishable_key": "pk_test_other"},
        secrets={"secret_key": "sk_test_other", "webhook_secret": "whsec_other"},
    )
    body = stripe_event(intent)
    response = post_hook(client, other, body, sign(body, "whsec_other"))
    assert (response.status_code, response.text) == (200, "ignored")  # names no intent of theirs
    assert status(intent) == IntentStatus.REQUIRES_ACTION
    assert status(order) == OrderStatus.PENDING_PAYMENT


def test_a_replayed_event_is_a_duplicate_and_a_changed_replay_is_refused(
    client, order, hooks, secret
):
    intent = paid(client, order)
    event = events_about(intent).get(kind="payment.succeeded")
    paid_at = Order.objects.get(pk=order.pk).paid_at
    body = json.dumps(event.payload).encode()

    response = post_hook(client, hooks, body, sign(body, secret))
    assert (response.status_code, response.text) == (200, "duplicate")

    changed = json.dumps({**event.payload, "type": "payment_intent.payment_failed"}).encode()
    assert post_hook(client, hooks, changed, sign(body, secret)).status_code == 400

    assert events_about(intent).count() == 1
    assert Order.objects.get(pk=order.pk).paid_at == paid_at
    assert status(order) == OrderStatus.PAID


def test_an_event_without_our_metadata_is_matched_by_its_payment_intent(
    client, order, no_hooks, secret
):
    intent = start(order)
    body = stripe_event(intent, metadata={})
    response = post_hook(client, no_hooks, body, sign(body, secret))
    assert (response.status_code, response.text) == (200, "applied")
    assert status(order) == OrderStatus.PAID


def test_an_event_we_do_not_act_on_is_acknowledged(client, no_hooks, secret):
    body = json.dumps(
        {"id": "evt_customer", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    ).encode()
    response = post_hook(client, no_hooks, body, sign(body, secret))
    assert (response.status_code, response.text) == (200, "ignored")
    assert WebhookEvent.objects.get(event_id="evt_customer").outcome == "ignored"


def test_refund_events_are_read_from_the_refund_or_the_charge(order, no_hooks):
    refund = {
        "id": "re_1",
        "object": "refund",
        "amount": 300,
        "currency": "cny",
        "payment_intent": "pi_1",
        "metadata": {"tapgo_refund": "r" * 16, "tapgo_intent": "i" * 20},
    }

    def parse(kind, obj):
        body = json.dumps({"id": "evt_r", "type": kind, "data": {"object": obj}}).encode()
        return stripe_provider.parse_event(body, no_hooks)

    event = parse("refund.updated", {**refund, "status": "succeeded"})
    assert (event.kind, event.refund_public_id, event.intent_public_id) == (
        REFUND_SUCCEEDED,
        "r" * 16,
        "i" * 20,
    )
    assert (event.provider_ref, event.amount, event.currency) == ("re_1", 300, "CNY")
    assert parse("charge.refund.updated", {**refund, "status": "failed"}).kind == REFUND_FAILED
    assert parse("refund.updated", {**refund, "status": "pending"}).kind == IGNORED
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_1",
        "refunds": {"data": [{**refund, "status": "succeeded"}]},
    }
    assert parse("charge.refunded", charge).refund_public_id == "r" * 16
    assert parse("charge.refunded", {"id": "ch_1", "object": "charge"}).kind == IGNORED
    with pytest.raises(WebhookRejected):
        parse("refund.updated", {**refund, "amount": -1})


# --- reconciliation and cancelling ---------------------------------------------------------


def test_reconciliation_settles_a_payment_whose_webhook_was_lost(client, order, no_hooks):
    intent = start(order)
    assert payment_events.reconcile_intent(intent) is False  # not paid yet: nothing to settle
    assert client.post(page(intent), {"payment_method": "pm_card_visa"}).status_code == 302
    time.sleep(1.5)  # localstripe has sent (and lost) its webhook by now
    assert status(intent) == IntentStatus.PROCESSING
    assert status(order) == OrderStatus.PENDING_PAYMENT

    assert payment_events.reconcile_intent(intent) is True
    assert status(order) == OrderStatus.PAID
    assert status(intent) == IntentStatus.SUCCEEDED
    # Asking again changes nothing.
    payment_events.reconcile_intent(intent)
    assert LedgerTransaction.objects.filter(intent=intent, kind=TxKind.CAPTURE).count() == 1


def test_the_periodic_sweep_asks_stripe_about_late_intents(client, order, no_hooks):
    from datetime import timedelta

    intent = start(order)
    client.post(page(intent), {"payment_method": "pm_card_visa"})
    assert payment_events.reconcile_due(older_than=timedelta(0)) == 1
    assert status(order) == OrderStatus.PAID


def test_an_abandoned_payment_is_cancelled_at_stripe(
    order, no_hooks, api, django_capture_on_commit_callbacks
):
    intent = start(order)
    with django_capture_on_commit_callbacks(execute=True):
        services.open_attempts_cancel(
            purpose=Purpose.ORDER, purpose_id=order.pk
        )  # the order ended unpaid
    assert status(intent) == IntentStatus.CANCELLED
    assert api.v1.payment_intents.retrieve(intent.provider_ref).status == "canceled"
    # Cancelling again (a retried task) is harmless.
    tasks.cancel_at_provider.call(intent.pk)


def test_cancelling_a_payment_that_already_succeeded_is_harmless(client, order, no_hooks, api):
    intent = start(order)
    client.post(page(intent), {"payment_method": "pm_card_visa"})
    intent.refresh_from_db()
    get_provider("stripe").cancel(intent, account=no_hooks)
    assert api.v1.payment_intents.retrieve(intent.provider_ref).status == "succeeded"


def test_stripe_needs_its_keys(merchant):
    with pytest.raises(credentials.CredentialsError):
        credentials.save(
            merchant=merchant, provider="stripe", config={}, secrets={"secret_key": "sk_test_x"}
        )


@pytest.mark.parametrize(
    "config, secrets",
    [
        (
            {"publishable_key": "pk_test_x"},
            {"secret_key": "pk_test_x", "webhook_secret": "whsec_x"},
        ),
        (
            {"publishable_key": "sk_test_x"},
            {"secret_key": "sk_test_x", "webhook_secret": "whsec_x"},
        ),
        ({"publishable_key": "pk_test_x"}, {"secret_key": "sk_test_x", "webhook_secret": "sk_x"}),
    ],
)
def test_keys_in_the_wrong_boxes_are_refused(merchant, config, secrets):
    with pytest.raises(credentials.CredentialsError, match="starts with"):
        credentials.save(merchant=merchant, provider="stripe", config=config, secrets=secrets)
    assert not ProviderAccount.objects.exists()


# --- the connection test --------------------------------------------------------------------

KEYS = {"secret_key": "sk_test_tapgo", "webhook_secret": "whsec_tapgo"}
PUBLIC = {"publishable_key": "pk_test_tapgo"}


def test_a_connection_test_lists_a_payment_and_switches_stripe_on(ls, merchant):
    assert services.payment_methods(merchant) == ["sandbox"]
    account = credentials.connect(
        merchant=merchant, provider="stripe", config=PUBLIC, secrets=KEYS, enable=True
    )
    assert account.enabled and account.tested_at is not None
    assert account.tested_live is False  # a test key: no real money moves
    assert services.payment_methods(merchant) == ["stripe"]


class _RefusingStripe(BaseHTTPRequestHandler):
    """Answers as Stripe does to a key it does not know (sk_test_123)."""

    def do_GET(self):
        body = json.dumps(
            {
                "error": {
                    "message": "Invalid API Key provided: sk_test_***123",
                    "type": "invalid_request_error",
                }
            }
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_stripe(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingStripe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    yield
    server.shutdown()
    server.server_close()


def test_a_key_stripe_refuses_is_never_stored(refusing_stripe, merchant):
    secrets = KEYS | {"secret_key": "sk_test_123"}
    with pytest.raises(credentials.CredentialsError, match="Stripe refused the secret key"):
        credentials.connect(merchant=merchant, provider="stripe", config=PUBLIC, secrets=secrets)
    assert not ProviderAccount.objects.exists()
    assert services.payment_methods(merchant) == ["sandbox"]


def test_stripe_not_answering_changes_nothing(merchant, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(credentials.CredentialsError, match="did not answer"):
        credentials.connect(merchant=merchant, provider="stripe", config=PUBLIC, secrets=KEYS)
    assert not ProviderAccount.objects.exists()


def test_a_test_key_beside_a_live_key_is_refused_before_asking(merchant, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(credentials.CredentialsError, match="test key and the other a live key"):
        credentials.connect(
            merchant=merchant,
            provider="stripe",
            config={"publishable_key": "pk_live_tapgo"},
            secrets=KEYS,
        )


def test_a_changed_key_clears_the_test_and_switching_on_waits_for_another(ls, merchant):
    credentials.connect(
        merchant=merchant, provider="stripe", config=PUBLIC, secrets=KEYS, enable=True
    )
    # Saving the same settings keeps it on; a new key is untested: refused switched on...
    credentials.save(merchant=merchant, provider="stripe", config=PUBLIC, secrets={})
    with pytest.raises(credentials.CredentialsError, match="Test the connection first"):
        credentials.save(
            merchant=merchant,
            provider="stripe",
            config=PUBLIC,
            secrets={"secret_key": "sk_test_new"},
        )
    account = ProviderAccount.objects.get()
    assert account.enabled and credentials.secrets_of(account)["secret_key"] == "sk_test_tapgo"
    # ...and saved switched off it clears the test.
    credentials.save(
        merchant=merchant,
        provider="stripe",
        config=PUBLIC,
        secrets={"secret_key": "sk_test_new"},
        enabled=False,
    )
    account.refresh_from_db()
    assert not account.enabled and account.tested_at is None and account.tested_live is None
    credentials.connect(
        merchant=merchant, provider="stripe", config=PUBLIC, secrets={}, enable=True
    )
    account.refresh_from_db()
    assert account.enabled and account.tested_at is not None
