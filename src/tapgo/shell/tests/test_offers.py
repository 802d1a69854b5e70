"""The member's offers on the cart page: the level discount shown before placing ("Gold
−5%"), the points rewards to choose from (none by default), a coupon that does not combine
said so; and each offer by name on the order page."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tapgo.core.actors import SYSTEM
from tapgo.coupons import services as coupons
from tapgo.membership import services as membership
from tapgo.membership.models import Member, RewardKind
from tapgo.ordering.models import Cart, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_cart(client, app, merchant, product):
    """A member with 1200 points and the Gold level (5%) with two lattes in the cart."""
    client.post(
        reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id, "quantity": 2}
    )
    customer = Cart.objects.get().customer
    membership.level_save(merchant=merchant, name="Gold", threshold=1, rank=1, discount_bps=500)
    member = membership.member_join(merchant=merchant, customer=customer, app=app)
    membership.points_adjust(member=member, points=1200, reason="a", key="a", actor=SYSTEM)
    return member


def _reward(merchant, points=1000):
    terms = membership.RewardTerms(name="¥3 off", points=points, kind=RewardKind.AMOUNT,
                                   amount=300)  # fmt: skip
    return membership.reward_save(merchant=merchant, terms=terms)


def _page(client, app) -> str:
    return client.get(reverse("shell:cart", args=[app.slug])).content.decode()


def _place(client, app, page, **choices):
    key = re.search(r'name="checkout_key" value="([^"]+)"', page)[1]
    data = {"checkout_key": key, "fulfilment": "pickup", "pickup_name": "Ann", **choices}
    return client.post(reverse("shell:checkout", args=[app.slug]), data)


def test_the_cart_shows_the_level_discount_and_the_rewards(client, app, merchant, member_cart):
    reward = _reward(merchant)
    dear = _reward(merchant, points=5000)
    page = _page(client, app)
    assert 'data-testid="level-discount"' in page and "Gold member −5%" in page
    assert "−¥2.60" in page or "−CN¥2.60" in page  # 5% of 5200
    assert re.search(rf'value="{reward.public_id}"', page)
    assert not re.search(rf'value="{dear.public_id}"', page)  # not enough points: said why
    assert "You have 1200 points." in page
    assert re.search(r'name="reward" value=""[^>]* checked', page)  # no reward by default

    response = _place(client, app, page, reward=reward.public_id)
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.discount, order.total) == (260 + 300, 5200 - 560)
    assert Member.objects.get(pk=member_cart.pk).balance == 200
    shown = client.get(reverse("shell:order", args=[app.slug, order.public_id])).content.decode()
    assert "Member level: Gold −5%" in shown and "Points reward: ¥3 off" in shown


def test_a_coupon_that_does_not_combine_is_said_and_refused(client, app, merchant, member_cart):
    batch = coupons.batch_create(merchant=merchant, terms=coupons.BatchTerms(
        name="¥5 off ¥30", kind="threshold", value=500, min_spend=3000, valid_days=7,
        valid_from=timezone.now() - timedelta(minutes=1),
    ))  # fmt: skip
    coupon = coupons.coupon_issue(batch=batch, customer=member_cart.customer, source="claimed")
    reward = _reward(merchant)
    page = _page(client, app)
    assert 'data-testid="reward-not-combinable"' in page  # the suggested coupon is chosen

    response = _place(client, app, page, coupon=coupon.public_id, reward=reward.public_id)
    assert response.status_code == 302 and not Order.objects.exists()
    after = client.get(response.url).content.decode()
    assert "does not go with a points reward" in after
    assert Member.objects.get(pk=member_cart.pk).balance == 1200


def test_with_a_coupon_and_the_level_discount_the_cart_says_offers_not_the_coupon(
    client, app, merchant, member_cart
):
    """Bug: with a coupon and the member's level discount (or a reward) on the cart, the
    page said only that the coupon comes off on the next page."""
    batch = coupons.batch_create(merchant=merchant, terms=coupons.BatchTerms(
        name="¥5 off ¥30", kind="threshold", value=500, min_spend=3000, valid_days=7,
        valid_from=timezone.now() - timedelta(minutes=1),
    ))  # fmt: skip
    coupons.coupon_issue(batch=batch, customer=member_cart.customer, source="claimed")
    page = _page(client, app)
    assert 'data-testid="level-discount"' in page
    assert "Your offers come off the total on the next page, before you pay." in page
    assert "The coupon comes off the total on the next page" not in page


def test_with_a_coupon_alone_the_cart_says_the_coupon_comes_off(client, app, merchant, product):
    client.post(
        reverse("shell:cart_add", args=[app.slug]), {"item": product.public_id, "quantity": 2}
    )
    batch = coupons.batch_create(merchant=merchant, terms=coupons.BatchTerms(
        name="¥5 off ¥30", kind="threshold", value=500, min_spend=3000, valid_days=7,
        valid_from=timezone.now() - timedelta(minutes=1),
    ))  # fmt: skip
    coupons.coupon_issue(batch=batch, customer=Cart.objects.get().customer, source="claimed")
    page = _page(client, app)
    assert "The coupon comes off the total on the next page, before you pay." in page
