"""The demo café's card programme and its member, seeded once."""

import pytest

from tapgo.membership.models import EntryKind, Level, Member, PointsEntry, Reward


@pytest.mark.django_db
def test_the_demo_cafe_has_a_programme_and_a_member_with_history_once():
    from tapgo import demo

    demo.seed(history_days=2)
    demo.seed(history_days=2)  # a second seed changes nothing
    from tapgo.miniapps.models import MiniApp

    cafe = MiniApp.objects.get(slug="harbour-cafe").merchant
    levels = Level.objects.for_merchant(cafe).order_by("rank")
    assert [(lv.name, lv.threshold, lv.discount_bps) for lv in levels] == [
        ("Silver", 500, 500),
        ("Gold", 2000, 1000),
    ]
    rewards = Reward.objects.for_merchant(cafe)
    assert [(r.name, r.points, r.amount) for r in rewards] == [("¥5 off", 300, 500)]
    member = Member.objects.get(customer__email="member1@harbour-cafe.demo")
    kinds = set(PointsEntry.objects.filter(member=member).values_list("kind", flat=True))
    assert {EntryKind.EARN, EntryKind.ADJUST} <= kinds
    assert member.balance >= 468 + 50 and member.level.name == "Silver"
    assert PointsEntry.objects.filter(member=member, key="counter:demo-counter-1").count() == 1
