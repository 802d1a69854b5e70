"""The member at the counter (flows/counter.py): a payment from the card needs a fresh code,
spent once; a double submit pays once; a short balance changes nothing; a coupon used at the
counter once, with what it takes off the typed amount; the books stay sound."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tapgo.core.actors import Actor
from tapgo.coupons.models import Coupon, CouponState
from tapgo.coupons.services import CouponError, coupon_issue
from tapgo.flows import counter
from tapgo.flows.checks import verify_books
from tapgo.identity.models import Customer
from tapgo.identity.services import customer_create_guest
from tapgo.membership import services as membership
from tapgo.membership.models import CounterKind, CounterSale, Member, PointsEntry
from tapgo.payments import stored_value
from tapgo.payments.models import IntentStatus, PaymentIntent, Purpose
from tapgo.payments.stored_value import StoredValueError

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(merchant, app):
    customer = customer_create_guest()
    Customer.objects.filter(pk=customer.pk).update(email="ann@example.com")
    customer.refresh_from_db()
    return membership.member_join(merchant=merchant, customer=customer, app=app)


@pytest.fixture
def staff(owner):
    return Actor.staff(owner)


def _top_up(merchant, member, owner, amount=5000):
    stored_value.topup_counter(merchant=merchant, customer=member.customer, amount=amount,
                               key=f"top-up-{amount}-{member.pk}", by=owner)  # fmt: skip


def _balance(merchant, member) -> int:
    return stored_value.balance(merchant, member.customer)


def _step(member) -> int:
    return membership.code_find(merchant=member.merchant, text=membership.member_code(member))[1]


def test_a_payment_from_the_card_takes_the_amount_earns_and_keeps_the_books(
    merchant, member, owner, staff
):
    _top_up(merchant, member, owner)
    sale = counter.counter_card(member=member, step=_step(member), amount=1850, key="pay-1",
                                actor=staff)  # fmt: skip
    assert _balance(merchant, member) == 5000 - 1850
    assert (sale.kind, sale.amount, sale.card, sale.actor_user_id) == (
        CounterKind.CARD, 1850, 1850, owner.pk,
    )  # fmt: skip
    intent = PaymentIntent.objects.get(purpose=Purpose.COUNTER)
    assert (intent.purpose_id, intent.amount, intent.status, intent.counted) == (
        sale.pk, 1850, IntentStatus.SUCCEEDED, True,
    )  # fmt: skip
    entry = PointsEntry.objects.get(member=member)
    assert (entry.points, entry.source_id, entry.actor_user_id) == (18, sale.pk, owner.pk)
    assert verify_books() == []


def test_a_payment_without_points_when_staff_say_so(merchant, member, owner, staff):
    _top_up(merchant, member, owner)
    counter.counter_card(member=member, step=_step(member), amount=1000, key="pay-1",
                         actor=staff, earn=False)  # fmt: skip
    assert not PointsEntry.objects.exists()
    assert _balance(merchant, member) == 4000


def test_a_double_submit_pays_once(merchant, member, owner, staff):
    _top_up(merchant, member, owner)
    step = _step(member)
    first = counter.counter_card(member=member, step=step, amount=1000, key="pay-1", actor=staff)
    again = counter.counter_card(member=member, step=step, amount=1000, key="pay-1", actor=staff)
    assert again == first
    assert _balance(merchant, member) == 4000
    assert PaymentIntent.objects.filter(purpose=Purpose.COUNTER).count() == 1
    assert PointsEntry.objects.count() == 1


def test_a_spent_code_does_not_pay_a_second_time(merchant, member, owner, staff):
    _top_up(merchant, member, owner)
    step = _step(member)
    counter.counter_card(member=member, step=step, amount=1000, key="pay-1", actor=staff)
    with pytest.raises(membership.CodeError, match="used already"):
        counter.counter_card(member=member, step=step, amount=1000, key="pay-2", actor=staff)
    assert _balance(merchant, member) == 4000
    assert CounterSale.objects.count() == 1


def test_a_code_older_than_one_step_is_refused_and_nothing_changes(merchant, member, owner, staff):
    _top_up(merchant, member, owner)
    now = timezone.now().timestamp()
    old = membership.code_step(now) - 2
    with pytest.raises(membership.CodeError, match="expired"):
        counter.counter_card(member=member, step=old, amount=1000, key="pay-1", actor=staff,
                             now=now)  # fmt: skip
    # one step back is still good (the code just rotated)
    counter.counter_card(member=member, step=old + 1, amount=1000, key="pay-2", actor=staff,
                         now=now)  # fmt: skip
    assert _balance(merchant, member) == 4000
    assert Member.objects.get(pk=member.pk).last_code_step == old + 1


def test_an_older_code_after_a_newer_one_is_refused(merchant, member, owner, staff):
    _top_up(merchant, member, owner)
    now = timezone.now().timestamp()
    current = membership.code_step(now)
    counter.counter_card(member=member, step=current, amount=100, key="pay-1", actor=staff,
                         now=now)  # fmt: skip
    with pytest.raises(membership.CodeError):
        counter.counter_card(member=member, step=current - 1, amount=100, key="pay-2",
                             actor=staff, now=now)  # fmt: skip
    assert _balance(merchant, member) == 4900


def test_a_short_balance_says_what_the_card_holds_and_changes_nothing(
    merchant, member, owner, staff
):
    _top_up(merchant, member, owner, amount=500)
    step = _step(member)
    with pytest.raises(StoredValueError, match="less than"):
        counter.counter_card(member=member, step=step, amount=501, key="pay-1", actor=staff)
    assert _balance(merchant, member) == 500
    assert not CounterSale.objects.exists() and not PointsEntry.objects.exists()
    assert not PaymentIntent.objects.filter(purpose=Purpose.COUNTER).exists()
    assert Member.objects.get(pk=member.pk).last_code_step == 0  # the code still good
    counter.counter_card(member=member, step=step, amount=500, key="pay-2", actor=staff)
    assert _balance(merchant, member) == 0


@pytest.mark.parametrize("amount", [0, -1, "10", True])
def test_a_bad_amount_is_refused(merchant, member, owner, staff, amount):
    _top_up(merchant, member, owner)
    with pytest.raises(counter.REFUSED):
        counter.counter_card(member=member, step=_step(member), amount=amount, key="pay-1",
                             actor=staff)  # fmt: skip
    assert _balance(merchant, member) == 5000


def test_a_form_key_of_another_member_is_refused(merchant, member, app, staff):
    other = membership.member_join(merchant=merchant, customer=customer_create_guest(), app=app)
    counter.counter_purchase(member=other, amount=1000, key="form-1", actor=staff)
    with pytest.raises(membership.MembershipError, match="expired"):
        counter.counter_purchase(member=member, amount=1000, key="form-1", actor=staff)
    assert not PointsEntry.objects.filter(member=member).exists()


def test_a_purchase_is_recorded_once_with_who(merchant, member, owner, staff):
    counter.counter_purchase(member=member, amount=2500, key="form-1", actor=staff)
    counter.counter_purchase(member=member, amount=2500, key="form-1", actor=staff)
    sale = CounterSale.objects.get()
    assert (sale.kind, sale.amount, sale.card, sale.actor_user_id) == ("purchase", 2500, 0,
                                                                       owner.pk)  # fmt: skip
    assert PointsEntry.objects.get().points == 25
    with pytest.raises(membership.MembershipError):
        counter.counter_purchase(member=member, amount=0, key="form-2", actor=staff)
    assert CounterSale.objects.count() == 1


# --- coupons --------------------------------------------------------------------------------


@pytest.fixture
def coupon_of(member, make_batch):
    def make(**terms):
        batch = make_batch(**terms)
        return coupon_issue(batch=batch, customer=member.customer, source="claimed")

    return make


def test_a_threshold_coupon_at_the_counter_takes_its_value_and_is_used_once(
    member, staff, coupon_of
):
    coupon = coupon_of()  # ¥5 off ¥30
    sale = counter.counter_coupon(member=member, coupon=coupon.public_id, amount=4000,
                                  key="use-1", actor=staff)  # fmt: skip
    again = counter.counter_coupon(member=member, coupon=coupon.public_id, amount=4000,
                                   key="use-1", actor=staff)  # fmt: skip
    assert again == sale
    assert (sale.kind, sale.amount, sale.discount, sale.coupon) == ("coupon", 4000, 500,
                                                                    coupon.public_id)  # fmt: skip
    coupon.refresh_from_db()
    assert (coupon.state, coupon.counter_sale_id, coupon.order_id, coupon.discount) == (
        CouponState.USED, sale.pk, None, 500,
    )  # fmt: skip
    assert PointsEntry.objects.get().points == 35  # on what was paid after the coupon
    with pytest.raises(CouponError, match="been used"):
        counter.counter_coupon(member=member, coupon=coupon.public_id, amount=4000,
                               key="use-2", actor=staff)  # fmt: skip


@pytest.mark.parametrize(
    ("terms", "amount", "off"),
    [
        ({"kind": "amount", "value": 800, "min_spend": 0}, 500, 500),
        ({"kind": "percent", "value": 20, "max_off": 300, "min_spend": 0}, 1000, 200),
        ({"kind": "percent", "value": 20, "max_off": 300, "min_spend": 0}, 5000, 300),
    ],
)
def test_what_a_coupon_takes_off_at_the_counter(member, staff, coupon_of, terms, amount, off):
    coupon = coupon_of(**terms)
    sale = counter.counter_coupon(member=member, coupon=coupon.public_id, amount=amount,
                                  key="use-1", actor=staff, earn=False)  # fmt: skip
    assert sale.discount == off
    assert not PointsEntry.objects.exists()


def test_a_free_item_coupon_is_just_used(member, staff, coupon_of, product):
    coupon = coupon_of(kind="free_item", value=0, min_spend=0, free_product=product)
    sale = counter.counter_coupon(member=member, coupon=coupon.public_id, amount=0,
                                  key="use-1", actor=staff)  # fmt: skip
    assert sale.discount == 0
    assert Coupon.objects.get(pk=coupon.pk).state == CouponState.USED


def test_a_coupon_that_cannot_be_used_is_refused_with_a_message(
    member, staff, coupon_of, make_batch, app, merchant
):
    below = coupon_of()
    with pytest.raises(CouponError, match="at least"):
        counter.counter_coupon(member=member, coupon=below.public_id, amount=2999,
                               key="use-1", actor=staff)  # fmt: skip
    stranger = membership.member_join(merchant=merchant, customer=customer_create_guest(),
                                      app=app)  # fmt: skip
    theirs = coupon_issue(batch=make_batch(name="b2"), customer=stranger.customer,
                          source="claimed")  # fmt: skip
    with pytest.raises(CouponError, match="not this member"):
        counter.counter_coupon(member=member, coupon=theirs.public_id, amount=5000,
                               key="use-2", actor=staff)  # fmt: skip
    with pytest.raises(CouponError, match="not this member"):
        counter.counter_coupon(member=member, coupon="nonsense", amount=5000, key="use-3",
                               actor=staff)  # fmt: skip
    expired = coupon_of(name="b3")
    Coupon.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(CouponError, match="expired"):
        counter.counter_coupon(member=member, coupon=expired.public_id, amount=5000,
                               key="use-4", actor=staff)  # fmt: skip
    stopped = coupon_of(name="b4")
    stopped.batch.__class__.objects.filter(pk=stopped.batch_id).update(stopped=True)
    with pytest.raises(CouponError, match="ended"):
        counter.counter_coupon(member=member, coupon=stopped.public_id, amount=5000,
                               key="use-5", actor=staff)  # fmt: skip
    assert not CounterSale.objects.exists()
    assert not Coupon.objects.filter(state=CouponState.USED).exists()


@pytest.mark.breaks_books
def test_ledger_verify_sees_a_counter_sale_not_paid_what_it_took(merchant, member, owner, staff):
    _top_up(merchant, member, owner)
    sale = counter.counter_card(member=member, step=_step(member), amount=1000, key="pay-1",
                                actor=staff)  # fmt: skip
    assert verify_books() == []
    CounterSale.objects.filter(pk=sale.pk).update(card=900, amount=1000)
    assert [b.rule for b in verify_books()] == ["counter sale"]
    CounterSale.objects.filter(pk=sale.pk).delete()
    assert [b.rule for b in verify_books()] == ["counter sale"]
