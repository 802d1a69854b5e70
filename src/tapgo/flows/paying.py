"""Paying for an order: through a provider (an intent for what is left to pay, started at the
provider's page) or from the customer's stored-value card (at once, in our own ledger), or
both (a split payment: the card first, the rest through a provider). And what the order's
pages show of it (order_payment_state).

ordering says whether an order is payable; payments knows what its payments add up to."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from tapgo.flows import coupons as coupon_flows
from tapgo.flows import orders as order_flows
from tapgo.flows.tips import check_tip
from tapgo.ordering import locks as ordering_locks
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order
from tapgo.payments import providers, stored_value
from tapgo.payments import services as payments
from tapgo.payments.models import IntentStatus, PaymentIntent, Purpose, Refund


def _payable(order: Order) -> None:
    try:
        ordering.order_payable(order)
        coupon_flows.order_coupon_payable(order)  # a coupon stopped or expired: not this price
    except ordering.OrderingError as exc:
        raise payments.PaymentError(str(exc)) from None


def left_to_pay(order: Order) -> int:
    return order.total - payments.paid_so_far(Purpose.ORDER, order.pk)


def intent_for_order(*, order: Order, provider: str | None = None, tip: int = 0) -> PaymentIntent:
    """The order's open provider attempt for what is left to pay (and a tip on top, where
    the merchant takes tips), made once: a refreshed pay page finds the same one. Raises
    PaymentError with a message when it cannot be paid."""
    _payable(order)
    left = left_to_pay(order)
    return payments.intent_open(
        merchant=order.merchant,
        customer_id=order.customer_id,
        purpose=Purpose.ORDER,
        purpose_id=order.pk,
        amount=left,
        currency=order.currency,
        provider=provider,
        reference=order.number,
        tip=check_tip(order.merchant, tip, of=left),
    )


def pay_from_card(*, order: Order, customer) -> PaymentIntent:
    """Pay as much of an order as the customer's card holds (all of it, or the first part of
    a split payment whose rest goes through a provider); the order is paid when the card
    covers it. Raises PaymentError (StoredValueError among them) with a message when there
    is nothing to use or the balance moved meanwhile."""
    if customer is None or order.customer_id != customer.pk:
        raise stored_value.StoredValueError(_("This order is not yours."))
    with transaction.atomic():
        ordering_locks.lock_order(order.pk)  # the lock order: the order, then its intents
        order = Order.objects.select_related("merchant").get(pk=order.pk)
        _payable(order)
        for intent in payments.of_purpose(Purpose.ORDER, order.pk).filter(status__in=payments.OPEN):
            payments.intent_cancel(intent=intent)
        outstanding = left_to_pay(order)
        intent = stored_value.wallet_pay(
            merchant=order.merchant,
            customer=customer,
            purpose=Purpose.ORDER,
            purpose_id=order.pk,
            amount_due=outstanding,
            currency=order.currency,
            reference=order.number,
        )
        if intent.amount == outstanding:
            order_flows.order_mark_paid(order=order, amount=order.total, currency=order.currency)
    return intent


# --- what the order's pages show ------------------------------------------------------------


@dataclass(frozen=True)
class PaymentState:
    """An order's payments as its page shows them."""

    intents: list[PaymentIntent]
    waiting: bool  # the order waits for its money
    confirming: bool  # its latest provider attempt is being confirmed
    declined: bool  # its latest provider attempt was declined
    from_card: int  # paid from stored value
    left: int  # still to pay
    tips: int  # tips paid (less what was refunded of them)
    refunds: list[Refund] = field(default_factory=list)  # each with .intent


def order_payment_state(order: Order) -> PaymentState:
    intents = list(payments.intents_of(Purpose.ORDER, order.pk))
    counted = [i for i in intents if i.status == IntentStatus.SUCCEEDED and i.counted]
    attempt = next((i for i in reversed(intents) if i.provider != providers.WALLET), None)
    waiting = ordering.order_awaits_payment(order)
    refunds = []
    if any(i.status == IntentStatus.SUCCEEDED for i in intents):
        by_id = {i.pk: i for i in intents}
        refunds = list(payments.refunds_of(Purpose.ORDER, order.pk))
        for refund in refunds:
            refund.intent = by_id[refund.intent_id]
    return PaymentState(
        intents=intents,
        waiting=waiting,
        confirming=waiting and attempt is not None and attempt.status == IntentStatus.PROCESSING,
        declined=waiting and attempt is not None and attempt.status == IntentStatus.FAILED,
        from_card=sum(i.amount for i in counted if i.provider == providers.WALLET),
        left=order.total - sum(i.sale for i in counted),
        tips=sum(i.tip - i.tip_refunded for i in counted),
        refunds=refunds,
    )
