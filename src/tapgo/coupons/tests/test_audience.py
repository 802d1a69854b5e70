"""Who may have a batch's coupons (everyone, members, a level and above), how the terms keep
audience and automatic issuing coherent, a level an offer is for kept (PROTECT), and the
message of a claim on a full offer by a customer who already holds theirs."""

import pytest

from tapgo.core.actors import SYSTEM
from tapgo.coupons import services as coupons
from tapgo.coupons.models import Batch, Coupon
from tapgo.identity.services import customer_create_guest
from tapgo.membership import services as membership
from tapgo.membership.models import Level

pytestmark = pytest.mark.django_db


@pytest.fixture
def levels(merchant):
    silver = membership.level_save(
        merchant=merchant, name="Silver", threshold=100, rank=1, discount_bps=0
    )
    gold = membership.level_save(
        merchant=merchant, name="Gold", threshold=500, rank=2, discount_bps=0
    )
    return silver, gold


def _member(merchant, app, points: int = 0):
    customer = customer_create_guest()
    member = membership.member_join(merchant=merchant, customer=customer, app=app)
    if points:
        membership.points_adjust(member=member, points=points, reason="t", key="p", actor=SYSTEM)
    return customer


def test_everyone_may_claim_by_default(batch, customer):
    assert batch.audience == "everyone" and batch.level is None
    coupons.coupon_issue(batch=batch, customer=customer, source="claimed")


def test_a_members_offer_asks_a_non_member_to_join(make_batch, merchant, app, customer):
    batch = make_batch(audience="members")
    with pytest.raises(coupons.NotAMember, match="Join the card to claim this coupon"):
        coupons.coupon_issue(batch=batch, customer=customer, source="link")
    with pytest.raises(coupons.NotAMember, match="this customer has not joined"):
        coupons.coupon_issue(batch=batch, customer=customer, source="staff")
    assert Batch.objects.get(pk=batch.pk).issued == 0

    membership.member_join(merchant=merchant, customer=customer, app=app)
    assert coupons.coupon_issue(batch=batch, customer=customer, source="claimed")


def test_a_level_offer_is_for_that_level_and_above(make_batch, merchant, app, levels):
    silver, gold = levels
    batch = make_batch(audience="level", level=gold, per_customer_cap=None)
    plain, at_silver, at_gold = (_member(merchant, app, p) for p in (0, 150, 600))
    outsider = customer_create_guest()

    with pytest.raises(coupons.NotAMember):
        coupons.coupon_issue(batch=batch, customer=outsider, source="claimed")
    for customer in (plain, at_silver):
        with pytest.raises(coupons.CouponError, match="For Gold members and above"):
            coupons.coupon_issue(batch=batch, customer=customer, source="claimed")
        with pytest.raises(coupons.CouponError, match="For Gold members and above"):
            coupons.coupon_issue(batch=batch, customer=customer, source="staff")
    assert coupons.coupon_issue(batch=batch, customer=at_gold, source="staff")

    for_silver = make_batch(name="Silver up", audience="level", level=silver)
    coupons.coupon_issue(batch=for_silver, customer=at_gold, source="claimed")  # above: yes
    assert Coupon.objects.count() == 2


def test_the_terms_keep_audience_and_issuing_coherent(make_batch, levels, other_merchant):
    silver, gold = levels
    with pytest.raises(coupons.CouponError, match="Choose the level"):
        make_batch(audience="level")
    with pytest.raises(coupons.CouponError, match="Choose the level"):
        make_batch(issued_on="level")
    with pytest.raises(coupons.CouponError, match="who can have"):
        make_batch(audience="bogus")
    with pytest.raises(coupons.CouponError, match="after a paid order"):
        make_batch(kind="next_order", value=300, min_spend=0, issued_on="join")
    foreign = membership.level_save(
        merchant=other_merchant, name="Theirs", threshold=1, rank=1, discount_bps=0
    )
    with pytest.raises(coupons.CouponError, match="your own programme"):
        make_batch(audience="level", level=foreign)
    assert not Batch.objects.exists()

    everyone = make_batch(level=gold)  # a level without the audience that needs it: dropped
    assert everyone.level is None
    on_join = make_batch(name="Welcome", issued_on="join", per_customer_cap=5)
    assert (on_join.auto_issue, on_join.audience, on_join.per_customer_cap) == (
        "join",
        "members",
        1,
    )
    on_gold = make_batch(name="Gold gift", issued_on="level", level=gold)
    assert (on_gold.auto_issue, on_gold.audience, on_gold.level) == ("level", "level", gold)
    assert coupons.batches_claimable(on_gold.merchant_id) == [everyone]
    assert coupons.batches_issued_on(on_gold.merchant_id, issued_on="join") == [on_join]
    assert coupons.batches_issued_on(
        on_gold.merchant_id, issued_on="level", levels=[silver, gold]
    ) == [on_gold]
    assert coupons.batches_issued_on(on_gold.merchant_id, issued_on="level", levels=[silver]) == []


def test_an_automatic_batch_is_not_claimed_nor_granted(make_batch, merchant, app, levels):
    customer = _member(merchant, app, 600)
    for issued_on, level in (("join", None), ("level", levels[1])):
        batch = make_batch(name=issued_on, issued_on=issued_on, level=level)
        for source in ("claimed", "link", "staff", "next_order"):
            with pytest.raises(coupons.CouponError, match="cannot be"):
                coupons.coupon_issue(batch=batch, customer=customer, source=source)
        assert coupons.coupon_issue(batch=batch, customer=customer, source=issued_on)
        with pytest.raises(coupons.CouponError, match="you can have"):  # one a member, ever
            coupons.coupon_issue(batch=batch, customer=customer, source=issued_on)


def test_a_level_an_offer_is_for_cannot_be_deleted(make_batch, merchant, levels):
    silver, gold = levels
    make_batch(name="Gold gift", issued_on="level", level=gold)
    with pytest.raises(membership.MembershipError, match="Gold gift"):
        membership.level_delete(merchant=merchant, public_id=gold.public_id)
    assert Level.objects.filter(pk=gold.pk).exists()
    assert membership.level_delete(merchant=merchant, public_id=silver.public_id)


def test_a_full_offer_tells_who_holds_theirs_that_they_have_it(make_batch):
    """Bug: the second claim of a customer who had the last coupon said "all claimed"."""
    batch = make_batch(total_cap=1, per_customer_cap=1)
    holder, latecomer = customer_create_guest(), customer_create_guest()
    coupons.coupon_issue(batch=batch, customer=holder, source="claimed")

    with pytest.raises(coupons.CouponError, match="You have all the coupons of this offer"):
        coupons.coupon_issue(batch=batch, customer=holder, source="claimed")
    with pytest.raises(coupons.CouponError, match="have been claimed"):
        coupons.coupon_issue(batch=batch, customer=latecomer, source="claimed")
    assert Batch.objects.get(pk=batch.pk).issued == 1
