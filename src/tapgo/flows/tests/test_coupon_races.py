"""One single-use coupon in ten checkouts at once (real threads, SQLite and PostgreSQL): one
order holds it, the others are refused before payment with a message and place nothing."""

import pytest

from tapgo.coupons import services as coupons
from tapgo.coupons.models import Coupon, CouponState
from tapgo.flows import checkout as checkout_flows
from tapgo.flows import listings
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]


def test_one_coupon_in_ten_checkouts(concurrently, make_batch, merchant, app, product, customer):
    # The merchant's coupon is good in each of its apps: ten carts of one customer, ten tabs.
    apps = [app] + [
        listings.app_create(merchant=merchant, name=f"Kiosk {i}", slug=f"kiosk-{i}")
        for i in range(9)
    ]
    for each in apps:
        ordering.cart_add(
            customer=customer, app=each, product_public_id=product.public_id, quantity=2
        )
    coupon = coupons.coupon_issue(batch=make_batch(), customer=customer, source="claimed")

    def place(i):
        try:
            return checkout_flows.checkout(
                customer=customer,
                app=apps[i],
                checkout_key=f"tab-{i}",
                fulfilment="pickup",
                pickup_name="Ann",
                coupon=coupon.public_id,
            )
        except ordering.OrderingError as exc:
            return exc

    results = concurrently(place, 10)

    placed = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, ordering.OrderingError)]
    assert len(placed) == 1 and len(refused) == 9, results
    assert all("another order" in str(r) for r in refused), refused
    assert Order.objects.count() == 1  # the refused checkouts placed nothing
    held = Coupon.objects.get(pk=coupon.pk)
    assert (held.state, held.order_id) == (CouponState.RESERVED, placed[0].pk)
    assert placed[0].total == 5200 - 500
