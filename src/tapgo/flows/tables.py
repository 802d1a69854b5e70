"""A table's bill: phones pay their shares through payments (purpose "share"), staff take
what is left at the counter, and a share's money is applied to the bill under the group's
lock — the lock order: the group (ordering.locks.lock_group), then the intent.

- paying a share: an intent for the share's amount and the phone's tip; choosing again
  cancels the last unfinished attempt;
- a share's capture: applied when the bill still needs all of it (the bill settles when
  nothing is left); otherwise given back in full (two phones paying the last share at once:
  one is applied, the other refunded);
- at the counter: the money is recorded in the ledger as the merchant's (cash or card) and
  the bill settles;
- when the bill settles (by a share or at the counter), each round is paid: it earns its
  orderer's points and posts its discount, once each (keyed by the round, as any order);
- refunds of a settled table's rounds come out of the shares' payments (flows/refunds.py)
  and take back the round's points in proportion.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from tapgo.core.actors import Actor
from tapgo.flows import membership as points
from tapgo.flows import sales
from tapgo.flows.tips import check_tip
from tapgo.identity.models import Customer
from tapgo.ordering import locks as ordering_locks
from tapgo.ordering import services as ordering
from tapgo.ordering.models import (
    Order,
    TableGroup,
    TableGroupStatus,
    TableShare,
    TableShareStatus,
)
from tapgo.payments import services as payments
from tapgo.payments.models import PaymentIntent, Purpose


def share_choose(
    *,
    group: TableGroup,
    customer: Customer,
    kind: str,
    parts: int | None = None,
    amount: int | None = None,
    lines: dict | None = None,
) -> TableShare:
    """This phone's part of the bill; its earlier unfinished share is given up (and the
    payment attempt for it cancelled). Raises OrderingError or PaymentError with a message."""
    with transaction.atomic():
        ordering_locks.lock_group(group.pk)
        for dropped in ordering.share_drop(group=group, customer=customer):
            _cancel_attempts(dropped)
        share = ordering.share_open(
            group=group, customer=customer, kind=kind, parts=parts, amount=amount, lines=lines
        )
        ordering.group_bump(group_id=group.pk)
    return share


def _cancel_attempts(share: TableShare) -> None:
    for intent in payments.of_purpose(Purpose.SHARE, share.pk).filter(status__in=payments.OPEN):
        payments.intent_cancel(intent=intent)


def share_intent(
    *, share: TableShare, customer: Customer, provider: str | None = None, tip: int = 0
) -> PaymentIntent:
    """The share's open provider attempt for its amount and the phone's tip, made once."""
    if share.customer_id != customer.pk:
        raise payments.PaymentError(_("This share is not yours."))
    group = share.group
    if share.status != TableShareStatus.OPEN or group.status != TableGroupStatus.OPEN:
        raise payments.PaymentError(_("This share is no longer needed. Look at the bill again."))
    tip = check_tip(share.merchant, tip, of=share.amount)
    ordering.share_set_tip(share=share, tip=tip)
    return payments.intent_open(
        merchant=share.merchant,
        customer_id=customer.pk,
        purpose=Purpose.SHARE,
        purpose_id=share.pk,
        amount=share.amount,
        currency=group.currency,
        provider=provider,
        reference=group.table_label[:40],
        tip=tip,
    )


def share_captured(intent: PaymentIntent) -> str:
    """A share's money arrived (its intent captured, under the group's and the intent's
    locks): applied to the bill, or given back when the bill no longer needs it."""
    payments.post_capture(intent=intent)
    share = TableShare.objects.get(pk=intent.purpose_id)
    if ordering.share_apply(share=share):
        payments.intent_count(intent=intent, counted=True)
        _rounds_paid(share.group_id)
    else:
        payments.refund_surplus(intent)
    return "applied"


def share_failed(intent: PaymentIntent) -> None:
    """A share's payment failed: the phone may try again; the table's pages hear it."""
    group_id = TableShare.objects.values_list("group_id", flat=True).get(pk=intent.purpose_id)
    ordering.group_bump(group_id=group_id)


def share_lock(intent: PaymentIntent) -> None:
    """The lock order for a share's event: the table's group first."""
    group_id = TableShare.objects.values_list("group_id", flat=True).get(pk=intent.purpose_id)
    ordering_locks.lock_group(group_id)


def counter_close(*, group: TableGroup, method: str, actor: Actor) -> TableShare | None:
    """Staff take what is left of the bill at the counter (cash or card) and the bill
    settles; the money is the merchant's already (payments.counter_payment)."""
    with transaction.atomic():
        ordering_locks.lock_group(group.pk)
        group.refresh_from_db()
        # Phones still paying lose their part: their attempts are cancelled first.
        for unpaid in TableShare.objects.filter(group=group, status=TableShareStatus.OPEN):
            _cancel_attempts(unpaid)
        share = ordering.counter_share(group=group, method=method, by=actor.label)
        if share is not None:
            payments.counter_payment(
                merchant=group.merchant,
                purpose=Purpose.SHARE,
                purpose_id=share.pk,
                amount=share.amount,
                currency=group.currency,
                method=method,
                reference=group.table_label[:40],
            )
        _rounds_paid(group.pk)
        ordering.group_bump(group_id=group.pk)
    return share


def _rounds_paid(group_id: int) -> None:
    """A settled bill paid its rounds: each is paid as an order paid when placed is, for what
    crosses domains — its discount into the books (flows/sales.py) and its orderer's points
    (flows/membership.py), each once by its own key. Nothing while the bill is open."""
    group = TableGroup.objects.get(pk=group_id)
    if group.status != TableGroupStatus.SETTLED:
        return
    for round_ in group.rounds.filter(paid_at__isnull=False).order_by("id"):
        sales.order_sold(order=round_)
        points.order_paid(order=round_)


def round_money(order: Order) -> tuple[str, int | list[int]]:
    """Where an order's money is: its own payments, or — for a round of a table that paid
    after eating — the payments of the table's shares."""
    if order.group is not None and order.group.pay_after:
        paid = TableShare.objects.filter(group_id=order.group_id, status=TableShareStatus.PAID)
        return Purpose.SHARE, list(paid.values_list("pk", flat=True))
    return Purpose.ORDER, order.pk
