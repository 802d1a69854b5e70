"""The coupons domain's services, by sub-domain; the public names are all here.

- batches.py: a merchant's batches (terms checked, created, edited, stopped), found by public
  id for the console and the app;
- issuing.py: a coupon issued from a batch (claimed, by a link, granted, after an order),
  every cap decided by the database;
- pricing.py: what a coupon takes off a cart's lines, per line;
- redeeming.py: a coupon's life with an order (reserved, released, used, returned) or at the
  counter (used for a counter sale), expiry and reminders;
- merging.py: a guest's coupons becoming the account's;
- selectors.py: what the interfaces show (a customer's coupons, the best for a cart, a
  batch's figures).

What an order does to its coupon (placing, paying, refunding) is flows/coupons.py's.
"""

from tapgo.coupons.services.base import CouponError, NotAMember
from tapgo.coupons.services.batches import (
    BatchTerms,
    access_batch,
    access_batch_for_merchant,
    batch_create,
    batch_stop,
    batch_update,
    batches_claimable,
    batches_issued_after_payment,
    batches_issued_on,
    batches_of_merchant,
)
from tapgo.coupons.services.issuing import audience_refusal, coupon_issue
from tapgo.coupons.services.merging import coupons_move
from tapgo.coupons.services.pricing import Line, discount_of
from tapgo.coupons.services.redeeming import (
    counter_discount,
    coupon_check_payable,
    coupon_for_counter,
    coupon_mark_reminded,
    coupon_of_order,
    coupon_release,
    coupon_reserve,
    coupon_return,
    coupon_use,
    coupon_use_at_counter,
    coupons_expire_due,
    coupons_to_remind,
)
from tapgo.coupons.services.selectors import (
    BatchFigures,
    Offer,
    batch_figures,
    coupons_of_customer,
    coupons_usable,
    offers_for_cart,
    order_ids_of_batch,
)

__all__ = [
    "BatchFigures",
    "BatchTerms",
    "CouponError",
    "Line",
    "NotAMember",
    "Offer",
    "access_batch",
    "access_batch_for_merchant",
    "audience_refusal",
    "batch_create",
    "batch_figures",
    "batch_stop",
    "batch_update",
    "batches_claimable",
    "batches_issued_after_payment",
    "batches_issued_on",
    "batches_of_merchant",
    "coupon_check_payable",
    "coupon_for_counter",
    "coupon_issue",
    "coupon_mark_reminded",
    "coupon_of_order",
    "coupon_release",
    "coupon_reserve",
    "coupon_return",
    "coupon_use",
    "coupon_use_at_counter",
    "coupons_expire_due",
    "coupons_move",
    "coupons_of_customer",
    "coupons_usable",
    "coupons_to_remind",
    "counter_discount",
    "discount_of",
    "offers_for_cart",
    "order_ids_of_batch",
]
