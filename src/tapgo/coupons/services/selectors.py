"""What the interfaces show of coupons: a customer's coupons at a merchant, the coupons that
apply to a cart (best first: the checkout's suggestion), a batch's figures."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from tapgo.coupons.models import Batch, Coupon, CouponState
from tapgo.coupons.services.base import CouponError
from tapgo.coupons.services.pricing import Line, discount_of
from tapgo.identity.models import Customer

S = CouponState


def coupons_of_customer(*, customer: Customer, merchant_id: int) -> list[Coupon]:
    """The customer's coupons here: usable ones first (soonest to end first), then the rest,
    newest first."""
    coupons = list(
        Coupon.objects.filter(customer=customer, merchant_id=merchant_id)
        .select_related("batch__merchant", "batch__free_product")
        .order_by("-claimed_at", "-id")[:200]
    )
    now = timezone.now()
    usable = sorted(
        (c for c in coupons if c.state == S.AVAILABLE and c.expires_at > now),
        key=lambda c: (c.expires_at, c.pk),
    )
    return usable + [c for c in coupons if c not in usable]


def coupons_usable(*, customer: Customer, merchant_id: int) -> list[Coupon]:
    """The customer's coupons here that an order could use now, soonest to end first (the
    card page lists them)."""
    now = timezone.now()
    return list(
        Coupon.objects.filter(
            customer=customer, merchant_id=merchant_id, state=S.AVAILABLE, expires_at__gt=now
        )
        .select_related("batch")
        .order_by("expires_at", "id")[:50]
    )


@dataclass(frozen=True)
class Offer:
    """A coupon at checkout: what it would take off this cart, or why it does not apply."""

    coupon: Coupon
    discount: int
    reason: str = ""


def offers_for_cart(
    *, customer: Customer, merchant_id: int, lines: list[Line], now: datetime | None = None
) -> list[Offer]:
    """The customer's usable coupons here with what each takes off these lines: those that
    apply first, largest discount first (the first is the suggestion), then those that do
    not, each with the reason."""
    now = now or timezone.now()
    if not lines:
        return []
    coupons = (
        Coupon.objects.filter(
            customer=customer,
            merchant_id=merchant_id,
            state=S.AVAILABLE,
            expires_at__gt=now,
            batch__stopped=False,
        )
        .select_related("batch__merchant", "batch__free_product")
        .prefetch_related("batch__products", "batch__categories")
        .order_by("expires_at", "id")[:50]
    )
    offers = []
    for coupon in coupons:
        try:
            offers.append(Offer(coupon, sum(discount_of(coupon.batch, lines).values())))
        except CouponError as exc:
            offers.append(Offer(coupon, 0, str(exc)))
    return sorted(offers, key=lambda o: (not o.discount, -o.discount, o.coupon.expires_at))


@dataclass(frozen=True)
class BatchFigures:
    issued: int
    available: int
    reserved: int
    used: int
    expired: int
    discount: int  # what the used coupons took off


def batch_figures(batch: Batch) -> BatchFigures:
    counts = Coupon.objects.filter(batch=batch).aggregate(
        available=Count("pk", filter=Q(state=S.AVAILABLE)),
        reserved=Count("pk", filter=Q(state=S.RESERVED)),
        used=Count("pk", filter=Q(state=S.USED)),
        expired=Count("pk", filter=Q(state=S.EXPIRED)),
    )
    discount = sum(
        Coupon.objects.filter(batch=batch, state=S.USED).values_list("discount", flat=True)
    )
    return BatchFigures(issued=batch.issued, discount=discount, **counts)


def order_ids_of_batch(batch: Batch) -> list[int]:
    """The orders that used a coupon of the batch (the console's revenue from it)."""
    used = Coupon.objects.filter(batch=batch, state=S.USED, order_id__isnull=False)
    return [order_id for order_id in used.values_list("order_id", flat=True) if order_id]
