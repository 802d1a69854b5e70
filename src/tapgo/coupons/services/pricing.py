"""What a coupon takes off a cart, line by line, in integer minor units.

The minimum spend is checked on the pre-discount subtotal of the eligible items (those of
the batch's products or categories; all items when it names none). The discount is shared
over the eligible lines in proportion to what they cost, by largest remainder
(core.money.allocate), so the parts add up to it exactly and an item refunded later gives
back what was paid for it. A free item's discount is one unit of that item, on its line.

An order always pays something: a coupon that would take off the whole of it is refused
(with a message) rather than making an order with nothing to pay."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from tapgo.core import translations as texts
from tapgo.core.money import allocate, format_money
from tapgo.coupons.models import Batch, CouponKind
from tapgo.coupons.services.base import CouponError


@dataclass(frozen=True)
class Line:
    """A line of a cart or an order as pricing needs it; `key` names it in the answer."""

    key: int
    product_id: int
    category_id: int
    unit_price: int
    quantity: int

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity


def _eligible(batch: Batch, lines: list[Line]) -> list[Line]:
    products = {p.pk for p in batch.products.all()}
    categories = {c.pk for c in batch.categories.all()}
    if not products and not categories:
        return list(lines)
    return [ln for ln in lines if ln.product_id in products or ln.category_id in categories]


def discount_of(batch: Batch, lines: list[Line], *, total: int | None = None) -> dict[int, int]:
    """{line key: minor units off} for `batch` on `lines` (lines with nothing off left out),
    or CouponError saying why it does not apply. `total` is what the whole order costs
    before the discount (the lines' sum when not given)."""
    total = sum(ln.subtotal for ln in lines) if total is None else total
    eligible = [ln for ln in _eligible(batch, lines) if ln.subtotal > 0]
    if not eligible:
        raise CouponError(_("This coupon does not apply to anything in your cart."))
    subtotal = sum(ln.subtotal for ln in eligible)
    if subtotal < batch.min_spend:
        raise CouponError(
            _("Spend %(amount)s on the items this coupon applies to, to use it.")
            % {"amount": format_money(batch.min_spend, batch.merchant.currency)}
        )
    if batch.kind == CouponKind.FREE_ITEM:
        line = next((ln for ln in eligible if ln.product_id == batch.free_product_id), None)
        if line is None:
            name = texts.of(batch.free_product, "name") if batch.free_product else ""
            raise CouponError(_("Add %(name)s to your cart to have it free.") % {"name": name})
        parts = {line.key: line.unit_price}
    else:
        if batch.kind == CouponKind.PERCENT:
            off = subtotal * batch.value // 100
            if batch.max_off is not None:
                off = min(off, batch.max_off)
        else:
            off = min(batch.value, subtotal)
        if off <= 0:
            raise CouponError(_("This coupon takes nothing off this cart."))
        shares = allocate(off, [ln.subtotal for ln in eligible])
        parts = {ln.key: part for ln, part in zip(eligible, shares, strict=True) if part}
    if sum(parts.values()) >= total:
        raise CouponError(_("This coupon would pay for the whole order: add something else."))
    return parts
