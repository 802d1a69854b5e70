"""The points ledger: every effect on a member's points is one entry, never edited, unique by
(member, key), so a replayed webhook earns once and a refund reverses once. The cached
balance and lifetime points move in the same transaction, under the member's lock
(locks.lock_member), and the level follows (levels.py).

- The balance may go below zero after a refund's reversal (a refund is never refused for
  points already spent); a redemption needs enough points, decided under the lock and again
  by the conditional UPDATE that moves the balance.
- Points expire as they were earned: each grant is a lot with its expiry; redemptions,
  reversals and adjustments down use the oldest lots first, and `points_expire_due` expires
  what is left of each lot that is due. The lots' remainders sum to the balance when it is
  above zero, to zero otherwise.
- A redemption undone (`points_give_back`: the order it paid for ended unpaid or was
  refunded whole) is an entry of its own, once per key; its points are a new lot.
- Lifetime points are what the member earned and kept: earned and adjusted, less reversals
  (never reduced by spending or expiry).
"""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core.actors import SYSTEM, Actor
from tapgo.membership.locks import lock_member
from tapgo.membership.models import EntryKind, Member, PointsEntry, PointsLot, Source
from tapgo.membership.services.errors import MembershipError
from tapgo.membership.services.levels import recompute_locked
from tapgo.membership.services.programme import Item, expires_at, order_points, programme_of

K = EntryKind
MAX_CHANGE = 10_000_000
LIFETIME_KINDS = (K.EARN, K.REVERSE, K.ADJUST)
PURCHASES = (Source.ORDER, Source.COUNTER)


class NotEnoughPoints(MembershipError):
    pass


def _post(
    member: Member,
    *,
    kind: str,
    points: int,
    key: str,
    source: str,
    spend: int = 0,
    source_id: int | None = None,
    reason: str = "",
    actor: Actor = SYSTEM,
) -> PointsEntry | None:
    """Write one entry for a member whose row the caller locked, with its cached balances,
    its lots and its level. None, changing nothing, when the key was written already."""
    if PointsEntry.objects.filter(member=member, key=key).exists():
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            entry = PointsEntry.objects.create(
                merchant_id=member.merchant_id,
                member=member,
                kind=kind,
                points=points,
                spend=spend,
                key=key,
                source=source,
                source_id=source_id,
                reason=reason[:200],
                **actor.columns(),
                created_at=now,
            )
    except IntegrityError:  # written meanwhile (the lock makes it rare): once is enough
        return None
    before = member.balance
    moved = Member.objects.filter(pk=member.pk)
    if kind == K.REDEEM:
        moved = moved.filter(balance__gte=-points)
    lifetime = points if kind in LIFETIME_KINDS else 0
    if not moved.update(balance=F("balance") + points, lifetime=F("lifetime") + lifetime):
        raise NotEnoughPoints(_("Not enough points."))
    member.balance, member.lifetime = before + points, member.lifetime + lifetime
    if points > 0:
        programme = programme_of(merchant=member.merchant_id)
        PointsLot.objects.create(
            merchant_id=member.merchant_id,
            member=member,
            entry=entry,
            points=points,
            remaining=max(0, before + points) - max(0, before),
            expires_at=expires_at(programme, earned_at=now),
        )
    elif points < 0 and kind != K.EXPIRE:
        _consume(member, min(-points, max(before, 0)))
    recompute_locked(member=member, now=now)
    return entry


def _consume(member: Member, points: int) -> None:
    """Take `points` from the member's oldest lots."""
    for lot in PointsLot.objects.filter(member=member, remaining__gt=0).order_by("id"):
        if points <= 0:
            return
        part = min(points, lot.remaining)
        PointsLot.objects.filter(pk=lot.pk).update(remaining=F("remaining") - part)
        points -= part


def _change(points) -> int:
    if not isinstance(points, int) or isinstance(points, bool) or not 0 < points <= MAX_CHANGE:
        raise MembershipError(_("Enter a whole number of points above zero."))
    return points


def points_earn(
    *,
    member: Member,
    amount: int,
    key: str,
    source: str,
    items: Iterable[Item] = (),
    source_id: int | None = None,
    actor: Actor = SYSTEM,
    reason: str = "",
) -> PointsEntry | None:
    """A purchase of `amount` (minor units paid for goods: an order paid, a counter purchase)
    earns by the programme's rules, once per key; whether it is the member's first purchase
    is decided under the lock. The amount counts towards a level by spend even when it earns
    no points."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise MembershipError(_("Enter an amount of zero or more."))
    with transaction.atomic():
        member = lock_member(member.pk)
        first = not PointsEntry.objects.filter(
            member=member, kind=K.EARN, source__in=PURCHASES
        ).exists()
        programme = programme_of(merchant=member.merchant_id)
        points = order_points(programme, amount=amount, items=items, first=first)
        if not points and not amount:
            return None
        return _post(member, kind=K.EARN, points=points, spend=amount, key=key, source=source,
                     source_id=source_id, actor=actor, reason=reason)  # fmt: skip


def _sums(member: Member, kind: str, source: str, source_id: int) -> tuple[int, int]:
    got = PointsEntry.objects.filter(
        member=member, kind=kind, source=source, source_id=source_id
    ).aggregate(points=Sum("points"), spend=Sum("spend"))
    return got["points"] or 0, got["spend"] or 0


def order_earned(member: Member, *, source: str, source_id: int) -> tuple[int, int]:
    """What a purchase earned (points, spend), less what its refunds took back so far."""
    earned = _sums(member, K.EARN, source, source_id)
    reversed_ = _sums(member, K.REVERSE, source, source_id)
    return earned[0] + reversed_[0], earned[1] + reversed_[1]


def points_reverse(
    *,
    member: Member,
    source: str,
    source_id: int,
    amount: int,
    key: str,
    reason: str = "",
    actor: Actor = SYSTEM,
) -> PointsEntry | None:
    """`amount` of a purchase was given back (one refund): take back its points in
    proportion, once per key. The refunds so far are what the purchase's reversals took of
    its spend, so the member keeps the points of what they kept, rounding down, and the
    refunds of a whole purchase take back exactly what it earned however it was split. The
    balance may go below zero (a refund is never refused for points already spent)."""
    if not isinstance(amount, int) or amount <= 0:
        return None
    with transaction.atomic():
        member = lock_member(member.pk)
        earned_points, paid = _sums(member, K.EARN, source, source_id)
        back_points, back_spend = _sums(member, K.REVERSE, source, source_id)
        if paid <= 0:
            return None
        refunded = min(paid, -back_spend + amount)
        points = earned_points - earned_points * (paid - refunded) // paid + back_points
        spend = refunded + back_spend
        if points <= 0 and spend <= 0:
            return None
        return _post(member, kind=K.REVERSE, points=-max(points, 0), spend=-max(spend, 0),
                     key=key, source=source, source_id=source_id, reason=reason,
                     actor=actor)  # fmt: skip


def points_reverse_undo(
    *, merchant_id: int, key: str, undo_key: str, reason: str = ""
) -> PointsEntry | None:
    """What a reversal took (the entry keyed `key`: a refund's) is given back, because what
    caused it was undone (the provider failed the refund): once, by `undo_key`, as a reversal
    of the opposite sign, so the purchase's sums (what refunds took of it) are as before and
    a later refund of the same money takes its points again. The level follows. None when
    there was no such reversal, or it was undone already."""
    found = (
        PointsEntry.objects.filter(merchant_id=merchant_id, key=key, kind=K.REVERSE)
        .values_list("member_id", flat=True)
        .first()
    )
    if found is None:
        return None
    with transaction.atomic():
        member = lock_member(found)
        entry = PointsEntry.objects.get(member=member, key=key)
        if not entry.points and not entry.spend:
            return None
        return _post(member, kind=K.REVERSE, points=-entry.points, spend=-entry.spend,
                     key=undo_key, source=entry.source, source_id=entry.source_id,
                     reason=reason)  # fmt: skip


def points_redeem(
    *,
    member: Member,
    points: int,
    key: str,
    reason: str,
    actor: Actor,
    source: str = Source.REWARD,
    source_id: int | None = None,
) -> PointsEntry | None:
    """Spend points (a reward): NotEnoughPoints, changing nothing, when the balance is short.
    None when the key was spent already (a form sent again spends once)."""
    points = _change(points)
    with transaction.atomic():
        member = lock_member(member.pk)
        if (
            member.balance < points
            and not PointsEntry.objects.filter(member=member, key=key).exists()
        ):
            raise NotEnoughPoints(_("Not enough points."))
        return _post(member, kind=K.REDEEM, points=-points, key=key, source=source,
                     source_id=source_id, reason=reason, actor=actor)  # fmt: skip


def points_give_back(
    *, member: Member, redeemed_key: str, key: str, reason: str = "", actor: Actor = SYSTEM
) -> PointsEntry | None:
    """Undo the redemption written with `redeemed_key` (what it was spent on did not happen:
    an order ended unpaid or was refunded whole): its points come back as a new grant (a lot
    of its own, expiring by the programme's rule from now), once per `key`. None when there
    was no such redemption or it was given back already. Lifetime points do not move (the
    redemption never lowered them) and the level does not either."""
    if not PointsEntry.objects.filter(member=member, key=redeemed_key).exists():
        return None  # nothing was spent (most orders): no lock taken
    with transaction.atomic():
        member = lock_member(member.pk)
        spent = PointsEntry.objects.filter(member=member, key=redeemed_key, kind=K.REDEEM).first()
        if spent is None or spent.points >= 0:
            return None
        return _post(member, kind=K.RETURN, points=-spent.points, key=key, source=spent.source,
                     source_id=spent.source_id, reason=reason, actor=actor)  # fmt: skip


def points_adjust(
    *, member: Member, points: int, reason: str, key: str, actor: Actor
) -> PointsEntry | None:
    """Staff add or take points with a reason (a goodwill gesture, a correction); the
    balance may go below zero by taking."""
    reason = (reason or "").strip()
    if not reason:
        raise MembershipError(_("Give a reason for the change."))
    if not isinstance(points, int) or isinstance(points, bool) or not points:
        raise MembershipError(_("Enter a whole number of points other than zero."))
    _change(abs(points))
    with transaction.atomic():
        member = lock_member(member.pk)
        return _post(member, kind=K.ADJUST, points=points, key=key, source=Source.STAFF,
                     reason=reason, actor=actor)  # fmt: skip


def points_expire_due(*, now=None, limit: int = 500) -> list[PointsEntry]:
    """Expire what is left of every lot whose time has come (a task and the sweep; safe to
    run twice: each lot expires once, by its key)."""
    now = now or timezone.now()
    due = list(
        PointsLot.objects.filter(remaining__gt=0, expires_at__lte=now)
        .order_by("member_id", "id")
        .values_list("pk", "member_id")[:limit]
    )
    made = []
    for lot_id, member_id in due:
        with transaction.atomic():
            member = lock_member(member_id)
            lot = PointsLot.objects.get(pk=lot_id)
            if not lot.remaining:
                continue
            entry = _post(member, kind=K.EXPIRE, points=-lot.remaining, key=f"expire:{lot.pk}",
                          source=Source.EXPIRY, source_id=lot.pk)  # fmt: skip
            if entry is not None:
                PointsLot.objects.filter(pk=lot.pk).update(remaining=0)
                made.append(entry)
    return made


def points_history(member: Member):
    """The member's entries, newest first."""
    return PointsEntry.objects.filter(member=member).order_by("-created_at", "-id")


def verify_balances(*, limit: int = 50) -> list[tuple]:
    """Members whose cached balance or lifetime points differ from their ledger: (member id,
    cached balance, the ledger's, cached lifetime, the ledger's). One aggregate query that
    brings back only the rows that break the rule."""
    rows = (
        Member.objects.annotate(
            derived=Coalesce(Sum("entries__points"), 0),
            derived_lifetime=Coalesce(
                Sum("entries__points", filter=Q(entries__kind__in=LIFETIME_KINDS)), 0
            ),
        )
        .filter(~Q(balance=F("derived")) | ~Q(lifetime=F("derived_lifetime")))
        .order_by("id")
        .values_list("id", "balance", "derived", "lifetime", "derived_lifetime")
    )
    return list(rows[:limit])


def verify_lots(*, limit: int = 50) -> list[tuple]:
    """Members whose lots' remainders are not their balance above zero: (member id,
    balance, what the lots hold)."""
    rows = (
        Member.objects.annotate(left=Coalesce(Sum("lots__remaining"), 0))
        .exclude(left=Greatest(F("balance"), 0))
        .order_by("id")
        .values_list("id", "balance", "left")
    )
    return list(rows[:limit])
