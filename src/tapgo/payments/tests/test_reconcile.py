"""A lost webhook never leaves a paid customer with an unpaid order: reconciliation asks."""

from datetime import timedelta

from tapgo.flows import paying, payment_events
from tapgo.ordering.models import OrderStatus
from tapgo.payments import services
from tapgo.payments.models import IntentStatus, PaymentIntent, SandboxOutbox, WebhookEvent
from tapgo.payments.providers import sandbox as sandbox_provider
from tapgo.payments.tests.sandbox_helpers import deliver_outbox


def started(order):
    intent = paying.intent_for_order(order=order)
    return services.intent_start(intent=intent, return_url="/")


def test_a_lost_webhook_is_settled_by_asking_the_provider(order):
    intent = started(order)
    sandbox_provider.decide(intent=intent, approve=True)
    SandboxOutbox.objects.update(attempts=8)  # the deliveries all failed; nothing came
    assert payment_events.reconcile_due(older_than=timedelta(minutes=5)) == 0  # not late yet
    assert payment_events.reconcile_due(older_than=timedelta(0)) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    # The webhook turning up after all changes nothing more.
    assert deliver_outbox() == ["ignored"]
    assert PaymentIntent.objects.get(pk=intent.pk).status == IntentStatus.SUCCEEDED


def test_reconciling_twice_is_one_effect(order):
    intent = started(order)
    sandbox_provider.decide(intent=intent, approve=True)
    payment_events.reconcile_intent(intent)
    payment_events.reconcile_intent(intent)
    assert WebhookEvent.objects.filter(event_id__startswith="query:").count() == 1


def test_a_declined_payment_found_by_asking_leaves_the_order_payable(order):
    intent = started(order)
    sandbox_provider.decide(intent=intent, approve=False)
    assert payment_events.reconcile_due(older_than=timedelta(0)) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert PaymentIntent.objects.get(pk=intent.pk).status == IntentStatus.FAILED


def test_an_undecided_payment_stays_open(order):
    started(order)
    assert payment_events.reconcile_due(older_than=timedelta(0)) == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
