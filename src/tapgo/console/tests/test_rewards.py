"""The console's points rewards (owner only): adding one (an amount off or a free item),
changing it, deactivating it; bad input changes nothing."""

import pytest
from django.urls import reverse

from tapgo.membership.models import Reward, RewardKind

pytestmark = pytest.mark.django_db


def url(name, merchant, *args):
    return reverse(f"console:{name}", args=[merchant.public_id, *args])


def test_the_owner_adds_changes_and_deactivates_rewards(owner_client, merchant, product):
    page = url("membership_rewards", merchant)
    assert owner_client.get(url("membership", merchant)).content.decode().count(page) == 1
    owner_client.post(page, {"name": "¥5 off", "points": "500", "kind": "amount",
                             "amount": "5", "active": "on"})  # fmt: skip
    owner_client.post(page, {"name": "Free latte", "points": "900", "kind": "free_item",
                             "product": str(product.pk), "active": "on"})  # fmt: skip
    five, latte = Reward.objects.order_by("points")
    assert (five.kind, five.amount, five.product_id, five.active) == (RewardKind.AMOUNT, 500,
                                                                      None, True)  # fmt: skip
    assert (latte.kind, latte.amount, latte.product_id) == (RewardKind.FREE_ITEM, 0, product.pk)
    shown = owner_client.get(page).content.decode()
    assert shown.count('data-testid="reward-row"') == 2 and "Latte free" in shown

    edit = url("membership_reward", merchant, five.public_id)
    assert "¥5 off" in owner_client.get(edit).content.decode()
    owner_client.post(edit, {"name": "¥6 off", "points": "600", "kind": "amount", "amount": "6",
                             "active": "on"})  # fmt: skip
    five.refresh_from_db()
    assert (five.name, five.points, five.amount) == ("¥6 off", 600, 600)

    owner_client.post(url("membership_reward_active", merchant, five.public_id), {"active": "0"})
    assert not Reward.objects.get(pk=five.pk).active
    assert "Inactive" in owner_client.get(page).content.decode()


def test_bad_rewards_are_refused_with_a_message(owner_client, merchant, other_merchant):
    from tapgo.catalog.services import category_create
    from tapgo.flows.listings import product_create

    page = url("membership_rewards", merchant)
    for data in (
        {"name": "x", "points": "0", "kind": "amount", "amount": "5"},
        {"name": "x", "points": "10", "kind": "amount", "amount": ""},
        {"name": "x", "points": "10", "kind": "free_item"},
        {"name": "", "points": "10", "kind": "amount", "amount": "5"},
        {"name": "x", "points": "abc", "kind": "nonsense"},
    ):
        response = owner_client.post(page, data)
        assert response.status_code == 200, data
    theirs = product_create(
        merchant=other_merchant,
        category=category_create(merchant=other_merchant, name="Drinks"),
        name="Tea",
        price=100,
    )
    response = owner_client.post(page, {"name": "x", "points": "10", "kind": "free_item",
                                        "product": str(theirs.pk)})  # fmt: skip
    assert response.status_code == 200
    assert not Reward.objects.exists()
    assert owner_client.get(url("membership_reward", merchant, "nonsense")).status_code == 404


def test_staff_cannot_manage_rewards(client, merchant, staff_member):
    client.force_login(staff_member)
    response = client.get(url("membership_rewards", merchant))
    assert response.status_code in (302, 403, 404)  # the console hides owner pages


def test_a_member_takes_a_reward_at_the_counter_once(owner_client, merchant, app, owner):
    from tapgo.core.actors import SYSTEM
    from tapgo.identity.services import customer_create_guest
    from tapgo.membership import services as membership
    from tapgo.membership.models import Member, PointsEntry

    card = membership.member_join(merchant=merchant, customer=customer_create_guest(), app=app)
    membership.points_adjust(member=card, points=1000, reason="a", key="a", actor=SYSTEM)
    terms = membership.RewardTerms(name="¥3 off", points=700, kind="amount", amount=300)
    reward = membership.reward_save(merchant=merchant, terms=terms)
    page = url("membership_counter_reward", merchant)
    assert reward.public_id in owner_client.get(page).content.decode()

    code = membership.member_code(card)
    data = {"code": code, "reward": reward.public_id, "key": "form-1"}
    response = owner_client.post(page, data)
    assert response.status_code == 302
    owner_client.post(page, data)  # the form sent again: spent once
    entry = PointsEntry.objects.get(member=card, kind="redeem")
    assert (entry.points, entry.reason, entry.actor_user_id) == (-700, "¥3 off", owner.pk)
    assert Member.objects.get(pk=card.pk).balance == 300

    # not enough points now, and the code was spent: each refused with a message
    again = owner_client.post(page, {**data, "key": "form-2"})
    assert again.status_code == 200 and "used already" in again.content.decode()
    assert owner_client.post(page, {**data, "code": "nonsense", "key": "form-3"}).status_code == 200
    assert PointsEntry.objects.filter(member=card, kind="redeem").count() == 1
