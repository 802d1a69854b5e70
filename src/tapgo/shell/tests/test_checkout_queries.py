"""What one checkout POST costs in queries, plain, with a coupon, with a coupon and the
member's level discount (issue 13: the coupon path at most 20% more server work): pinned so
the offers' path cannot silently grow back (flows/offers.py reads the lines once, a new order
is not looked up for offers it cannot have, each offer is one UPDATE of the order and one of
all its lines)."""

import re

import pytest
from django.urls import reverse

from tapgo.core.actors import SYSTEM
from tapgo.coupons import services as coupons
from tapgo.membership import services as membership
from tapgo.ordering.models import Cart, Order, OrderLine

pytestmark = pytest.mark.django_db

PLAIN, COUPON, COUPON_AND_LEVEL = 25, 35, 46  # two lines in the cart


@pytest.fixture
def cart(client, app, product, category):
    from tapgo.flows.listings import product_create

    cake = product_create(merchant=app.merchant, category=category, name="Cake", price=1800)
    for item, quantity in ((product, 2), (cake, 1)):
        client.post(
            reverse("shell:cart_add", args=[app.slug]),
            {"item": item.public_id, "quantity": quantity},
        )
    return Cart.objects.get().customer


def _place(client, app, assert_max, most, coupon=""):
    page = client.get(reverse("shell:cart", args=[app.slug])).content.decode()
    key = re.search(r'name="checkout_key" value="([^"]+)"', page)[1]
    data = {"checkout_key": key, "fulfilment": "pickup", "pickup_name": "Ann", "coupon": coupon}
    with assert_max(most):
        answer = client.post(reverse("shell:checkout", args=[app.slug]), data)
    assert answer.status_code == 302 and answer["Location"].endswith("/pay")
    return Order.objects.get()


def test_a_plain_checkout(client, app, cart, django_assert_max_num_queries):
    order = _place(client, app, django_assert_max_num_queries, PLAIN)
    assert order.discount == 0


def test_a_checkout_with_a_coupon(client, app, cart, make_batch, django_assert_max_num_queries):
    coupon = coupons.coupon_issue(batch=make_batch(), customer=cart, source="claimed")
    order = _place(client, app, django_assert_max_num_queries, COUPON, coupon.public_id)
    assert (order.discount, order.discount_label) == (500, "¥5 off ¥30")
    lines = OrderLine.objects.filter(order=order).order_by("id")
    assert [ln.discount for ln in lines] == [371, 129]


def test_a_checkout_with_a_coupon_and_the_level(
    client, app, merchant, cart, make_batch, django_assert_max_num_queries
):
    membership.level_save(merchant=merchant, name="Gold", threshold=1, rank=1, discount_bps=500)
    member = membership.member_join(merchant=merchant, customer=cart, app=app)
    membership.points_adjust(member=member, points=10, reason="a", key="a", actor=SYSTEM)
    coupon = coupons.coupon_issue(batch=make_batch(), customer=cart, source="claimed")
    order = _place(client, app, django_assert_max_num_queries, COUPON_AND_LEVEL, coupon.public_id)
    # 5% of what is left of each line after the coupon, rounded down: 4829 → 241, 1671 → 83
    assert (order.discount, order.total) == (500 + 241 + 83, 7000 - 824)
    assert order.discount_label == "¥5 off ¥30 + Gold −5%"
    lines = OrderLine.objects.filter(order=order).order_by("id")
    assert [ln.discount for ln in lines] == [371 + 241, 129 + 83]
