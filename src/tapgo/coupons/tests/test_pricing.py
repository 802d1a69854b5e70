"""What a coupon takes off a cart, line by line."""

import pytest

from tapgo.coupons import services as coupons
from tapgo.coupons.services import Line

pytestmark = pytest.mark.django_db


def lines(*prices_and_quantities, category_id=0):
    return [
        Line(key=i + 1, product_id=100 + i, category_id=category_id, unit_price=p, quantity=q)
        for i, (p, q) in enumerate(prices_and_quantities)
    ]


def test_a_threshold_needs_its_spend_and_is_shared_by_largest_remainder(batch):
    with pytest.raises(coupons.CouponError, match="Spend"):
        coupons.discount_of(batch, lines((2900, 1)))
    parts = coupons.discount_of(batch, lines((1000, 1), (1000, 1), (1000, 1)))
    assert parts == {1: 167, 2: 167, 3: 166}
    assert sum(parts.values()) == 500


def test_a_percentage_has_its_maximum(make_batch):
    batch = make_batch(kind="percent", value=15, max_off=400, min_spend=0)
    assert sum(coupons.discount_of(batch, lines((1000, 2))).values()) == 300
    assert sum(coupons.discount_of(batch, lines((2000, 2))).values()) == 400


def test_only_the_batchs_items_count_toward_the_spend(make_batch, product, category):
    batch = make_batch(kind="threshold", value=500, min_spend=3000, products=[product])
    cart = [
        Line(1, product.pk, category.pk, 2600, 1),
        Line(2, product.pk + 999, category.pk + 999, 9000, 1),
    ]
    with pytest.raises(coupons.CouponError, match="Spend"):
        coupons.discount_of(batch, cart)
    by_category = make_batch(kind="amount", value=500, min_spend=0, categories=[category])
    assert coupons.discount_of(by_category, cart) == {1: 500}


def test_a_free_item_is_one_unit_on_its_line(make_batch, product, category):
    batch = make_batch(kind="free_item", value=0, min_spend=0, free_product=product)
    cart = [Line(1, product.pk, category.pk, 2600, 2)]
    assert coupons.discount_of(batch, cart) == {1: 2600}
    with pytest.raises(coupons.CouponError, match="whole order"):
        coupons.discount_of(batch, [Line(1, product.pk, category.pk, 2600, 1)])
    with pytest.raises(coupons.CouponError, match="Add Latte"):
        coupons.discount_of(batch, [Line(1, product.pk + 1, category.pk, 2600, 1)])


def test_an_amount_off_never_pays_for_the_whole_order(make_batch):
    batch = make_batch(kind="amount", value=1000, min_spend=0)
    with pytest.raises(coupons.CouponError, match="whole order"):
        coupons.discount_of(batch, lines((800, 1)))
    assert coupons.discount_of(batch, lines((800, 1)), total=1300) == {1: 800}
