"""Coupons that come by themselves to members: on joining the card, and on reaching a level.

- Joining: the merchant's running "issued on joining" batches give the new member one coupon
  each, in the join's transaction (each within its caps; a batch that is full, or refuses
  for another reason, is skipped and logged: the join itself never fails for a coupon).
- Reaching a level: when a member's level goes up (points earned or adjusted, or the nightly
  recomputation), the running "issued on reaching level X" batches of each level reached
  (ranked above the old level, up to the new one) give one coupon each, in the transaction
  that changed the level, under the member's lock: of two changes of points racing, only
  the one that moved the level up sees the rise.
- Once per member per batch, ever: such a batch has a per-customer cap of 1 (coupons'
  batch terms make it so), so a level lost and reached again, or a join replayed, finds the
  member's count taken and issues nothing.

Lock order: the member's row (membership.locks), then the batches' conditional UPDATEs.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from tapgo.coupons import services as coupons
from tapgo.coupons.models import AutoIssue, Batch, Source
from tapgo.identity.models import Customer
from tapgo.membership import services as membership
from tapgo.membership.models import Level, Member

log = logging.getLogger(__name__)


def _issue(batches: list[Batch], customer: Customer, *, source: str, ref: str) -> int:
    issued = 0
    for batch in batches:
        try:
            with transaction.atomic():
                coupons.coupon_issue(batch=batch, customer=customer, source=source, source_ref=ref)
            issued += 1
        except coupons.CouponError as exc:
            log.info("%s coupon %s not issued to %s: %s", source, batch.public_id, ref, exc)
    return issued


def _customer(member: Member) -> Customer:
    return Customer.objects.get(pk=member.customer_id)


def coupons_on_join(*, member: Member) -> int:
    """Issue the new member the merchant's "on joining" coupons; returns how many."""
    batches = coupons.batches_issued_on(member.merchant_id, issued_on=AutoIssue.JOIN)
    if not batches:
        return 0
    return _issue(batches, _customer(member), source=Source.JOIN, ref=f"member:{member.public_id}")


def coupons_on_level(*, member: Member, before: Level | None, after: Level | None) -> int:
    """The member's level went from `before` to `after` (under their lock): issue the
    coupons of each level reached; nothing when it stayed or went down."""
    reached = membership.levels_crossed(before=before, after=after)
    if not reached:
        return 0
    batches = coupons.batches_issued_on(
        member.merchant_id, issued_on=AutoIssue.LEVEL, levels=reached
    )
    if not batches:
        return 0
    # Fresh from the database: the audience check reads the member's new level.
    return _issue(batches, _customer(member), source=Source.LEVEL, ref=f"member:{member.public_id}")


@contextmanager
def level_watched(*, member: Member) -> Iterator[None]:
    """Around a change of the member's points: a transaction that locks the member first,
    reads their level, and after the change issues the coupons of the levels it reached."""
    with transaction.atomic():
        before = membership.level_locked(member=member)
        yield
        after = membership.level_locked(member=member)
        coupons_on_level(member=member, before=before, after=after)
