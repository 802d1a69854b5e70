"""The console's membership pages: members and search, a member's page with adjustments by
staff, the counter (a member code → a purchase that earns points), the programme's rules."""

import re

import pytest
from django.urls import reverse

from tapgo.identity.services import customer_create_guest
from tapgo.membership import services as membership
from tapgo.membership.models import CounterSale, Level, Member, PointsEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(merchant, app):
    customer = customer_create_guest()
    return membership.member_join(merchant=merchant, customer=customer, app=app)


def url(name, merchant, *args):
    return reverse(f"console:{name}", args=[merchant.public_id, *args])


def test_members_are_listed_and_found_by_number(owner_client, merchant, card, app):
    other = membership.member_join(merchant=merchant, customer=customer_create_guest(), app=app)
    page = owner_client.get(url("membership_members", merchant)).content.decode()
    assert page.count('data-testid="member-row"') == 2
    found = owner_client.get(url("membership_members", merchant), {"q": str(other.number)})
    assert found.content.decode().count('data-testid="member-row"') == 1
    assert other.public_id in found.content.decode()


def test_staff_adjust_points_with_a_reason_recorded_with_who(owner_client, merchant, card, owner):
    page = url("membership_member", merchant, card.public_id)
    key = re.search(r'name="key" value="([^"]+)"', owner_client.get(page).content.decode())[1]
    data = {"points": "25", "reason": "birthday", "key": key}
    owner_client.post(page, data)
    owner_client.post(page, data)  # a double submit: one adjustment
    entry = PointsEntry.objects.get(member=card)
    assert (entry.points, entry.reason, entry.actor_user_id) == (25, "birthday", owner.pk)
    assert 'data-testid="member-points">25<' in owner_client.get(page).content.decode()
    response = owner_client.post(page, {"points": "abc", "reason": "", "key": "k2"})
    assert response.status_code == 200 and PointsEntry.objects.count() == 1


def _counter_page(client, merchant, card, code=None):
    """Type the member's code at the counter: the member's counter page's address."""
    code = code or membership.member_code(card)
    response = client.post(url("membership_counter", merchant), {"code": code})
    assert response.status_code == 302, response.content.decode()
    return response.url


def _key(html: str, testid: str) -> str:
    form = html[html.index(f'data-testid="{testid}"') :]
    return re.search(r'name="key" value="([^"]+)"', form)[1]


def test_the_counter_finds_the_member_by_code_and_the_purchase_earns(owner_client, merchant, card):
    code = membership.member_code(card)
    page = _counter_page(owner_client, merchant, card, f"{code[:-6]} {code[-6:]}")
    assert page.startswith(url("membership_counter", merchant) + "m/")
    html = owner_client.get(page).content.decode()
    assert f"Member {card.number} at the counter" in html
    assert 'data-testid="counter-no-coupons"' in html
    data = {"action": "purchase", "amount": "35.80", "key": _key(html, "counter-purchase")}
    response = owner_client.post(page, data)
    assert response.status_code == 302 and response.url == page
    owner_client.post(page, data)  # the same form again
    assert Member.objects.get(pk=card.pk).balance == 35
    assert CounterSale.objects.get().actor_label == "owner@cafe.test"


def test_a_wrong_or_old_code_at_the_counter_says_so_and_changes_nothing(
    owner_client, merchant, card
):
    code = membership.member_code(card, membership.code_step() * 60 - 180)
    response = owner_client.post(url("membership_counter", merchant), {"code": code})
    assert response.status_code == 200
    assert "wrong or has expired" in response.content.decode()
    assert not PointsEntry.objects.exists()


@pytest.fixture
def signed_in(card):
    from tapgo.identity.models import Customer

    Customer.objects.filter(pk=card.customer_id).update(email="ann@example.com")
    card.customer.refresh_from_db()
    return card


def _top_up(merchant, card, owner, amount=5000):
    from tapgo.payments import stored_value

    stored_value.topup_counter(merchant=merchant, customer=card.customer, amount=amount,
                               key="top-up-1", by=owner)  # fmt: skip


def _balance(merchant, card):
    from tapgo.payments import stored_value

    return stored_value.balance(merchant, card.customer)


def test_paying_from_the_card_needs_a_fresh_code_each_time(
    owner_client, merchant, signed_in, owner
):
    _top_up(merchant, signed_in, owner)
    page = _counter_page(owner_client, merchant, signed_in)
    html = owner_client.get(page).content.decode()
    assert 'data-testid="counter-balance">CN¥50.00<' in html
    data = {"action": "card", "amount": "12.50", "earn": "on", "key": _key(html, "counter-card")}
    assert owner_client.post(page, data).status_code == 302
    assert owner_client.post(page, data).status_code == 302  # a double submit: paid once
    assert _balance(merchant, signed_in) == 3750
    assert Member.objects.get(pk=signed_in.pk).balance == 12
    again = owner_client.post(page, {**data, "key": "another-form"})
    assert again.status_code == 200 and "used already" in again.content.decode()
    assert _balance(merchant, signed_in) == 3750
    # the code on the card now, typed in the payment's form, pays again (once)
    import time

    newer = membership.member_code(signed_in, time.time() + 60)
    fresh = {**data, "key": "a-third-form", "code": newer}
    assert owner_client.post(page, fresh).status_code == 302
    assert owner_client.post(page, {**fresh, "key": "a-fourth-form"}).status_code == 200
    assert _balance(merchant, signed_in) == 2500
    stranger = membership.member_join(merchant=merchant, customer=customer_create_guest())
    theirs = owner_client.post(page, {**data, "key": "a-fifth-form",
                                      "code": membership.member_code(stranger)})  # fmt: skip
    assert "another member" in theirs.content.decode() and _balance(merchant, signed_in) == 2500
    member_page = owner_client.get(url("membership_member", merchant, signed_in.public_id))
    assert 'data-testid="counter-sale"' in member_page.content.decode()
    assert 'data-testid="member-balance">CN¥25.00<' in member_page.content.decode()


def test_a_short_balance_says_so_and_changes_nothing(owner_client, merchant, signed_in, owner):
    _top_up(merchant, signed_in, owner, amount=1000)
    page = _counter_page(owner_client, merchant, signed_in)
    key = _key(owner_client.get(page).content.decode(), "counter-card")
    response = owner_client.post(page, {"action": "card", "amount": "10.01", "key": key})
    assert response.status_code == 200
    assert "less than" in response.content.decode()
    assert _balance(merchant, signed_in) == 1000 and not CounterSale.objects.exists()
    bad = owner_client.post(page, {"action": "card", "amount": "lots", "key": key})
    assert bad.status_code == 200 and not CounterSale.objects.exists()


def test_a_counter_page_older_than_two_minutes_is_closed(
    owner_client, merchant, signed_in, owner, monkeypatch
):
    import time

    from django.core import signing

    _top_up(merchant, signed_in, owner)
    real = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: real - 200)
    page = _counter_page(owner_client, merchant, signed_in)
    monkeypatch.setattr(signing.time, "time", lambda: real)
    response = owner_client.post(page, {"action": "card", "amount": "1", "key": "k-1"})
    assert response.status_code == 302 and response.url == url("membership_counter", merchant)
    assert _balance(merchant, signed_in) == 5000 and not CounterSale.objects.exists()
    forged = owner_client.get(url("membership_counter_member", merchant, "not-a-token"))
    assert forged.status_code == 404


def test_a_coupon_is_used_at_the_counter_once(owner_client, merchant, card):
    from datetime import timedelta

    from django.utils import timezone

    from tapgo.coupons import services as coupons
    from tapgo.coupons.models import Coupon

    batch = coupons.batch_create(merchant=merchant, terms=coupons.BatchTerms(
        name="¥5 off ¥30", kind="threshold", value=500, min_spend=3000, valid_days=7,
        valid_from=timezone.now() - timedelta(minutes=1),
    ))  # fmt: skip
    coupon = coupons.coupon_issue(batch=batch, customer=card.customer, source="claimed")
    page = _counter_page(owner_client, merchant, card)
    html = owner_client.get(page).content.decode()
    assert coupon.public_id in html and "¥5 off ¥30" in html
    data = {"action": "coupon", "coupon": coupon.public_id, "amount": "20", "earn": "on",
            "key": _key(html, "counter-coupon")}  # fmt: skip
    below = owner_client.post(page, data)
    assert below.status_code == 200 and "at least" in below.content.decode()
    response = owner_client.post(page, {**data, "amount": "40"}, follow=True)
    assert "CN¥5.00 off CN¥40.00" in response.content.decode()
    assert Coupon.objects.get(pk=coupon.pk).state == "used"
    assert Member.objects.get(pk=card.pk).balance == 35
    html = owner_client.get(page).content.decode()
    assert 'data-testid="counter-no-coupons"' in html


def test_the_counter_speaks_chinese(owner_client, merchant, signed_in, owner):
    _top_up(merchant, signed_in, owner, amount=1000)
    owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/console/"})
    found = owner_client.get(url("membership_counter", merchant)).content.decode()
    assert "查找会员" in found
    page = _counter_page(owner_client, merchant, signed_in)
    html = owner_client.get(page).content.decode()
    assert "从会员卡扣款" in html and "本次金额计入积分" in html
    key = _key(html, "counter-card")
    short = owner_client.post(page, {"action": "card", "amount": "20", "key": key})
    assert "余额不足" in short.content.decode()
    done = owner_client.post(page, {"action": "card", "amount": "5", "key": key}, follow=True)
    assert "已从会员" in done.content.decode()


def test_the_programme_rules_and_levels_are_set_by_the_owner(owner_client, merchant):
    page = url("membership", merchant)
    rules = {
        "action": "rules", "points_per_unit": "2", "unit_amount": "1.00",
        "points_per_order": "5", "first_order_bonus": "100", "level_basis": "points",
        "level_window_months": "12", "expiry_rule": "months", "expiry_months": "6",
    }  # fmt: skip
    assert owner_client.post(page, rules).status_code == 302
    programme = membership.programme_of(merchant=merchant)
    assert (programme.points_per_unit, programme.unit_amount, programme.expiry_months) == (
        2,
        100,
        6,
    )
    level = {"action": "level", "name": "Silver", "rank": "1", "threshold": "500",
             "percent_off": "5"}  # fmt: skip
    assert owner_client.post(page, level).status_code == 302
    assert Level.objects.get(merchant=merchant).discount_bps == 500
    assert "5% off" in owner_client.get(page).content.decode()
    bad = owner_client.post(page, {**rules, "unit_amount": "0"})
    assert bad.status_code == 200 and membership.programme_of(merchant=merchant).unit_amount == 100
    silver = Level.objects.get(merchant=merchant)
    owner_client.post(url("level_delete", merchant), {"level": silver.public_id})
    assert not Level.objects.exists()


def test_the_counter_top_up_accepts_a_member_code(owner_client, merchant, card):
    from tapgo.identity.models import Customer
    from tapgo.payments import stored_value

    Customer.objects.filter(pk=card.customer_id).update(email="ann@example.com")
    response = owner_client.post(
        url("members", merchant),
        {
            "code": membership.member_code(card),
            "amount": "50",
            "key": "0123456789abcdef0123456789abcdef",
        },
    )
    assert response.status_code == 302
    assert stored_value.balance(merchant, Customer.objects.get(pk=card.customer_id)) == 5000
