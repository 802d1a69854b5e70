"""Issuing a coupon from a batch: claimed in the app, by a claim link or campaign code (with
the door it came by), granted by staff, or after a paid order. Every cap is decided by the
database, in one transaction:

- the total cap: one conditional UPDATE of the batch's issued count (`issued < total_cap`),
  which also holds the batch's row until commit, so a batch's claims queue there;
- the per-customer and per-day caps: a counter row per (batch, customer) and (batch, day),
  created under a unique constraint and moved by a conditional UPDATE (`count < cap`).

Any refusal rolls the whole claim back: a count moves only with the coupon it counts."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.coupons.models import (
    Audience,
    AutoIssue,
    Batch,
    Coupon,
    CustomerCount,
    DayCount,
    Source,
)
from tapgo.coupons.services.base import CouponError, NotAMember
from tapgo.identity.models import Customer
from tapgo.membership import services as membership
from tapgo.membership.models import Member
from tapgo.merchants.services import merchant_zone

CLAIMS = (Source.CLAIMED, Source.LINK, Source.STAFF)
# How each way of issuing by itself must be asked for.
AUTO_SOURCES = {
    AutoIssue.PAID_ORDER: Source.NEXT_ORDER,
    AutoIssue.JOIN: Source.JOIN,
    AutoIssue.LEVEL: Source.LEVEL,
}


def _count(model, keys: dict, cap: int | None) -> bool:
    """Count one more under `cap` on the counter row `keys` (made on first use); False when
    the cap is reached. Two first uses racing: the unique constraint lets one insert, the
    other counts on the row it made."""
    if cap is None:
        return True
    rows = model.objects.filter(**keys)
    if rows.filter(count__lt=cap).update(count=F("count") + 1):
        return True
    try:
        with transaction.atomic():
            model.objects.create(**keys, count=1)
            return True
    except IntegrityError:
        return bool(rows.filter(count__lt=cap).update(count=F("count") + 1))


def _holds_all_message() -> str:
    return _("You have all the coupons of this offer you can have.")


def _holds_all(batch: Batch, customer: Customer) -> bool:
    """Whether the customer has had as many of the batch as they may."""
    cap = batch.per_customer_cap
    return (
        cap is not None
        and CustomerCount.objects.filter(batch=batch, customer=customer, count__gte=cap).exists()
    )


def _full_message(batch: Batch, customer: Customer) -> str:
    """What a customer is told when the offer is full: that they have theirs, when they do."""
    if _holds_all(batch, customer):
        return _holds_all_message()
    return _("All the coupons of this offer have been claimed.")


def _check_source(batch: Batch, source: str) -> None:
    if source not in Source.values:
        raise CouponError(_("This coupon cannot be issued that way."))
    if batch.auto_issue == AutoIssue.NONE and source not in CLAIMS:
        raise CouponError(_("This coupon cannot be issued that way."))
    if batch.auto_issue == AutoIssue.PAID_ORDER and source != Source.NEXT_ORDER:
        raise CouponError(_("This coupon comes with an order; it cannot be claimed."))
    if batch.auto_issue in AUTO_SOURCES and source != AUTO_SOURCES[AutoIssue(batch.auto_issue)]:
        raise CouponError(_("This coupon comes by itself to members; it cannot be claimed."))


def audience_refusal(batch: Batch, member: Member | None, *, staff: bool = False) -> str:
    """Why the customer whose card with the batch's merchant is `member` (None: not joined)
    may not have a coupon of the batch ("" when they may): the offer is for members, or for
    members at its level or above (levels ordered by rank). Said to the customer, or to
    `staff` granting one."""
    if batch.audience == Audience.EVERYONE:
        return ""
    if member is None:
        if staff:
            return _("This offer is for members: this customer has not joined the card.")
        return _("Join the card to claim this coupon.")
    if batch.audience != Audience.LEVEL:
        return ""
    level = batch.level
    if level is None:  # PROTECT keeps it; a broken batch is closed, never widened
        return _("This offer is not open now.")
    if member.level is not None and member.level.rank >= level.rank:
        return ""
    return _("For %(level)s members and above.") % {"level": level.name}


def _check_audience(batch: Batch, customer: Customer, source: str) -> None:
    if batch.audience == Audience.EVERYONE:
        return
    member = membership.member_of(merchant=batch.merchant_id, customer=customer)
    refusal = audience_refusal(batch, member, staff=source == Source.STAFF)
    if refusal:
        raise (NotAMember if member is None else CouponError)(refusal)


def _expires(batch: Batch, now: datetime) -> datetime:
    if batch.valid_days is not None:
        ends = now + timedelta(days=batch.valid_days)
        return min(ends, batch.valid_until) if batch.valid_until else ends
    assert batch.valid_until is not None  # a check constraint: one or the other
    return batch.valid_until


def coupon_issue(
    *,
    batch: Batch,
    customer: Customer,
    source: str,
    scene: str = "",
    source_ref: str = "",
    now: datetime | None = None,
) -> Coupon:
    """Issue one coupon of `batch` to `customer`, or raise CouponError saying why not (the
    offer ended or has not begun, not for them (NotAMember: they have not joined the card),
    all claimed, the customer's or the day's limit reached)."""
    now = now or timezone.now()
    _check_source(batch, source)
    _check_audience(batch, customer, source)
    if batch.valid_from > now:
        raise CouponError(_("This offer has not started yet."))
    if batch.valid_until is not None and batch.valid_until <= now:
        raise CouponError(_("This offer has ended."))
    if batch.stopped:
        raise CouponError(_("This offer has ended."))
    if batch.total_cap is not None and batch.issued >= batch.total_cap:
        # Full as the batch was read (`issued` only grows): refused without writing, as most
        # of a flash claim's late comers are; the conditional UPDATE below decides the rest.
        raise CouponError(_full_message(batch, customer))
    day = timezone.localtime(now, merchant_zone(batch.merchant_id)).date()
    with transaction.atomic():
        taken = Batch.objects.filter(pk=batch.pk, stopped=False).filter(
            Q(total_cap__isnull=True) | Q(issued__lt=F("total_cap"))
        )
        if not taken.update(issued=F("issued") + 1):
            if Batch.objects.filter(pk=batch.pk, stopped=True).exists():
                raise CouponError(_("This offer has ended."))
            raise CouponError(_full_message(batch, customer))
        if not _count(
            CustomerCount, {"batch": batch, "customer": customer}, batch.per_customer_cap
        ):
            raise CouponError(_holds_all_message())
        if not _count(DayCount, {"batch": batch, "day": day}, batch.per_day_cap):
            raise CouponError(_("Today's coupons of this offer have all been claimed."))
        return Coupon.objects.create(
            merchant_id=batch.merchant_id,
            batch=batch,
            customer=customer,
            source=source,
            scene=scene[:20],
            source_ref=source_ref[:120],
            claimed_at=now,
            expires_at=_expires(batch, now),
        )
