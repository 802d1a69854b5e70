"""Several offers on one order (flows/offers.py): a coupon, the member's level discount and a
points reward, each recorded by name and amount; the reward's points redeemed with the order
and given back when it ends unpaid or is refunded whole; a coupon that does not combine
refuses a reward."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tapgo.core.actors import SYSTEM, Actor
from tapgo.coupons import services as coupons
from tapgo.coupons.models import Coupon, CouponState
from tapgo.flows import checkout as checkout_flows
from tapgo.flows import orders as order_flows
from tapgo.flows.refunds import order_refund
from tapgo.membership import services as membership
from tapgo.membership.models import EntryKind, Member, PointsEntry, RewardKind
from tapgo.ordering import services as ordering
from tapgo.ordering.models import Order, OrderDiscount, OrderLine, OrderStatus
from tapgo.payments.tests.sandbox_helpers import pay_by_sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(merchant, customer, app):
    return membership.member_join(merchant=merchant, customer=customer, app=app)


@pytest.fixture
def gold(merchant, member):
    """A 5% level reached with one point; the member holds 2000 points."""
    level = membership.level_save(
        merchant=merchant, name="Gold", threshold=1, rank=1, discount_bps=500
    )
    membership.points_adjust(member=member, points=2000, reason="welcome", key="w", actor=SYSTEM)
    return level


@pytest.fixture
def points(member):
    """2000 points and no level."""
    membership.points_adjust(member=member, points=2000, reason="welcome", key="w", actor=SYSTEM)
    return member


@pytest.fixture
def cake(app, category):
    from tapgo.flows.listings import product_create

    return product_create(merchant=app.merchant, category=category, name="Cake", price=1800)


def reward(merchant, *, points=1000, amount=300, product=None, name="¥3 off"):
    kind = RewardKind.FREE_ITEM if product is not None else RewardKind.AMOUNT
    terms = membership.RewardTerms(
        name=name, points=points, kind=kind, amount=0 if product else amount, product=product
    )
    return membership.reward_save(merchant=merchant, terms=terms)


def balance(member) -> int:
    return Member.objects.get(pk=member.pk).balance


def _checkout(customer, app, product, *, quantity=2, key="k1", extra=None, **offers):
    ordering.cart_add(
        customer=customer, app=app, product_public_id=product.public_id, quantity=quantity
    )
    if extra is not None:
        ordering.cart_add(customer=customer, app=app, product_public_id=extra.public_id, quantity=1)
    return checkout_flows.checkout(
        customer=customer, app=app, checkout_key=key, fulfilment="pickup", pickup_name="Ann",
        **offers,
    )  # fmt: skip


def offers(order) -> list[tuple[str, str, int]]:
    return list(OrderDiscount.objects.filter(order=order).values_list("kind", "label", "amount"))


def assert_consistent(order):
    order = Order.objects.get(pk=order.pk)
    lines = list(OrderLine.objects.filter(order=order))
    assert sum(ln.discount for ln in lines) == order.discount == sum(a for *_, a in offers(order))
    assert all(ln.discount <= ln.subtotal for ln in lines)
    assert order.total > 0 and order.gross == sum(ln.subtotal for ln in lines)


def test_the_level_discount_comes_off_each_line_rounded_down(customer, app, product, cake, gold):
    order = _checkout(customer, app, product, extra=cake)  # 2 × 2600 + 1800

    assert [ln.discount for ln in order.lines.order_by("id")] == [260, 90]
    assert (order.gross, order.discount, order.total) == (7000, 350, 6650)
    assert offers(order) == [("level", "Gold −5%", 350)]
    assert_consistent(order)


def test_an_item_refund_gives_back_exactly_what_was_paid_for_it(customer, app, product, gold):
    order = _checkout(customer, app, product, quantity=3)  # 7800, 5% = 390
    assert order.discount == 390
    pay_by_sandbox(order)
    order.refresh_from_db()
    line = order.lines.get()

    refunds = [order_refund(order=order, lines={line.pk: 1}, reason="cold") for _ in range(3)]
    amounts = [sum(r.amount for r in batch) for batch in refunds]
    assert amounts == [2600 - 130, 2600 - 130, 2600 - 130]
    assert sum(amounts) == order.total


def test_the_level_is_the_one_the_member_has_when_the_order_is_placed(
    merchant, customer, app, product, member
):
    membership.level_save(merchant=merchant, name="Gold", threshold=100, rank=1, discount_bps=500)
    membership.points_adjust(member=member, points=50, reason="a", key="a", actor=SYSTEM)
    assert _checkout(customer, app, product).discount == 0  # not Gold yet
    membership.points_adjust(member=member, points=50, reason="b", key="b", actor=SYSTEM)
    assert _checkout(customer, app, product, key="k2").discount == 260


def test_a_coupon_and_the_level_add_up_each_by_name(customer, app, product, cake, gold, make_batch):
    coupon = coupons.coupon_issue(batch=make_batch(), customer=customer, source="claimed")
    order = _checkout(customer, app, product, extra=cake, coupon=coupon.public_id)

    # the coupon: 371 + 129; then 5% of what is left of each line: 4829 → 241, 1671 → 83
    assert offers(order) == [("coupon", "¥5 off ¥30", 500), ("level", "Gold −5%", 324)]
    assert [ln.discount for ln in order.lines.order_by("id")] == [371 + 241, 129 + 83]
    assert (order.discount, order.total) == (824, 7000 - 824)
    assert_consistent(order)


def test_a_reward_is_redeemed_with_the_order_once(merchant, customer, app, product, points):
    cheap = reward(merchant)
    order = _checkout(customer, app, product, reward=cheap.public_id)

    assert offers(order) == [("reward", "¥3 off", 300)]
    assert (order.discount, order.total) == (300, 5200 - 300)
    assert balance(points) == 1000
    spent = PointsEntry.objects.get(member=points, kind=EntryKind.REDEEM)
    assert (spent.points, spent.source_id, spent.key) == (
        -1000,
        order.pk,
        f"order:{order.pk}:reward",
    )
    assert_consistent(order)

    # the form sent again: the same order back, the points spent once
    again = checkout_flows.checkout(customer=customer, app=app, checkout_key="k1",
                                    fulfilment="pickup", reward=cheap.public_id)  # fmt: skip
    assert again.pk == order.pk
    assert balance(points) == 1000
    assert PointsEntry.objects.filter(member=points, kind=EntryKind.REDEEM).count() == 1
    assert membership.verify_balances() == [] and membership.verify_lots() == []


def test_not_enough_points_refuses_and_places_nothing(merchant, customer, app, product, points):
    dear = reward(merchant, points=5000)
    with pytest.raises(ordering.OrderingError, match="enough points"):
        _checkout(customer, app, product, reward=dear.public_id)
    assert not Order.objects.exists()
    assert balance(points) == 2000
    assert ordering.cart_view(customer=customer, app=app).lines  # the cart is still there


def test_a_free_item_reward_needs_the_item_in_the_cart(
    merchant, customer, app, product, cake, points
):
    free_cake = reward(merchant, product=cake, name="Free cake")
    with pytest.raises(ordering.OrderingError, match="Add Cake"):
        _checkout(customer, app, product, reward=free_cake.public_id)
    assert not Order.objects.exists() and balance(points) == 2000

    order = _checkout(customer, app, product, extra=cake, key="k2", reward=free_cake.public_id)
    assert offers(order) == [("reward", "Free cake", 1800)]
    assert [ln.discount for ln in order.lines.order_by("id")] == [0, 1800]
    assert balance(points) == 1000


def test_a_reward_that_would_pay_for_everything_or_is_inactive_is_refused(
    merchant, customer, app, product, points
):
    big = reward(merchant, amount=5200)
    with pytest.raises(ordering.OrderingError, match="more than what is left"):
        _checkout(customer, app, product, reward=big.public_id)
    membership.reward_set_active(merchant=merchant, public_id=big.public_id, active=False)
    with pytest.raises(ordering.OrderingError, match="not offered"):
        _checkout(customer, app, product, key="k2", reward=big.public_id)
    with pytest.raises(ordering.OrderingError, match="not offered"):
        _checkout(customer, app, product, key="k3", reward="nonsense")
    assert not Order.objects.exists() and balance(points) == 2000


def test_a_guest_who_is_not_a_member_cannot_take_a_reward(merchant, customer, app, product):
    cheap = reward(merchant)
    with pytest.raises(ordering.OrderingError, match="Join"):
        _checkout(customer, app, product, reward=cheap.public_id)
    assert not Order.objects.exists()


def test_the_points_come_back_once_when_the_order_expires_unpaid(
    merchant, customer, app, product, points
):
    order = _checkout(customer, app, product, reward=reward(merchant).public_id)
    assert balance(points) == 1000
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert order_flows.order_expire(order=Order.objects.get(pk=order.pk))
    assert not order_flows.order_expire(order=Order.objects.get(pk=order.pk))
    from tapgo.flows import offers as offer_flows

    offer_flows.order_ended_unpaid(order=order)  # a retried task: once is enough
    assert balance(points) == 2000
    back = PointsEntry.objects.get(member=points, kind=EntryKind.RETURN)
    assert (back.points, back.key) == (1000, f"order:{order.pk}:reward-back")
    assert Member.objects.get(pk=points.pk).lifetime == 2000  # spending never lowered it
    assert membership.verify_balances() == [] and membership.verify_lots() == []


def test_the_points_come_back_when_the_customer_cancels_unpaid(
    merchant, customer, app, product, points
):
    order = _checkout(customer, app, product, reward=reward(merchant).public_id)
    order_flows.order_cancel_unpaid(order=order)
    assert balance(points) == 2000


def test_a_whole_refund_gives_the_points_back_a_partial_one_keeps_them(
    merchant, customer, app, product, points
):
    order = _checkout(customer, app, product, quantity=3, reward=reward(merchant).public_id)
    pay_by_sandbox(order)
    order.refresh_from_db()
    earned = balance(points) - 1000  # what the order earned (7500 paid: 75 points)
    assert earned == 75
    line = order.lines.get()
    order_refund(order=order, lines={line.pk: 2}, reason="cold")
    assert not PointsEntry.objects.filter(member=points, kind=EntryKind.RETURN).exists()
    order_refund(order=order, lines={line.pk: 1}, reason="cold")
    assert PointsEntry.objects.get(member=points, kind=EntryKind.RETURN).points == 1000
    assert balance(points) == 2000  # the earned points reversed, the reward's given back
    assert membership.verify_balances() == [] and membership.verify_lots() == []


def test_a_cancelled_paid_order_gives_the_points_back(
    merchant, customer, app, product, points, owner
):
    order = _checkout(customer, app, product, reward=reward(merchant).public_id)
    pay_by_sandbox(order)
    order_flows.order_cancel(order=Order.objects.get(pk=order.pk), reason="closing",
                             actor=Actor.staff(owner))  # fmt: skip
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert balance(points) == 2000


def test_a_coupon_that_does_not_combine_refuses_a_reward(
    merchant, customer, app, product, points, make_batch
):
    coupon = coupons.coupon_issue(batch=make_batch(), customer=customer, source="claimed")
    cheap = reward(merchant)
    with pytest.raises(ordering.OrderingError, match="does not go with a points reward"):
        _checkout(customer, app, product, coupon=coupon.public_id, reward=cheap.public_id)
    assert not Order.objects.exists()
    assert Coupon.objects.get(pk=coupon.pk).state == CouponState.AVAILABLE
    assert balance(points) == 2000


def test_a_combinable_coupon_goes_with_a_reward(
    merchant, customer, app, product, points, make_batch
):
    batch = make_batch(combinable=True)
    coupon = coupons.coupon_issue(batch=batch, customer=customer, source="claimed")
    order = _checkout(customer, app, product, coupon=coupon.public_id,
                      reward=reward(merchant).public_id)  # fmt: skip
    assert offers(order) == [("coupon", "¥5 off ¥30", 500), ("reward", "¥3 off", 300)]
    assert (order.discount, order.total) == (800, 4400)
    assert balance(points) == 1000
    assert_consistent(order)


def test_every_offer_together_never_takes_the_whole_order(merchant, customer, app, product, member):
    membership.level_save(merchant=merchant, name="All", threshold=1, rank=1, discount_bps=10000)
    membership.points_adjust(member=member, points=10, reason="a", key="a", actor=SYSTEM)
    order = _checkout(customer, app, product)
    assert (order.discount, order.total) == (5199, 1)  # 100% off, but an order pays something
    assert_consistent(order)
