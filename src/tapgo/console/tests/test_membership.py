"""The console's membership pages: members and search, a member's page with adjustments by
staff, the counter (a member code → a purchase that earns points), the programme's rules."""

import re

import pytest
from django.urls import reverse

from tapgo.identity.services import customer_create_guest
from tapgo.membership import services as membership
from tapgo.membership.models import Level, Member, PointsEntry

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


def test_the_counter_finds_the_member_by_code_and_the_purchase_earns(owner_client, merchant, card):
    code = membership.member_code(card)
    data = {"code": f"{code[:-6]} {code[-6:]}", "amount": "35.80", "key": "form-1"}
    response = owner_client.post(url("membership_counter", merchant), data)
    assert response.status_code == 302
    assert response.url == url("membership_member", merchant, card.public_id)
    owner_client.post(url("membership_counter", merchant), data)  # the same form again
    assert Member.objects.get(pk=card.pk).balance == 35


def test_a_wrong_or_old_code_at_the_counter_says_so_and_changes_nothing(
    owner_client, merchant, card
):
    code = membership.member_code(card, membership.code_step() * 60 - 180)
    response = owner_client.post(
        url("membership_counter", merchant), {"code": code, "amount": "10", "key": "k"}
    )
    assert response.status_code == 200
    assert "wrong or has expired" in response.content.decode()
    assert not PointsEntry.objects.exists()


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
