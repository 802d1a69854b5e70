"""The member at the counter: staff found the member by the rotating member code and record,
each once per form key (a CounterSale row, unique by the key, with who recorded it):

- a purchase, which earns points as a paid order would;
- a coupon used (available → used for the sale at once), with what it takes off the typed
  amount; what was paid after it earns points when staff leave "earn points" on;
- an amount paid from the member's stored value. This needs a fresh code: the step of the
  code staff typed is spent once (membership's conditional UPDATE), and a step more than one
  behind now is refused, so a screenshot cannot pay later. The money moves like an order
  paid from the card (Dr wallet, Cr the merchant's held revenue) by a succeeded intent whose
  purpose is `counter` and whose id is the sale's; the wallet's CHECK decides a race.

Each runs in one transaction: refused anywhere (a stale or spent code, a short balance, a
coupon used meanwhile), nothing of it stays. Lock order as everywhere: the money ledger's
accounts, then the member's row (its code step, then its points), last.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from tapgo.core.actors import Actor
from tapgo.core.money import MAX_AMOUNT
from tapgo.coupons import services as coupons
from tapgo.flows import member_coupons
from tapgo.flows.membership import tell_points
from tapgo.membership import services as membership
from tapgo.membership.models import CounterKind, CounterSale, Member, PointsEntry, Source
from tapgo.payments import stored_value
from tapgo.payments.models import Purpose
from tapgo.payments.services.intents import PaymentError

# What a counter action can be refused with (each carries a message for staff).
REFUSED = (membership.MembershipError, coupons.CouponError, PaymentError)


def _amount(amount, *, zero: bool = False) -> int:
    low = 0 if zero else 1
    if not isinstance(amount, int) or isinstance(amount, bool) or not low <= amount <= MAX_AMOUNT:
        raise membership.MembershipError(_("Enter an amount above zero."))
    return amount


def _earn(
    member: Member, sale: CounterSale, amount: int, key: str, actor: Actor
) -> PointsEntry | None:
    """The sale's points (the member told if they asked), and the coupons of a level they
    reach with them (flows/member_coupons.py): the member's row is locked here, after what
    the sale took."""
    with member_coupons.level_watched(member=member):
        entry = membership.points_earn(
            member=member,
            amount=amount,
            key=f"counter:{key}"[:80],
            source=Source.COUNTER,
            source_id=sale.pk,
            actor=actor,
        )
        tell_points(member, entry)
    return entry


def counter_purchase(*, member: Member, amount: int, key: str, actor: Actor) -> PointsEntry | None:
    """Staff recorded a purchase at the counter for a member: it earns as an order would
    (once per form key, so a double submit records one purchase)."""
    key = membership.counter_key(key)
    if membership.counter_sale_of_key(member=member, key=key) is not None:
        return None
    with transaction.atomic():
        sale = membership.counter_sale_create(
            member=member, kind=CounterKind.PURCHASE, amount=_amount(amount),
            key=key, actor=actor,
        )  # fmt: skip
        if sale is None:
            return None
        entry = _earn(member, sale, amount, key, actor)
    return entry


def counter_card(
    *,
    member: Member,
    step: int,
    amount: int,
    key: str,
    actor: Actor,
    earn: bool = True,
    now: float | None = None,
) -> CounterSale:
    """Take `amount` from the member's stored value at the counter, with the step of the
    code staff just typed (spent here, once). A double submit returns the sale the first
    made; a short balance, a stale or spent code refuses with a message, nothing changed."""
    key = membership.counter_key(key)
    amount = _amount(amount)
    found = membership.counter_sale_of_key(member=member, key=key)
    if found is not None:
        return found
    membership.code_step_fresh(member=member, step=step, now=now)  # fails early; spent below
    merchant = member.merchant
    with transaction.atomic():
        sale = membership.counter_sale_create(
            member=member, kind=CounterKind.CARD, amount=amount, card=amount, key=key,
            actor=actor, code_step=step,
        )  # fmt: skip
        if sale is None:  # the other submit of a double click recorded it
            return CounterSale.objects.get(merchant_id=member.merchant_id, key=key)
        stored_value.wallet_spend(
            merchant=merchant,
            customer=member.customer,
            purpose=Purpose.COUNTER,
            purpose_id=sale.pk,
            amount=amount,
            currency=merchant.currency,
            reference=f"M{member.number}",
        )
        membership.code_step_spend(member=member, step=step, now=now)
        if earn:
            _earn(member, sale, amount, key, actor)
    return sale


def counter_coupon(
    *,
    member: Member,
    coupon: str,
    amount: int,
    key: str,
    actor: Actor,
    earn: bool = True,
) -> CounterSale:
    """Use the member's coupon (its public id) for a sale of `amount` at the counter: the
    sale records what it took off; what was paid after it earns points when `earn`. Once
    per form key; refused with a message when the coupon is not the member's, used, held
    by an order, expired or its offer stopped, and when another till used it meanwhile."""
    key = membership.counter_key(key)
    amount = _amount(amount, zero=True)
    found = membership.counter_sale_of_key(member=member, key=key)
    if found is not None:
        return found
    with transaction.atomic():
        used, discount = coupons.coupon_for_counter(
            customer=member.customer, merchant_id=member.merchant_id, code=coupon, amount=amount
        )
        sale = membership.counter_sale_create(
            member=member, kind=CounterKind.COUPON, amount=amount, discount=discount,
            coupon=used.public_id, key=key, actor=actor,
        )  # fmt: skip
        if sale is None:
            return CounterSale.objects.get(merchant_id=member.merchant_id, key=key)
        coupons.coupon_use_at_counter(coupon=used, sale_id=sale.pk, discount=discount)
        if earn:
            _earn(member, sale, amount - discount, key, actor)
    return sale
