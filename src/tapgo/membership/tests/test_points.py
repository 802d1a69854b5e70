"""The points ledger: once per key, balances cached with the entries, lots and expiry."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tapgo.core.actors import SYSTEM, Actor
from tapgo.membership import services as membership
from tapgo.membership.models import EntryKind, ExpiryRule, Member, PointsEntry, PointsLot, Source

pytestmark = pytest.mark.django_db
STAFF = Actor("staff", None, "Ann")


def fresh(member) -> Member:
    return Member.objects.get(pk=member.pk)


def earn(member, points, key, source_id=1):
    """A purchase that earns `points` by the default rules (1 point per 100 paid)."""
    return membership.points_earn(
        member=member, amount=points * 100, key=key, source=Source.ORDER, source_id=source_id
    )


def test_joining_twice_is_one_card_with_merchant_scoped_numbers(merchant, customer, app):
    from tapgo.identity.services import customer_create_guest

    first = membership.member_join(merchant=merchant, customer=customer, app=app)
    again = membership.member_join(merchant=merchant, customer=customer, app=app)
    second = membership.member_join(merchant=merchant, customer=customer_create_guest())
    assert first.pk == again.pk
    assert (first.number, second.number) == (1, 2)
    assert len(first.secret) == 40 and first.secret != second.secret


def test_an_earning_is_written_once_per_key(member):
    assert earn(member, 35, "order:1") is not None
    assert earn(member, 35, "order:1") is None
    member = fresh(member)
    assert (member.balance, member.lifetime) == (35, 35)
    assert PointsEntry.objects.filter(member=member).count() == 1


def test_redeeming_needs_enough_points_and_changes_nothing_when_short(member):
    earn(member, 30, "order:1")
    with pytest.raises(membership.NotEnoughPoints):
        membership.points_redeem(member=member, points=31, key="r1", reason="cake", actor=STAFF)
    assert fresh(member).balance == 30
    membership.points_redeem(member=member, points=30, key="r1", reason="cake", actor=STAFF)
    member = fresh(member)
    assert (member.balance, member.lifetime) == (0, 30)  # spending keeps lifetime points


def test_reversals_are_proportional_and_a_whole_refund_takes_back_exactly_what_was_earned(member):
    earn(member, 35, "order:7", source_id=7)

    def reverse(amount, key):
        return membership.points_reverse(
            member=member, source=Source.ORDER, source_id=7, amount=amount, key=key
        )

    assert reverse(1050, "refund:1").points == -11  # keeps floor(35 * 2450 / 3500) = 24
    assert reverse(1050, "refund:1") is None  # the same refund again: nothing
    assert reverse(1000, "refund:2").points == -10  # keeps floor(35 * 1450 / 3500) = 14
    assert reverse(1450, "refund:3").points == -14
    assert reverse(100, "refund:4") is None  # nothing left to take back
    member = fresh(member)
    assert (member.balance, member.lifetime) == (0, 0)
    assert membership.order_earned(member, source=Source.ORDER, source_id=7) == (0, 0)


def test_a_refund_after_spending_takes_the_balance_below_zero(member):
    earn(member, 50, "order:1", source_id=1)
    membership.points_redeem(member=member, points=50, key="r", reason="tea", actor=STAFF)
    membership.points_reverse(
        member=member, source=Source.ORDER, source_id=1, amount=5000, key="refund:1"
    )
    assert fresh(member).balance == -50
    # Points earned later pay off the debt first: no lot holds points the balance lacks.
    earn(member, 80, "order:2", source_id=2)
    assert fresh(member).balance == 30
    assert sum(PointsLot.objects.filter(member=member).values_list("remaining", flat=True)) == 30


def test_an_adjustment_needs_a_reason_and_records_who(member, owner):
    with pytest.raises(membership.MembershipError):
        membership.points_adjust(member=member, points=10, reason=" ", key="a", actor=STAFF)
    entry = membership.points_adjust(
        member=member, points=-5, reason="typo", key="a", actor=Actor.staff(owner)
    )
    assert (entry.kind, entry.points, entry.actor_user_id) == (EntryKind.ADJUST, -5, owner.pk)
    assert fresh(member).balance == -5


@pytest.mark.parametrize("bad", [0, -3, 2.5, "7", True])
def test_a_redemption_of_a_bad_amount_is_refused(member, bad):
    with pytest.raises(membership.MembershipError):
        membership.points_redeem(member=member, points=bad, key="k", reason="x", actor=SYSTEM)


def test_points_expire_by_lots_and_spending_uses_the_oldest_first(member, merchant):
    programme = membership.programme_of(merchant=merchant)
    programme.expiry_rule, programme.expiry_months = ExpiryRule.MONTHS, 6
    programme.save()
    earn(member, 100, "order:1", source_id=1)
    old = PointsLot.objects.get(member=member)
    PointsLot.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=1))
    earn(member, 40, "order:2", source_id=2)
    membership.points_redeem(member=member, points=70, key="r", reason="x", actor=SYSTEM)

    expired = membership.points_expire_due()
    assert [e.points for e in expired] == [-30]  # what was left of the old lot
    assert membership.points_expire_due() == []  # once
    member = fresh(member)
    assert member.balance == 40
    new = PointsLot.objects.exclude(pk=old.pk).get(member=member)
    assert new.remaining == 40 and new.expires_at > timezone.now() + timedelta(days=170)


def test_the_end_of_the_next_year_is_the_merchants_new_year(merchant):
    from tapgo.membership.services.programme import expires_at

    programme = membership.programme_of(merchant=merchant)
    programme.expiry_rule = ExpiryRule.NEXT_YEAR_END
    when = expires_at(programme, earned_at=datetime(2026, 12, 31, 17, 0, tzinfo=UTC))
    # 01:00 on 1 January 2027 in Shanghai, so the points last to the end of 2028 there.
    assert when is not None and (when.year, when.month, when.day) == (2029, 1, 1)


def test_a_corrupted_balance_is_named_by_ledger_verify(member):
    from tapgo.flows.checks import verify_books

    earn(member, 20, "order:1")
    Member.objects.filter(pk=member.pk).update(balance=25)
    breaches = [str(b) for b in verify_books()]
    assert any("cached points differ" in b and f"member {member.pk} caches 25" in b
               for b in breaches), breaches  # fmt: skip
    assert any("points lots" in b for b in breaches)
    Member.objects.filter(pk=member.pk).update(balance=20)  # the autouse check stays sound
