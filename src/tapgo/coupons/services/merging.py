"""A guest's coupons becoming the account's when the guest signs in, within each offer's
per-customer cap: the account keeps at most what the cap allows of each batch.

- Coupons an order of the guest holds or used (reserved, used) follow their order to the
  account whatever the cap: the order moves too, and what it paid was decided then.
- Available coupons move while the account has room under the batch's cap (the ones lasting
  longest first); the rest stay with the guest, expired, so no customer holds more than
  the offer allows and the batch's issued count stays true (they were issued).
- Expired coupons move as history.
- The counts follow what moved: the account's count grows by the coupons it received (each
  available one taken by the conditional UPDATE that claims take, so a claim of the account
  racing the merge cannot pass the cap either); the guest keeps the count of what it kept.
"""

from django.db import transaction
from django.db.models import F

from tapgo.coupons.models import Batch, Coupon, CouponState, CustomerCount
from tapgo.coupons.services.issuing import _count
from tapgo.identity.models import Customer

S = CouponState


def _add(batch_id: int, customer: Customer, n: int) -> None:
    """Add `n` to the customer's count of a batch whatever its cap."""
    if n <= 0:
        return
    mine = CustomerCount.objects.filter(batch_id=batch_id, customer=customer)
    if not mine.update(count=F("count") + n):
        CustomerCount.objects.create(batch_id=batch_id, customer=customer, count=n)


@transaction.atomic
def coupons_move(*, source: Customer, target: Customer) -> None:
    batch_ids = sorted(set(Coupon.objects.filter(customer=source).values_list("batch", flat=True)))
    caps = dict(Batch.objects.filter(pk__in=batch_ids).values_list("pk", "per_customer_cap"))
    for batch_id in batch_ids:
        theirs = Coupon.objects.filter(customer=source, batch_id=batch_id)
        # Held, used or expired: they follow their orders (or are history), counted.
        _add(batch_id, target, theirs.exclude(state=S.AVAILABLE).update(customer=target))
        longest_first = theirs.filter(state=S.AVAILABLE).order_by("-expires_at", "-id")
        available = list(longest_first.values_list("pk", flat=True))
        cap = caps[batch_id]
        if cap is None:
            _add(batch_id, target, Coupon.objects.filter(pk__in=available).update(customer=target))
        else:
            keys = {"batch_id": batch_id, "customer": target}
            for pk in available:
                if _count(CustomerCount, keys, cap):  # room under the cap, taken
                    Coupon.objects.filter(pk=pk).update(customer=target)
                else:  # over the cap: not moved, and no longer usable
                    Coupon.objects.filter(pk=pk, state=S.AVAILABLE).update(state=S.EXPIRED)
        kept = theirs.count()
        counts = CustomerCount.objects.filter(batch_id=batch_id, customer=source)
        if kept:
            counts.update(count=kept)
        else:
            counts.delete()
    # Counts of batches with no coupon left to move (none should exist): the account's.
    for count in CustomerCount.objects.filter(customer=source).exclude(batch_id__in=batch_ids):
        _add(count.batch_id, target, count.count)
        count.delete()
