"""The programme's rules: what a purchase earns, levels, and bad input refused."""

import pytest

from tapgo.membership import services as membership
from tapgo.membership.models import LevelBasis, Member, Source

pytestmark = pytest.mark.django_db


RULES = {
    "points_per_unit": 1,
    "unit_amount": 100,
    "points_per_order": 0,
    "first_order_bonus": 0,
    "level_basis": LevelBasis.POINTS,
    "level_window_months": 12,
    "expiry_rule": "never",
    "expiry_months": 12,
}


def rules(merchant, **changes):
    return membership.programme_update(merchant=merchant, **{**RULES, **changes})


def test_a_purchase_earns_by_amount_rounding_down_per_order_first_and_per_item(
    merchant, product, category
):
    programme = rules(merchant, points_per_order=2, first_order_bonus=50)
    membership.earn_bonus_set(merchant=merchant, product=product, points=3)
    membership.earn_bonus_set(merchant=merchant, category=category, points=1)
    items = [membership.Item(product.pk, category.pk, 2)]
    assert membership.order_points(programme, amount=5299) == 52 + 2
    assert membership.order_points(programme, amount=5299, first=True) == 52 + 2 + 50
    assert membership.order_points(programme, amount=5200, items=items) == 52 + 2 + 2 * (3 + 1)


@pytest.mark.parametrize(
    "change",
    [
        {"unit_amount": 0},
        {"points_per_unit": -1},
        {"level_window_months": 0},
        {"level_basis": "moon"},
        {"expiry_rule": "soon"},
        {"first_order_bonus": "10"},
    ],
)
def test_bad_rules_are_refused_and_change_nothing(merchant, change):
    before = rules(merchant, points_per_order=3)
    with pytest.raises(membership.MembershipError):
        rules(merchant, **change)
    assert membership.programme_of(merchant=merchant).points_per_order == before.points_per_order


def test_levels_follow_points_in_the_window_and_give_their_discount(merchant, member, customer):
    silver = membership.level_save(
        merchant=merchant, name="Silver", threshold=500, rank=1, discount_bps=500
    )
    membership.level_save(merchant=merchant, name="Gold", threshold=2000, rank=2, discount_bps=1000)
    with pytest.raises(membership.MembershipError):
        membership.level_save(merchant=merchant, name="Bronze", threshold=100, rank=1,
                              discount_bps=0)  # fmt: skip
    membership.points_earn(member=member, amount=49900, key="o1", source=Source.ORDER, source_id=1)
    assert Member.objects.get(pk=member.pk).level_id is None
    assert membership.level_discount_bps(merchant=merchant, customer=customer) == 0
    membership.points_earn(member=member, amount=100, key="o2", source=Source.ORDER, source_id=2)
    assert Member.objects.get(pk=member.pk).level_id == silver.pk
    assert membership.level_discount_bps(merchant=merchant, customer=customer) == 500
    progress = membership.level_progress(Member.objects.get(pk=member.pk))
    assert (progress.level, progress.next.name, progress.to_next) == (silver, "Gold", 1500)
    # Spending points does not lower the level; a reversal does.
    membership.points_redeem(member=member, points=100, key="r", reason="x",
                             actor=membership_actor())  # fmt: skip
    assert Member.objects.get(pk=member.pk).level_id == silver.pk
    membership.points_reverse(member=member, source=Source.ORDER, source_id=2, amount=100,
                              key="refund:1")  # fmt: skip
    assert Member.objects.get(pk=member.pk).level_id is None


def membership_actor():
    from tapgo.core.actors import SYSTEM

    return SYSTEM


def test_the_nightly_sweep_lets_a_level_lapse_as_the_window_moves(merchant, member):
    from datetime import timedelta

    from django.utils import timezone

    from tapgo.membership.models import PointsEntry

    membership.level_save(merchant=merchant, name="Silver", threshold=500, rank=1, discount_bps=0)
    membership.points_earn(member=member, amount=60000, key="o1", source=Source.ORDER, source_id=1)
    assert Member.objects.get(pk=member.pk).level is not None
    PointsEntry.objects.filter(member=member).update(
        created_at=timezone.now() - timedelta(days=400)
    )
    assert membership.levels_sweep() == 1
    assert Member.objects.get(pk=member.pk).level is None


def test_levels_by_spend(merchant, member):
    gold = membership.level_save(
        merchant=merchant, name="Gold", threshold=10000, rank=1, discount_bps=1000
    )
    membership.programme_update(
        merchant=merchant, **{**RULES, "points_per_unit": 0, "level_basis": LevelBasis.SPEND}
    )
    membership.points_earn(member=member, amount=10000, key="o1", source=Source.COUNTER)
    assert Member.objects.get(pk=member.pk).balance == 0
    assert Member.objects.get(pk=member.pk).level_id == gold.pk


def test_another_merchants_member_is_not_found(merchant, other_merchant, member):
    from django.http import Http404

    assert membership.access_member(merchant, member.public_id) == member
    with pytest.raises(Http404):
        membership.access_member(other_merchant, member.public_id)
    assert list(membership.members_search(other_merchant, "")) == []
    assert list(membership.members_search(merchant, str(member.number))) == [member]


def test_the_first_purchase_bonus_is_given_once(merchant, member):
    rules(merchant, first_order_bonus=50, points_per_order=1)
    membership.points_earn(member=member, amount=1000, key="o1", source=Source.ORDER, source_id=1)
    membership.points_earn(member=member, amount=1000, key="o2", source=Source.ORDER, source_id=2)
    assert Member.objects.get(pk=member.pk).balance == (10 + 1 + 50) + (10 + 1)
