"""The sandbox provider's signed webhooks and what they may (and may not) do to an order."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tapgo.core.actors import SYSTEM
from tapgo.flows import orders as order_flows
from tapgo.flows.paying import intent_for_order
from tapgo.flows.payment_events import webhook_receive
from tapgo.ordering.models import Order, OrderStatus
from tapgo.payments import services
from tapgo.payments.models import IntentStatus, PaymentIntent, Purpose, SandboxOutbox, WebhookEvent
from tapgo.payments.providers import WebhookRejected, sandbox
from tapgo.payments.providers import sandbox as sandbox_provider
from tapgo.payments.services import PaymentError


def event(intent, *, event_id="evt_1", kind="payment.succeeded", amount=None, currency=None):
    return sandbox.event_body(
        event_id=event_id,
        kind=kind,
        intent_public_id=intent.public_id,
        amount=intent.amount if amount is None else amount,
        currency=intent.currency if currency is None else currency,
    )


def deliver(body: bytes, signature: str | None = "sign"):
    if signature == "sign":
        signature = sandbox.sign(body)
    return webhook_receive(provider="sandbox", body=body, headers={sandbox.HEADER: signature or ""})


def fully_refunded(intent) -> bool:
    """Captured, and given back in full (the refund itself goes out through the provider)."""
    intent.refresh_from_db()
    return intent.status == IntentStatus.SUCCEEDED and intent.refunded_amount == intent.amount


def status(obj):
    return type(obj).objects.values_list("status", flat=True).get(pk=obj.pk)


# --- signatures ---------------------------------------------------------------------------


def test_sign_and_verify_round_trip(settings):
    body = sandbox.event_body(
        event_id="evt_1", kind="payment.succeeded", intent_public_id="i", amount=1, currency="CNY"
    )
    signature = sandbox.sign(body, timestamp=1_700_000_000)
    assert signature.startswith("t=1700000000,v1=")
    parsed = sandbox.verify(body, signature, now=1_700_000_000 + 299)
    assert (parsed.event_id, parsed.kind, parsed.intent_public_id) == (
        "evt_1",
        "payment.succeeded",
        "i",
    )
    assert (parsed.amount, parsed.currency) == (1, "CNY")

    settings.SANDBOX_WEBHOOK_SECRET = "another secret"
    with pytest.raises(WebhookRejected, match="bad signature"):
        sandbox.verify(body, signature, now=1_700_000_000)


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "garbage",
        "t=abc,v1=00",
        "v1=00",
        "t=1700000000",
        "t=1700000000,v1=" + "0" * 64,
        "t=1700000000,v1=é",  # not ASCII: a clean rejection, not a crash
        "t=" + "9" * 400 + ",v1=00",  # too large for a float: likewise
        "t=" + "9" * 5000 + ",v1=00",  # too long for int()
    ],
)
def test_malformed_or_wrong_signatures_are_rejected(signature):
    with pytest.raises(WebhookRejected):
        sandbox.verify(b"{}", signature, now=1_700_000_000)


@pytest.mark.parametrize("skew", [-301, 301, -(10**9)])
def test_stale_or_future_timestamps_are_rejected(skew):
    body = b"{}"
    signature = sandbox.sign(body, timestamp=1_700_000_000)
    with pytest.raises(WebhookRejected, match="stale"):
        sandbox.verify(body, signature, now=1_700_000_000 - skew)


# --- receiving ----------------------------------------------------------------------------


@pytest.fixture
def intent(order):
    return intent_for_order(order=order)


def test_a_signed_event_marks_the_order_paid(order, intent):
    assert deliver(event(intent)) == "applied"

    assert status(order) == OrderStatus.PAID
    assert status(intent) == IntentStatus.SUCCEEDED
    assert WebhookEvent.objects.get().event_id == "evt_1"
    assert Order.objects.get(pk=order.pk).paid_at is not None


def test_a_replayed_event_is_a_duplicate_and_changes_nothing(order, intent):
    body = event(intent)
    assert deliver(body) == "applied"
    paid_at = Order.objects.get(pk=order.pk).paid_at

    assert deliver(body) == "duplicate"
    assert deliver(body, sandbox.sign(body, timestamp=int(time.time()) - 5)) == "duplicate"

    assert WebhookEvent.objects.count() == 1
    assert Order.objects.get(pk=order.pk).paid_at == paid_at
    assert status(intent) == IntentStatus.SUCCEEDED


def test_a_failed_payment_leaves_the_order_waiting(order, intent):
    assert deliver(event(intent, kind="payment.failed")) == "applied"
    assert status(intent) == IntentStatus.FAILED
    assert status(order) == OrderStatus.PENDING_PAYMENT
    # The customer can try again with a new intent.
    again = intent_for_order(order=order)
    assert again.pk != intent.pk
    assert status(again) == IntentStatus.REQUIRES_ACTION


def _forged(intent):
    body = event(intent)
    timestamp = int(time.time())
    import hashlib
    import hmac

    mac = hmac.new(b"not the secret", f"{timestamp}.".encode() + body, hashlib.sha256)
    return body, f"t={timestamp},v1={mac.hexdigest()}"


def _bad_deliveries(intent):
    good = event(intent)
    now = int(time.time())
    malformed = b'{"id":"evt_1","type":"payment.succeeded","data":'
    unknown = json.dumps(
        {
            "id": "evt_1",
            "type": "payment.refunded",
            "data": {"intent": intent.public_id, "amount": intent.amount, "currency": "CNY"},
        }
    ).encode()
    return {
        "forged with the wrong secret": _forged(intent),
        "truncated body": (good[:-7], sandbox.sign(good)),
        "body changed after signing": (
            good.replace(b"evt_1", b"evt_2"),
            sandbox.sign(good),
        ),
        "stale timestamp": (good, sandbox.sign(good, timestamp=now - 3600)),
        "missing header": (good, None),
        "malformed json": (malformed, sandbox.sign(malformed)),
        "unknown type": (unknown, sandbox.sign(unknown)),
        "wrong amount": (
            event(intent, amount=intent.amount - 1),
            sandbox.sign(event(intent, amount=intent.amount - 1)),
        ),
        "wrong currency": (
            event(intent, currency="USD"),
            sandbox.sign(event(intent, currency="USD")),
        ),
        "negative amount": (
            event(intent, amount=-intent.amount),
            sandbox.sign(event(intent, amount=-intent.amount)),
        ),
        "not json at all": (b"\xff\xfe", sandbox.sign(b"\xff\xfe")),
    }


BAD = [
    "forged with the wrong secret",
    "truncated body",
    "body changed after signing",
    "stale timestamp",
    "missing header",
    "malformed json",
    "unknown type",
    "wrong amount",
    "wrong currency",
    "negative amount",
    "not json at all",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_deliveries_are_rejected_and_change_nothing(order, intent, case):
    body, signature = _bad_deliveries(intent)[case]

    with pytest.raises(WebhookRejected):
        webhook_receive(provider="sandbox", body=body, headers={sandbox.HEADER: signature or ""})

    assert not WebhookEvent.objects.exists()
    assert status(order) == OrderStatus.PENDING_PAYMENT
    assert status(intent) == IntentStatus.REQUIRES_ACTION
    # The genuine event still works afterwards: a rejection burns nothing.
    assert deliver(event(intent)) == "applied"
    assert status(order) == OrderStatus.PAID


def test_an_unknown_provider_is_rejected(intent):
    body = event(intent)
    with pytest.raises(WebhookRejected):
        webhook_receive(provider="stripe", body=body, headers={sandbox.HEADER: sandbox.sign(body)})
    assert not WebhookEvent.objects.exists()


def test_an_event_for_an_unknown_intent_is_recorded_and_ignored(order):
    body = sandbox.event_body(
        event_id="evt_x",
        kind="payment.succeeded",
        intent_public_id="nosuchintent",
        amount=5200,
        currency="CNY",
    )
    assert deliver(body) == "ignored"
    assert status(order) == OrderStatus.PENDING_PAYMENT


# --- late money and refunds ---------------------------------------------------------------


def test_payment_after_the_order_expired_is_refunded(order, intent, product):
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    order.refresh_from_db()
    assert order_flows.order_expire(order=order)
    assert status(intent) == IntentStatus.CANCELLED

    assert deliver(event(intent)) == "applied"

    assert status(order) == OrderStatus.EXPIRED
    assert fully_refunded(intent)
    product.refresh_from_db()
    assert product.stock == 20  # expired stock stays released


def test_an_approval_whose_word_is_late_keeps_the_order_past_its_time(order, intent):
    # The customer approved at the provider in time; its webhook is held up (a worker that
    # crashed, a slow provider) until after the order's time. The order waits for the word
    # instead of expiring and refunding a payment the customer made in time.
    sandbox_provider.decide(intent=intent, approve=True)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    order.refresh_from_db()

    assert not order_flows.order_expire(order=order)
    assert order_flows.orders_expire_due() == 0
    assert (status(order), status(intent)) == (OrderStatus.PENDING_PAYMENT, IntentStatus.PROCESSING)

    assert deliver(event(intent)) == "applied"
    assert status(order) == OrderStatus.PAID
    intent.refresh_from_db()
    assert (intent.status, intent.counted, intent.refunded_amount) == ("succeeded", True, 0)


def test_an_approval_never_confirmed_lets_the_order_expire_in_the_end(order, intent, settings):
    sandbox_provider.decide(intent=intent, approve=True)
    late = timedelta(seconds=settings.PAYMENT_CONFIRM_SECONDS + 1)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - late)
    order.refresh_from_db()

    assert order_flows.order_expire(order=order)
    assert (status(order), status(intent)) == (OrderStatus.EXPIRED, IntentStatus.CANCELLED)
    assert deliver(event(intent)) == "applied"  # the word came after all: given back
    assert fully_refunded(intent)


def test_payment_after_the_customer_cancelled_is_refunded(order, intent):
    order_flows.order_cancel_unpaid(order=order)
    assert deliver(event(intent)) == "applied"
    assert fully_refunded(intent)
    assert status(order) == OrderStatus.CANCELLED


def test_payment_while_the_order_is_being_cancelled_is_refunded(order, intent):
    # The intent was still open when the money came, but the order had moved on.
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED)
    assert deliver(event(intent)) == "applied"
    assert fully_refunded(intent)
    assert status(order) == OrderStatus.CANCELLED


@pytest.mark.parametrize("how", ["reject", "cancel"])
def test_rejecting_or_cancelling_a_paid_order_refunds_it(order, intent, how):
    deliver(event(intent))
    order.refresh_from_db()
    if how == "reject":
        order_flows.order_reject(actor=SYSTEM, order=order, reason="Out of milk")
    else:
        order_flows.order_accept(actor=SYSTEM, order=order)
        order_flows.order_cancel(actor=SYSTEM, order=order, reason="Machine broke")
    assert fully_refunded(intent)
    assert intent.refunded_amount == order.total


def test_completing_a_paid_order_keeps_the_money(order, intent):
    deliver(event(intent))
    order.refresh_from_db()
    order_flows.order_accept(actor=SYSTEM, order=order)
    order_flows.order_mark_ready(actor=SYSTEM, order=order)
    order_flows.order_complete(actor=SYSTEM, order=order)
    assert status(intent) == IntentStatus.SUCCEEDED


# --- intents ------------------------------------------------------------------------------


def test_a_refreshed_pay_page_finds_the_same_intent(order):
    first = intent_for_order(order=order)
    second = intent_for_order(order=order)
    assert first.pk == second.pk
    assert (first.amount, first.currency) == (order.total, order.currency)
    assert PaymentIntent.objects.count() == 1
    assert services.latest_attempt(Purpose.ORDER, order.pk) == first


def test_no_intent_for_an_order_that_is_not_waiting(order):
    order_flows.order_cancel_unpaid(order=order)
    with pytest.raises(PaymentError):
        intent_for_order(order=order)
    assert not PaymentIntent.objects.exists()


def test_no_intent_for_an_order_past_its_time(order):
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())
    order.refresh_from_db()
    with pytest.raises(PaymentError):
        intent_for_order(order=order)
    assert not PaymentIntent.objects.exists()


def test_the_sandbox_decision_writes_a_signed_webhook_to_its_outbox(
    order, intent, django_capture_on_commit_callbacks, monkeypatch
):
    from tapgo.payments import tasks

    enqueued = []
    monkeypatch.setattr(
        tasks,
        "deliver_sandbox_webhook",
        type("Stub", (), {"enqueue": staticmethod(enqueued.append)}),
    )
    with django_capture_on_commit_callbacks(execute=True):
        sandbox_provider.decide(intent=intent, approve=True)
        sandbox_provider.decide(intent=intent, approve=True)  # a second click: nothing

    item = SandboxOutbox.objects.get()
    assert enqueued == [item.pk]
    assert status(intent) == IntentStatus.PROCESSING
    assert status(order) == OrderStatus.PENDING_PAYMENT  # the click alone pays nothing
    # What the worker will POST is a valid event for this intent.
    assert deliver(item.body.encode()) == "applied"
    assert status(order) == OrderStatus.PAID
    assert json.loads(item.body)["data"]["intent"] == intent.public_id
