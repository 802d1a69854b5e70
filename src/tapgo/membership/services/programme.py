"""A merchant's programme: how points are earned, what levels measure, when points expire.
Made with its defaults on first use (two first uses at once make one)."""

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.membership.models import EarnBonus, ExpiryRule, Level, LevelBasis, Programme
from tapgo.membership.services.errors import MembershipError
from tapgo.merchants.services import merchant_zone

MAX_POINTS = 1_000_000  # per rule: anything above is a typo, not a programme
MAX_WINDOW_MONTHS = 120


@dataclass(frozen=True)
class Item:
    """A unit bought, as earning sees it: the product, its category and how many."""

    product_id: int
    category_id: int | None
    quantity: int


def programme_of(*, merchant) -> Programme:
    """The merchant's programme (a Merchant or its id), made with the defaults if need be."""
    merchant_id = merchant if isinstance(merchant, int) else merchant.pk
    found = Programme.objects.filter(merchant_id=merchant_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Programme.objects.create(merchant_id=merchant_id)
    except IntegrityError:
        return Programme.objects.get(merchant_id=merchant_id)


def _whole(value, *, least: int = 0, most: int = MAX_POINTS, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
        raise MembershipError(
            _("%(name)s must be a whole number from %(least)s to %(most)s.")
            % {"name": name, "least": least, "most": most}
        )
    return value


def programme_update(
    *,
    merchant,
    points_per_unit: int,
    unit_amount: int,
    points_per_order: int,
    first_order_bonus: int,
    level_basis: str,
    level_window_months: int,
    expiry_rule: str,
    expiry_months: int,
) -> Programme:
    """Change the programme's rules (they apply to what is earned from now on)."""
    if level_basis not in LevelBasis.values:
        raise MembershipError(_("Choose what levels are measured by."))
    if expiry_rule not in ExpiryRule.values:
        raise MembershipError(_("Choose when points expire."))
    values = {
        "points_per_unit": _whole(points_per_unit, name=_("Points per unit paid")),
        "unit_amount": _whole(unit_amount, least=1, name=_("The unit paid")),
        "points_per_order": _whole(points_per_order, name=_("Points per order")),
        "first_order_bonus": _whole(first_order_bonus, name=_("The first order bonus")),
        "level_window_months": _whole(
            level_window_months, least=1, most=MAX_WINDOW_MONTHS, name=_("The level window")
        ),
        "expiry_months": _whole(
            expiry_months, least=1, most=MAX_WINDOW_MONTHS, name=_("Months until points expire")
        ),
        "level_basis": level_basis,
        "expiry_rule": expiry_rule,
    }
    programme = programme_of(merchant=merchant)
    Programme.objects.filter(pk=programme.pk).update(**values, updated_at=timezone.now())
    programme.refresh_from_db()
    return programme


def level_save(
    *,
    merchant,
    name: str,
    threshold: int,
    rank: int,
    discount_bps: int,
    public_id: str = "",
) -> Level:
    """Add a level, or change the one named by `public_id` (another merchant's: not found)."""
    name = (name or "").strip()
    if not name or len(name) > 40:
        raise MembershipError(_("Give the level a name of up to 40 characters."))
    values = {
        "name": name,
        "threshold": _whole(threshold, least=1, most=10**9, name=_("The threshold")),
        "rank": _whole(rank, least=1, most=100, name=_("The rank")),
        "discount_bps": _whole(discount_bps, most=10000, name=_("The discount")),
    }
    clash = Level.objects.for_merchant(merchant).filter(rank=values["rank"])
    if public_id:
        level = Level.objects.for_merchant(merchant).filter(public_id=public_id).first()
        if level is None:
            raise MembershipError(_("That level is not in this programme."))
        clash = clash.exclude(pk=level.pk)
    if clash.exists():
        raise MembershipError(_("Another level has that rank."))
    try:
        with transaction.atomic():
            if public_id:
                Level.objects.filter(pk=level.pk).update(**values)
                level.refresh_from_db()
                return level
            return Level.objects.create(merchant=merchant, **values)
    except IntegrityError:  # a racing save took the rank
        raise MembershipError(_("Another level has that rank.")) from None


def level_delete(*, merchant, public_id: str) -> bool:
    """Remove a level; its members have none until their level is recomputed. An offer that
    is for this level (coupons refer to it, PROTECT) keeps it: MembershipError naming the
    offers to change first."""
    try:
        deleted, _rows = Level.objects.for_merchant(merchant).filter(public_id=public_id).delete()
    except ProtectedError as exc:
        names = ", ".join(sorted({str(thing) for thing in exc.protected_objects}))
        raise MembershipError(
            _("Offers are for this level (%(names)s): give them another level first.")
            % {"names": names}
        ) from None
    return bool(deleted)


def earn_bonus_set(*, merchant, points: int, product=None, category=None) -> EarnBonus | None:
    """Extra points per unit of a product or of a category's products (0 removes them)."""
    if (product is None) == (category is None):
        raise MembershipError(_("Choose a product or a category."))
    for thing in (product, category):
        if thing is not None and thing.merchant_id != merchant.pk:
            raise MembershipError(_("Choose a product or a category."))
    points = _whole(points, name=_("Extra points"))
    with transaction.atomic():
        EarnBonus.objects.for_merchant(merchant).filter(product=product, category=category).delete()
        if not points:
            return None
        return EarnBonus.objects.create(
            merchant=merchant, product=product, category=category, points=points
        )


def earn_bonus_delete(*, merchant, bonus_id: int) -> bool:
    deleted, _rows = EarnBonus.objects.for_merchant(merchant).filter(pk=bonus_id).delete()
    return bool(deleted)


def order_points(
    programme: Programme, *, amount: int, items: Iterable[Item] = (), first: bool = False
) -> int:
    """What a purchase earns: per whole unit paid (rounding down), per order, the first
    order's bonus, and the extra points of the products and categories bought."""
    points = max(amount, 0) // programme.unit_amount * programme.points_per_unit
    points += programme.points_per_order + (programme.first_order_bonus if first else 0)
    items = list(items)
    if items:
        bonuses = list(EarnBonus.objects.filter(merchant_id=programme.merchant_id))
        by_product = {b.product_id: b.points for b in bonuses if b.product_id}
        by_category = {b.category_id: b.points for b in bonuses if b.category_id}
        for item in items:
            extra = by_product.get(item.product_id, 0)
            if item.category_id is not None:
                extra += by_category.get(item.category_id, 0)
            points += extra * item.quantity
    return points


def add_months(when: datetime, months: int) -> datetime:
    """The same moment `months` later (the month's last day when it is shorter)."""
    month0 = when.month - 1 + months
    year, month = when.year + month0 // 12, month0 % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def expires_at(programme: Programme, *, earned_at: datetime) -> datetime | None:
    """When points earned at `earned_at` expire under the programme's rule (None: never).
    The end of the next calendar year is the midnight, in the merchant's time zone, that
    begins the year after."""
    if programme.expiry_rule == ExpiryRule.MONTHS:
        return add_months(earned_at, programme.expiry_months)
    if programme.expiry_rule == ExpiryRule.NEXT_YEAR_END:
        zone = merchant_zone(programme.merchant_id)
        year = earned_at.astimezone(zone).year + 2
        return datetime.combine(datetime(year, 1, 1).date(), time(), tzinfo=zone)
    return None


def levels_of(merchant):
    """The programme's levels, lowest first."""
    return Level.objects.for_merchant(merchant).order_by("threshold", "rank")
