"""A guest's coupons becoming the account's when the guest signs in: the coupons move, and
so do the guest's per-customer counts (added to the account's, so the account's count says
how many of each offer it now holds; the caps held when each coupon was issued)."""

from django.db import transaction
from django.db.models import F

from tapgo.coupons.models import Coupon, CustomerCount
from tapgo.identity.models import Customer


@transaction.atomic
def coupons_move(*, source: Customer, target: Customer) -> None:
    Coupon.objects.filter(customer=source).update(customer=target)
    for count in CustomerCount.objects.filter(customer=source).order_by("batch_id"):
        mine = CustomerCount.objects.filter(batch_id=count.batch_id, customer=target)
        if not mine.update(count=F("count") + count.count):
            CustomerCount.objects.create(
                batch_id=count.batch_id, customer=target, count=count.count
            )
        count.delete()
