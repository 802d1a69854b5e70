"""A coupon's life with an order, each step one conditional UPDATE, so two orders can never
hold one coupon and no step happens twice:

- reserved by a placed order (available → reserved for the order's id);
- released when the order ends unpaid (reserved → available);
- used when the order is paid (reserved → used), checked first: its batch still running and
  the coupon not expired (the order is never paid at a price it no longer has);
- returned when the whole order is refunded and it is still valid (used → available).

And the end of its life: expired by the sweep, and a reminder before it expires, once.

At the counter (staff found the member by the member code) a coupon goes from available to
used at once for a counter sale, with what it takes off the amount typed."""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.core.ids import is_public_id
from tapgo.core.money import format_money
from tapgo.coupons.models import Coupon, CouponKind, CouponState
from tapgo.coupons.services.base import CouponError
from tapgo.coupons.services.pricing import Line, discount_of
from tapgo.identity.models import Customer

S = CouponState


def _usable(coupon: Coupon | None, now: datetime) -> Coupon:
    if coupon is None:
        raise CouponError(_("That coupon is not one of yours here."))
    if coupon.state == S.USED:
        raise CouponError(_("This coupon has been used."))
    if coupon.state == S.RESERVED:
        raise CouponError(_("This coupon is held by another order of yours."))
    if coupon.state == S.EXPIRED or coupon.expires_at <= now:
        raise CouponError(_("This coupon has expired."))
    if coupon.batch.stopped:
        raise CouponError(_("This offer has ended."))
    return coupon


def coupon_reserve(
    *,
    customer: Customer,
    merchant_id: int,
    code: str,
    order_id: int,
    lines: list[Line],
    total: int,
    now: datetime | None = None,
) -> tuple[Coupon, dict[int, int]]:
    """Hold the customer's coupon `code` for a placed order and say what it takes off each of
    the order's lines; CouponError (a message, nothing held) when it does not apply. The
    hold is one conditional UPDATE: of two orders racing for the coupon, one has it."""
    now = now or timezone.now()
    coupon = None
    if is_public_id(code):
        # The batch only: its merchant (the currency) and free product (the name) are read
        # when a message needs them.
        coupon = (
            Coupon.objects.select_related("batch")
            .filter(public_id=code, customer=customer, merchant_id=merchant_id)
            .first()
        )
    coupon = _usable(coupon, now)
    parts = discount_of(coupon.batch, lines, total=total)
    # Conditions on the coupon's own row only (the batch was checked by _usable): with a
    # join Django's UPDATE becomes `WHERE id IN (SELECT …)`, which PostgreSQL does not
    # re-check against the row another order just reserved, and both orders held it.
    held = Coupon.objects.filter(pk=coupon.pk, state=S.AVAILABLE, expires_at__gt=now).update(
        state=S.RESERVED, order_id=order_id, reserved_at=now, discount=sum(parts.values())
    )
    if not held:
        raise CouponError(_("This coupon was just used by another order."))
    coupon.state, coupon.order_id = S.RESERVED, order_id
    return coupon, parts


def coupon_of_order(order_id: int) -> Coupon | None:
    """The coupon an order holds or used."""
    return (
        Coupon.objects.select_related("batch")
        .filter(order_id=order_id, state__in=(S.RESERVED, S.USED))
        .first()
    )


def coupon_check_payable(*, order_id: int, now: datetime | None = None) -> None:
    """Raise CouponError when the coupon an unpaid order holds can no longer be used (its
    offer stopped, or it expired since the order was placed): the order must not be paid at
    that price. Nothing to check for an order without a coupon."""
    now = now or timezone.now()
    coupon = (
        Coupon.objects.select_related("batch").filter(order_id=order_id, state=S.RESERVED).first()
    )
    if coupon is None:
        return
    if coupon.batch.stopped:
        raise CouponError(
            _("The offer of this order's coupon has ended. Cancel the order and order again.")
        )
    if coupon.expires_at <= now:
        raise CouponError(_("This order's coupon has expired. Cancel the order and order again."))


def coupon_use(*, order_id: int, now: datetime | None = None) -> bool:
    """The order holding a coupon was paid: the coupon is used."""
    return bool(
        Coupon.objects.filter(order_id=order_id, state=S.RESERVED).update(
            state=S.USED, used_at=now or timezone.now()
        )
    )


def coupon_release(*, order_id: int) -> bool:
    """The order holding a coupon ended unpaid: the coupon is the customer's to use again."""
    return bool(
        Coupon.objects.filter(order_id=order_id, state=S.RESERVED).update(
            state=S.AVAILABLE, order_id=None, reserved_at=None, discount=0
        )
    )


def coupon_return(*, order_id: int, now: datetime | None = None) -> bool:
    """The whole order that used a coupon was refunded: the coupon comes back if it is still
    valid (else it stays used)."""
    now = now or timezone.now()
    return bool(
        Coupon.objects.filter(order_id=order_id, state=S.USED, expires_at__gt=now).update(
            state=S.AVAILABLE,
            order_id=None,
            reserved_at=None,
            used_at=None,
            discount=0,
            returned_at=now,
        )
    )


def coupons_expire_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Available coupons past their end become expired (a held one waits for its order)."""
    due = Coupon.objects.filter(state=S.AVAILABLE, expires_at__lte=now or timezone.now()).order_by(
        "expires_at", "id"
    )
    ids = list(due.values_list("pk", flat=True)[:limit])
    return Coupon.objects.filter(pk__in=ids, state=S.AVAILABLE).update(state=S.EXPIRED)


def coupons_to_remind(
    *, within: timedelta, now: datetime | None = None, limit: int = 500
) -> list[Coupon]:
    """Available coupons ending within `within` whose holder has not been reminded."""
    now = now or timezone.now()
    return list(
        Coupon.objects.filter(
            state=S.AVAILABLE,
            reminded_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=now + within,
        )
        .select_related("batch", "customer")
        .order_by("expires_at", "id")[:limit]
    )


def coupon_mark_reminded(*, coupon: Coupon, now: datetime | None = None) -> bool:
    """Take the coupon's one reminder: False when another sweep took it first."""
    return bool(
        Coupon.objects.filter(pk=coupon.pk, reminded_at__isnull=True).update(
            reminded_at=now or timezone.now()
        )
    )


# --- at the counter ------------------------------------------------------------------------


def counter_discount(batch, amount: int) -> int:
    """What a coupon takes off a sale of `amount` typed at the counter (no cart: the amount
    stands for the items it applies to): its minimum spend checked on the amount; an amount
    or threshold coupon takes its value (at most the amount), a percentage its share (at
    most its maximum); a free item takes nothing off the amount (staff hand the item over)."""
    if amount < batch.min_spend:
        raise CouponError(
            _("This coupon needs a sale of at least %(amount)s.")
            % {"amount": format_money(batch.min_spend, batch.merchant.currency)}
        )
    if batch.kind == CouponKind.FREE_ITEM:
        return 0
    if batch.kind == CouponKind.PERCENT:
        off = amount * batch.value // 100
        return off if batch.max_off is None else min(off, batch.max_off)
    return min(batch.value, amount)


def coupon_for_counter(
    *, customer: Customer, merchant_id: int, code: str, amount: int, now: datetime | None = None
) -> tuple[Coupon, int]:
    """The member's coupon `code`, usable now, and what it takes off a counter sale of
    `amount`; CouponError with a message for staff when it cannot be used."""
    now = now or timezone.now()
    coupon = None
    if is_public_id(code):
        coupon = (
            Coupon.objects.select_related("batch__merchant", "batch__free_product")
            .filter(public_id=code, merchant_id=merchant_id)
            .first()
        )
    if coupon is None or coupon.customer_id != customer.pk:
        raise CouponError(_("That coupon is not this member's."))
    if coupon.state == S.USED:
        raise CouponError(_("This coupon has been used."))
    if coupon.state == S.RESERVED:
        raise CouponError(_("This coupon is held by an order that is not paid yet."))
    if coupon.state == S.EXPIRED or coupon.expires_at <= now:
        raise CouponError(_("This coupon has expired."))
    if coupon.batch.stopped:
        raise CouponError(_("This offer has ended."))
    return coupon, counter_discount(coupon.batch, amount)


def coupon_use_at_counter(
    *, coupon: Coupon, sale_id: int, discount: int, now: datetime | None = None
) -> None:
    """Use the coupon for a counter sale at once (available → used): one conditional UPDATE,
    so of two tills using one coupon one does; CouponError for the other."""
    now = now or timezone.now()
    # Conditions on the coupon's own row only: a join (the batch's `stopped`) would make
    # Django's UPDATE a `WHERE id IN (SELECT …)`, which PostgreSQL does not re-check against
    # the row another till just used; the batch was checked by coupon_for_counter.
    used = Coupon.objects.filter(pk=coupon.pk, state=S.AVAILABLE, expires_at__gt=now).update(
        state=S.USED, counter_sale_id=sale_id, used_at=now, discount=discount
    )
    if not used:
        raise CouponError(_("This coupon was just used."))
    coupon.state, coupon.counter_sale_id, coupon.discount = S.USED, sale_id, discount
