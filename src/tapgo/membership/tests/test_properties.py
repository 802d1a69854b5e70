"""Property-based: any sequence of earning, replays, refunds, redemptions (and giving them
back), adjustments and expiry keeps the points ledger sound and agrees with a small model of
where the points are.

After every step: the cached balance and lifetime points equal the ledger's sums and the
model's, the lots hold what the model's lots hold (the balance when above zero), each
purchase's reversals never exceed what it earned and a purchase refunded in full has given
back exactly what it earned. Derandomized like payments' machine; to explore:

    TAPGO_PROPERTY_RANDOM=1 TAPGO_PROPERTY_EXAMPLES=300 uv run pytest -q \
        src/tapgo/membership/tests/test_properties.py --hypothesis-seed=$RANDOM
"""

import os
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tapgo.core.actors import SYSTEM
from tapgo.identity.services import customer_create_guest
from tapgo.membership import services as membership
from tapgo.membership.models import EntryKind, ExpiryRule, Member, PointsEntry, PointsLot, Source

EXAMPLES = int(os.environ.get("TAPGO_PROPERTY_EXAMPLES", "25"))
STEPS = 25


class Points(RuleBasedStateMachine):
    def __init__(self, merchant):
        super().__init__()
        self.merchant = merchant
        self.balance = self.lifetime = 0
        self.lots: list[list[int]] = []  # [remaining] per grant, oldest first
        self.purchases: dict[int, dict] = {}  # source id -> paid, refunded, earned, back
        self.keys = 0
        self.redeemed: dict[str, int] = {}  # redemptions not given back: key -> points

    @initialize()
    def join(self):
        self.member = membership.member_join(merchant=self.merchant,
                                             customer=customer_create_guest())  # fmt: skip

    def _key(self) -> str:
        self.keys += 1
        return f"k{self.keys}"

    def _grant(self, points: int) -> None:
        self.lots.append([max(0, self.balance + points) - max(0, self.balance)])
        self.balance += points

    def _debit(self, points: int) -> None:
        take = min(points, max(self.balance, 0))
        for lot in self.lots:
            part = min(take, lot[0])
            lot[0] -= part
            take -= part
        self.balance -= points

    @rule(amount=st.integers(0, 30000))
    def earn(self, amount):
        source_id = len(self.purchases) + 1
        membership.points_earn(member=self.member, amount=amount, key=f"order:{source_id}",
                               source=Source.ORDER, source_id=source_id)  # fmt: skip
        points = amount // 100
        self.purchases[source_id] = {"paid": amount, "refunded": 0, "earned": points, "back": 0}
        if points:
            self._grant(points)
            self.lifetime += points

    # A purchase of nothing writes no entry (points_earn returns None): only one that wrote
    # its entry has a key to replay.
    @precondition(lambda self: any(p["paid"] for p in self.purchases.values()))
    @rule(data=st.data())
    def replay_an_earning(self, data):
        written = sorted(k for k, p in self.purchases.items() if p["paid"])
        source_id = data.draw(st.sampled_from(written))
        again = membership.points_earn(member=self.member, amount=12345, key=f"order:{source_id}",
                                       source=Source.ORDER, source_id=source_id)  # fmt: skip
        assert again is None

    @precondition(lambda self: any(p["paid"] > p["refunded"] for p in self.purchases.values()))
    @rule(data=st.data(), replay=st.booleans())
    def refund(self, data, replay):
        open_ = sorted(k for k, p in self.purchases.items() if p["paid"] > p["refunded"])
        source_id = data.draw(st.sampled_from(open_))
        p = self.purchases[source_id]
        amount = data.draw(st.integers(1, p["paid"] - p["refunded"]))
        key = self._key()
        for _ in range(2 if replay else 1):
            membership.points_reverse(member=self.member, source=Source.ORDER,
                                      source_id=source_id, amount=amount, key=key)  # fmt: skip
        p["refunded"] += amount
        kept = p["earned"] * (p["paid"] - p["refunded"]) // p["paid"]
        back = p["earned"] - kept - p["back"]
        p["back"] += back
        if back:
            self._debit(back)
            self.lifetime -= back

    @rule(points=st.integers(1, 400))
    def redeem(self, points):
        try:
            key = self._key()
            membership.points_redeem(member=self.member, points=points, key=key,
                                     reason="reward", actor=SYSTEM)  # fmt: skip
        except membership.NotEnoughPoints:
            assert self.balance < points
        else:
            assert self.balance >= points
            self._debit(points)
            self.redeemed[key] = points

    @precondition(lambda self: self.redeemed)
    @rule(data=st.data())
    def give_back_a_redemption(self, data):
        # What the points paid for did not happen (an order ended unpaid or was refunded
        # whole): they come back once, as a new grant, lifetime points unmoved.
        key = data.draw(st.sampled_from(sorted(self.redeemed)))
        points = self.redeemed.pop(key)
        for _ in range(2):
            membership.points_give_back(member=self.member, redeemed_key=key, key=f"back:{key}")
        self._grant(points)

    @rule(points=st.integers(-200, 200).filter(bool))
    def adjust(self, points):
        membership.points_adjust(member=self.member, points=points, reason="staff",
                                 key=self._key(), actor=SYSTEM)  # fmt: skip
        self.lifetime += points
        if points > 0:
            self._grant(points)
        else:
            self._debit(-points)

    @precondition(lambda self: self.lots)
    @rule(data=st.data())
    def expire_the_oldest(self, data):
        count = data.draw(st.integers(1, len(self.lots)))
        ids = list(PointsLot.objects.filter(member=self.member).order_by("id")
                   .values_list("pk", flat=True)[:count])  # fmt: skip
        PointsLot.objects.filter(pk__in=ids).update(expires_at=timezone.now() - timedelta(1))
        membership.points_expire_due()
        membership.points_expire_due()  # a second sweep expires nothing more
        for lot in self.lots[:count]:
            self.balance -= lot[0]
            lot[0] = 0

    @invariant()
    def the_cache_the_ledger_and_the_model_agree(self):
        if not hasattr(self, "member"):
            return
        member = Member.objects.get(pk=self.member.pk)
        entries = PointsEntry.objects.filter(member=member)
        assert member.balance == (entries.aggregate(s=Sum("points"))["s"] or 0) == self.balance
        assert member.lifetime == self.lifetime
        remaining = list(PointsLot.objects.filter(member=member).order_by("id")
                         .values_list("remaining", flat=True))  # fmt: skip
        assert remaining == [lot[0] for lot in self.lots]
        assert sum(remaining) == max(member.balance, 0)

    @invariant()
    def each_purchase_gives_back_at_most_what_it_earned(self):
        if not hasattr(self, "member"):
            return
        for source_id, p in self.purchases.items():
            earned, spend = membership.order_earned(self.member, source=Source.ORDER,
                                                    source_id=source_id)  # fmt: skip
            assert 0 <= earned == p["earned"] - p["back"]
            assert spend == p["paid"] - p["refunded"]
            if p["refunded"] == p["paid"]:
                assert earned == 0
        assert not PointsEntry.objects.filter(
            member=self.member, kind=EntryKind.EXPIRE, points__gte=0
        ).exists()


@pytest.mark.django_db
def test_any_sequence_keeps_the_points_ledger_and_the_model_in_step(merchant):
    programme = membership.programme_of(merchant=merchant)
    programme.expiry_rule = ExpiryRule.MONTHS
    programme.save()
    run_state_machine_as_test(
        lambda: Points(merchant),
        settings=hypothesis_settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=not os.environ.get("TAPGO_PROPERTY_RANDOM"),
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
