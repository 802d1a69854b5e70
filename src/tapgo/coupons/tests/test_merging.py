"""A guest's coupons becoming the account's on sign-in, within each offer's per-customer cap."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tapgo.coupons import services as coupons
from tapgo.coupons.models import Batch, Coupon, CouponState, CustomerCount
from tapgo.identity.models import Customer
from tapgo.identity.services import customer_create_guest

pytestmark = pytest.mark.django_db

S = CouponState


def _count(batch, customer) -> int:
    row = CustomerCount.objects.filter(batch=batch, customer=customer).first()
    return row.count if row else 0


def _mine(batch, customer, state=None):
    found = Coupon.objects.filter(batch=batch, customer=customer)
    return found.filter(state=state) if state else found


@pytest.fixture
def account(db):
    return Customer.objects.create(email="ann@example.test")


def test_a_merge_never_passes_the_per_customer_cap(make_batch, account):
    """Bug: the account held two coupons of an offer of one per customer after signing in."""
    batch = make_batch(per_customer_cap=1)
    guest = customer_create_guest()
    kept = coupons.coupon_issue(batch=batch, customer=account, source="claimed")
    extra = coupons.coupon_issue(batch=batch, customer=guest, source="claimed")

    coupons.coupons_move(source=guest, target=account)

    assert list(_mine(batch, account, S.AVAILABLE)) == [kept]
    assert _count(batch, account) == 1
    extra.refresh_from_db()
    assert (extra.customer, extra.state) == (guest, S.EXPIRED)  # not moved, not usable
    assert Batch.objects.get(pk=batch.pk).issued == 2  # both were issued
    with pytest.raises(coupons.CouponError, match="you can have"):
        coupons.coupon_issue(batch=batch, customer=account, source="claimed")


def test_a_merge_fills_the_room_left_with_the_longest_lasting(make_batch, account):
    batch = make_batch(per_customer_cap=3)
    guest = customer_create_guest()
    coupons.coupon_issue(batch=batch, customer=account, source="claimed")
    now = timezone.now()
    short, long_, middle = (
        coupons.coupon_issue(
            batch=batch, customer=guest, source="claimed", now=now + timedelta(seconds=s)
        )  # fmt: skip
        for s in (0, 20, 10)
    )

    coupons.coupons_move(source=guest, target=account)

    assert {long_, middle} <= set(_mine(batch, account, S.AVAILABLE))
    assert _mine(batch, account).count() == 3 and _count(batch, account) == 3
    short.refresh_from_db()
    assert (short.customer, short.state) == (guest, S.EXPIRED)
    assert _count(batch, guest) == 1  # what the guest kept


def test_used_and_held_coupons_follow_their_orders_whatever_the_cap(make_batch, account):
    batch = make_batch(per_customer_cap=1)
    guest = customer_create_guest()
    coupons.coupon_issue(batch=batch, customer=account, source="claimed")
    used = coupons.coupon_issue(batch=batch, customer=guest, source="claimed")
    Coupon.objects.filter(pk=used.pk).update(state=S.USED, order_id=42)

    coupons.coupons_move(source=guest, target=account)

    assert _mine(batch, account).count() == 2
    assert _mine(batch, account, S.USED).get() == used
    assert _count(batch, account) == 2  # what it has had: no room to claim more


def test_without_a_cap_every_coupon_and_count_moves(make_batch, account):
    batch = make_batch(per_customer_cap=None)
    other = make_batch(name="Other", per_customer_cap=2)
    guest = customer_create_guest()
    for _ in range(3):
        coupons.coupon_issue(batch=batch, customer=guest, source="claimed")
    coupons.coupon_issue(batch=other, customer=guest, source="claimed")

    coupons.coupons_move(source=guest, target=account)

    assert _mine(batch, account).count() == 3 and _mine(other, account).count() == 1
    assert _count(other, account) == 1 and _count(other, guest) == 0
    assert not Coupon.objects.filter(customer=guest).exists()
    assert not CustomerCount.objects.filter(customer=guest).exists()
    coupons.coupon_issue(batch=other, customer=account, source="claimed")  # room for one more
    with pytest.raises(coupons.CouponError, match="you can have"):
        coupons.coupon_issue(batch=other, customer=account, source="claimed")
