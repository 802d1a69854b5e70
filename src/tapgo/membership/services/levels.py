"""A member's level: the highest the member reached over the programme's rolling window, by
points (earned, adjusted, less reversals) or by spend, both read from the points ledger.

It is recomputed under the member's lock in the transaction of every change of points, and by
the nightly sweep (as the window moves on), so two racing writers (a refund and a payment)
never leave a level that their entries do not give."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from tapgo.membership.locks import lock_member
from tapgo.membership.models import EntryKind, Level, LevelBasis, Member, PointsEntry
from tapgo.membership.services.programme import add_months, programme_of

COUNTED = (EntryKind.EARN, EntryKind.REVERSE, EntryKind.ADJUST)


def level_value(member: Member, *, now: datetime | None = None) -> int:
    """What the member's level is measured by, over the window ending now."""
    programme = programme_of(merchant=member.merchant_id)
    since = add_months(now or timezone.now(), -programme.level_window_months)
    entries = PointsEntry.objects.filter(member=member, created_at__gte=since)
    if programme.level_basis == LevelBasis.SPEND:
        total = entries.aggregate(total=Sum("spend"))["total"]
    else:
        total = entries.filter(kind__in=COUNTED).aggregate(total=Sum("points"))["total"]
    return total or 0


def _levels(merchant_id: int) -> list[Level]:
    return list(Level.objects.filter(merchant_id=merchant_id).order_by("threshold", "rank"))


def _reached(levels: list[Level], value: int) -> Level | None:
    reached = [level for level in levels if level.threshold <= value]
    return reached[-1] if reached else None


def recompute_locked(
    *, member: Member, now: datetime | None = None, levels: list[Level] | None = None
) -> Level | None:
    """Set the level of a member whose row the caller holds locked (`levels`: the merchant's,
    when the caller read them)."""
    levels = _levels(member.merchant_id) if levels is None else levels
    level = _reached(levels, level_value(member, now=now))
    level_id = level.pk if level else None
    if member.level_id != level_id:
        Member.objects.filter(pk=member.pk).update(level_id=level_id)
        member.level_id = level_id
    return level


def level_recompute(*, member: Member) -> Level | None:
    """The member's level as it is now, set under the member's lock. A programme with no
    levels has nothing to reach: no lock, nothing read (a member whose level was deleted
    has none: SET_NULL)."""
    levels = _levels(member.merchant_id)
    if not levels:
        return None
    with transaction.atomic():
        return recompute_locked(member=lock_member(member.pk), levels=levels)


def level_locked(*, member: Member) -> Level | None:
    """Lock the member's row for the rest of the caller's transaction and return its level
    as it is now. A flow reads it before a change of points that takes the same lock, so of
    two changes racing, only one sees the level go up."""
    locked = lock_member(member.pk)
    return Level.objects.filter(pk=locked.level_id).first() if locked.level_id else None


def levels_crossed(*, before: Level | None, after: Level | None) -> list[Level]:
    """The levels a member reached going from `before` to `after` (ranks order levels):
    those ranked above `before`, up to and including `after`; none when it went down."""
    if after is None:
        return []
    low = before.rank if before is not None else 0
    if after.rank <= low:
        return []
    return list(
        Level.objects.filter(merchant_id=after.merchant_id, rank__gt=low, rank__lte=after.rank)
    )


LevelChanged = Callable[[Member, Level | None, Level | None], None]


def levels_sweep(*, merchant=None, batch: int = 500, on_change: LevelChanged | None = None) -> int:
    """Recompute every member's level (nightly: the window moves on). Returns how many
    changed. Each member in a transaction of its own, so the sweep holds no lock for long;
    `on_change(member, before, after)` runs in it, under the member's lock, for each
    member whose level changed (a flow issues the coupons of the levels reached)."""
    members = Member.objects.all() if merchant is None else Member.objects.for_merchant(merchant)
    changed, after = 0, 0
    while ids := list(
        members.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch]
    ):
        for pk in ids:
            with transaction.atomic():
                member = lock_member(pk)
                before_id = member.level_id
                level = recompute_locked(member=member)
                if (level.pk if level else None) != before_id:
                    changed += 1
                    if on_change is not None:
                        before = Level.objects.filter(pk=before_id).first() if before_id else None
                        on_change(member, before, level)
        after = ids[-1]
    return changed


def level_discount_bps(*, merchant, customer) -> int:
    """The percentage off (basis points) the customer's current level gives at this merchant:
    0 for a guest, a non-member or a member without a level, as stored (checkout recomputes
    the level under the member's lock first: flows/offers.py)."""
    if customer is None:
        return 0
    found = (
        Member.objects.filter(merchant=merchant, customer=customer)
        .values_list("level__discount_bps", flat=True)
        .first()
    )
    return found or 0


@dataclass(frozen=True)
class Progress:
    level: Level | None
    next: Level | None
    value: int  # what the window holds, in points or minor units spent
    basis: str
    to_next: int  # how much more reaches the next level (0 at the top)
    percent: int  # of the way from this level's threshold to the next's


def level_progress(member: Member) -> Progress:
    """The member's level and the way to the next, for the card page."""
    levels = _levels(member.merchant_id)
    value = level_value(member)
    level = next((lv for lv in levels if lv.pk == member.level_id), None)
    higher = [lv for lv in levels if lv.threshold > value]
    upcoming = higher[0] if higher else None
    start = level.threshold if level else 0
    percent = 100
    if upcoming is not None:
        span = upcoming.threshold - start
        percent = max(0, min(100, (value - start) * 100 // span)) if span > 0 else 0
    return Progress(
        level=level,
        next=upcoming,
        value=value,
        basis=programme_of(merchant=member.merchant_id).level_basis,
        to_next=(upcoming.threshold - value) if upcoming else 0,
        percent=percent,
    )
