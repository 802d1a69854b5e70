"""A merchant's coupon batches: their terms checked (a clear message for anything wrong,
nothing written), created, edited (a total cap never below what was issued: one conditional
UPDATE), stopped; found by public id, another merchant's answering None (a 404)."""

from dataclasses import dataclass, field, replace
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tapgo.catalog.models import Category, Product
from tapgo.core.caches import ExpiringCache
from tapgo.core.ids import is_public_id
from tapgo.core.money import MAX_AMOUNT
from tapgo.coupons import locks
from tapgo.coupons.models import Audience, AutoIssue, Batch, CouponKind
from tapgo.coupons.services.base import CouponError
from tapgo.membership.models import Level
from tapgo.merchants.models import Merchant

MAX_VALID_DAYS = 3650
CLAIM_BATCH_SECONDS = 1.0
_claim_batches = ExpiringCache("coupons.claim_batches", size=4096, seconds=CLAIM_BATCH_SECONDS)


@dataclass(frozen=True)
class BatchTerms:
    """What a batch offers, as the console's form gives it (amounts in minor units)."""

    name: str
    kind: str
    value: int = 0
    max_off: int | None = None
    min_spend: int = 0
    free_product: Product | None = None
    products: list[Product] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None
    total_cap: int | None = None
    per_customer_cap: int | None = 1
    per_day_cap: int | None = None
    combinable: bool = False
    # Who may have one (everyone, members, members at `level` or above), and whether the
    # batch is issued by itself on joining the card or on reaching `level` (a next-order
    # coupon is issued after a paid order, by its kind).
    audience: str = Audience.EVERYONE
    level: Level | None = None
    issued_on: str = AutoIssue.NONE


ISSUED_ON = (AutoIssue.NONE, AutoIssue.JOIN, AutoIssue.LEVEL)


def _check_audience(merchant: Merchant, terms: BatchTerms) -> BatchTerms:
    """Who may have the batch's coupons, made coherent with how they are issued: a batch
    issued on joining is for members, one issued on reaching a level is for that level and
    above, and either gives one coupon a member (the per-customer cap of 1 is what makes it
    once per member, even when the level goes down and up again)."""
    if terms.audience not in Audience.values or terms.issued_on not in ISSUED_ON:
        raise CouponError(_("Choose who can have the coupon."))
    if terms.level is not None and terms.level.merchant_id != merchant.pk:
        raise CouponError(_("Choose a level of your own programme."))
    wants_level = terms.audience == Audience.LEVEL or terms.issued_on == AutoIssue.LEVEL
    if wants_level and terms.level is None:
        raise CouponError(_("Choose the level."))
    if terms.issued_on == AutoIssue.NONE:
        level = terms.level if terms.audience == Audience.LEVEL else None
        return replace(terms, level=level)
    if terms.kind == CouponKind.NEXT_ORDER:
        raise CouponError(_("A next-order coupon is issued after a paid order."))
    if terms.issued_on == AutoIssue.JOIN:
        return replace(terms, audience=Audience.MEMBERS, level=None, per_customer_cap=1)
    return replace(terms, audience=Audience.LEVEL, per_customer_cap=1)


def _checked(merchant: Merchant, terms: BatchTerms) -> BatchTerms:
    name = terms.name.strip()
    if not name or len(name) > 80 or "\x00" in name:
        raise CouponError(_("Give the offer a name of at most 80 characters."))
    if terms.kind not in CouponKind.values:
        raise CouponError(_("Choose what the coupon takes off."))
    for amount in (terms.value, terms.max_off or 0, terms.min_spend):
        if not 0 <= amount <= MAX_AMOUNT:
            raise CouponError(_("That amount is out of range."))
    if terms.kind == CouponKind.PERCENT and not 1 <= terms.value <= 99:
        raise CouponError(_("A percentage off is between 1 and 99."))
    if terms.kind in (CouponKind.AMOUNT, CouponKind.THRESHOLD, CouponKind.NEXT_ORDER):
        if terms.value <= 0:
            raise CouponError(_("Give the amount the coupon takes off."))
    if terms.kind == CouponKind.THRESHOLD and terms.min_spend <= terms.value:
        raise CouponError(_("The spend must be more than the amount off."))
    if terms.kind == CouponKind.FREE_ITEM:
        product = terms.free_product
        if product is None or product.merchant_id != merchant.pk:
            raise CouponError(_("Choose the item the coupon gives free."))
    for item in (*terms.products, *terms.categories):
        if item.merchant_id != merchant.pk:
            raise CouponError(_("Choose items of your own menu."))
    if terms.valid_days is None and terms.valid_until is None:
        raise CouponError(_("Give an end date, or how many days a coupon lasts once claimed."))
    if terms.valid_days is not None and not 1 <= terms.valid_days <= MAX_VALID_DAYS:
        raise CouponError(_("A coupon lasts between 1 and 3650 days."))
    valid_from = terms.valid_from or timezone.now()
    if terms.valid_until is not None and terms.valid_until <= valid_from:
        raise CouponError(_("The end comes after the start."))
    for cap in (terms.total_cap, terms.per_customer_cap, terms.per_day_cap):
        if cap is not None and not 1 <= cap <= 10_000_000:
            raise CouponError(_("A limit is a number from 1 up, or empty for none."))
    terms = _check_audience(merchant, terms)
    return BatchTerms(**{**terms.__dict__, "name": name, "valid_from": valid_from})


def _fields(terms: BatchTerms) -> dict:
    return {
        "name": terms.name,
        "kind": terms.kind,
        "value": terms.value,
        "max_off": terms.max_off if terms.kind == CouponKind.PERCENT else None,
        "min_spend": terms.min_spend,
        "free_product": terms.free_product if terms.kind == CouponKind.FREE_ITEM else None,
        "valid_from": terms.valid_from,
        "valid_until": terms.valid_until,
        "valid_days": terms.valid_days,
        "total_cap": terms.total_cap,
        "per_customer_cap": terms.per_customer_cap,
        "per_day_cap": terms.per_day_cap,
        "combinable": terms.combinable,
        "auto_issue": AutoIssue.PAID_ORDER
        if terms.kind == CouponKind.NEXT_ORDER
        else terms.issued_on,
        "audience": terms.audience,
        "level": terms.level,
    }


def batch_create(*, merchant: Merchant, terms: BatchTerms) -> Batch:
    terms = _checked(merchant, terms)
    with transaction.atomic():
        batch = Batch.objects.create(merchant=merchant, **_fields(terms))
        batch.products.set(terms.products)
        batch.categories.set(terms.categories)
    return batch


def batch_update(*, batch: Batch, terms: BatchTerms) -> Batch:
    """Change a batch's terms. Its kind stays once coupons were issued (they were claimed for
    what it said), and its total cap never goes below what was issued. Its start stays
    unless `terms` gives one."""
    if terms.valid_from is None:
        terms = replace(terms, valid_from=batch.valid_from)
    terms = _checked(batch.merchant, terms)
    with transaction.atomic():
        locked = locks.lock_batch(batch.pk)
        if locked.issued and terms.kind != locked.kind:
            raise CouponError(_("Coupons of this offer were issued: its kind stays."))
        fields = _fields(terms)
        within = Q(pk=batch.pk)
        if terms.total_cap is not None:
            within &= Q(issued__lte=terms.total_cap)
        if not Batch.objects.filter(within).update(**fields):
            raise CouponError(
                _("%(n)d coupons were issued already: the limit cannot be lower.")
                % {"n": locked.issued}
            )
        locked.products.set(terms.products)
        locked.categories.set(terms.categories)
    _claim_batches.pop(batch.public_id)
    batch.refresh_from_db()
    return batch


def batch_stop(*, batch: Batch) -> bool:
    """Stop a batch: nothing more is claimed or issued, and its coupons no longer apply to a
    new order (an order placed with one is refused when its money lands). False when it was
    stopped already."""
    moved = Batch.objects.filter(pk=batch.pk, stopped=False).update(stopped=True)
    _claim_batches.pop(batch.public_id)
    batch.stopped = True
    return bool(moved)


def access_batch_for_merchant(*, merchant: Merchant, public_id: str) -> Batch | None:
    if not is_public_id(public_id):
        return None
    return (
        Batch.objects.for_merchant(merchant)
        .select_related("merchant", "free_product", "level")
        .filter(public_id=public_id)
        .first()
    )


def access_batch(*, public_id: str) -> Batch | None:
    """A batch by public id, for a customer's claim page (whose app says whose it must be):
    read at most once a second per process (a flash claim's thousands of presses read one
    row). The instance is shared by the server's threads: read it, never change it. What
    it says may be a second old in another process: the claim's conditional UPDATE decides
    the total cap and a stop; an edit of the terms (the caps per customer or day, the end)
    applies there a second late at most, and at once in the process that made it."""
    if not is_public_id(public_id):
        return None
    found = _claim_batches.get(public_id)
    if found is None:
        found = (
            Batch.objects.select_related("merchant", "free_product", "level")
            .filter(public_id=public_id)
            .first()
        )
        if found is not None:
            _claim_batches.set(public_id, found)
    return found


def batches_of_merchant(merchant: Merchant):
    return Batch.objects.for_merchant(merchant).select_related("free_product", "level")


def batches_claimable(merchant_id: int, *, now: datetime | None = None) -> list[Batch]:
    """The batches a customer may claim in the app now (not stopped, in their window, not
    issued by themselves), oldest first."""
    now = now or timezone.now()
    return list(
        Batch.objects.filter(
            merchant_id=merchant_id, stopped=False, auto_issue=AutoIssue.NONE, valid_from__lte=now
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("merchant", "free_product", "level")
        .order_by("created_at", "id")
    )


def batches_issued_after_payment(merchant_id: int, *, now: datetime | None = None) -> list[Batch]:
    """The merchant's running next-order batches: a paid order issues one of each."""
    now = now or timezone.now()
    return list(
        Batch.objects.filter(
            merchant_id=merchant_id,
            stopped=False,
            auto_issue=AutoIssue.PAID_ORDER,
            valid_from__lte=now,
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("merchant")
        .order_by("id")
    )


def batches_issued_on(
    merchant_id: int,
    *,
    issued_on: str,
    levels: list[Level] | None = None,
    now: datetime | None = None,
) -> list[Batch]:
    """The merchant's running batches issued on joining the card (`issued_on` JOIN) or on
    reaching one of `levels` (LEVEL), oldest first."""
    now = now or timezone.now()
    found = Batch.objects.filter(
        merchant_id=merchant_id, stopped=False, auto_issue=issued_on, valid_from__lte=now
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
    if issued_on == AutoIssue.LEVEL:
        found = found.filter(level__in=levels or [])
    return list(found.select_related("merchant", "level").order_by("id"))
